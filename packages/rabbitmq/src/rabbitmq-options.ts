import { assertGroupName, InvalidConfigError } from '@eventfabric/core';

/** Queue types a group's queues can be. */
export type RabbitMqQueueType = 'quorum' | 'classic';

/** A priority group's levels (see {@link RabbitMqTransportOptions.priorities}). */
export interface RabbitMqPriorityLevels {
  /** Level names, highest first: lower-case letters, digits, `_` or `-`; 2 to 10 of them. */
  levels: readonly string[];
  /**
   * Where an event without a `priority` attribute, or with an unknown one, goes.
   * @defaultValue the last (lowest) level
   */
  default?: string;
}

/** Options for {@link createRabbitMqTransport}. */
export interface RabbitMqTransportOptions {
  /** The broker, `amqp://user:password@host:port/vhost` (or `amqps://`). */
  url: string;
  /**
   * The type of every queue this transport declares. Quorum queues are replicated, count
   * deliveries across consumer crashes (`deliveryCount`), and dead-letter at least once.
   * @defaultValue 'quorum'
   */
  queueType?: RabbitMqQueueType;
  /**
   * The delay steps of the retry queues, in ms, ascending: one `<queue>.retry.<delay>` queue
   * per step. A nack's delay is rounded up to the next step; a delay past the last step
   * waits in the last one as often as it needs.
   * @defaultValue [100, 500, 2000, 10000, 30000]
   */
  retryDelaysMs?: readonly number[];
  /**
   * Most publishes awaiting their broker confirm at once, over all callers. A publish beyond
   * it waits for a slot, never for its own confirm.
   * @defaultValue 1000
   */
  confirmWindow?: number;
  /** How long `close()` waits for handlers in flight. @defaultValue 30 000 */
  drainTimeoutMs?: number;
  /** Largest serialised event accepted by `publish`, in bytes. @defaultValue 1 048 576 */
  maxEventBytes?: number;
  /** First reconnect delay after a lost connection; doubles up to the max. @defaultValue 100 */
  reconnectInitialDelayMs?: number;
  /** @defaultValue 5000 */
  reconnectMaxDelayMs?: number;
  /**
   * How long a publish waits for a lost connection to come back before it fails with
   * TRANSPORT_UNAVAILABLE. @defaultValue 30 000
   */
  connectTimeoutMs?: number;
  /** Heartbeat interval negotiated with the broker, in seconds. @defaultValue 10 */
  heartbeatSeconds?: number;
  /**
   * Priority groups: group name (`<service>.<action>`) → its levels. Such a group gets one
   * work queue per level, `<service>.<action>.<priority>`, filled by the event's `priority`
   * extension attribute (e.g. `"high"`); its members serve the higher levels first.
   * @defaultValue {} (no priority groups)
   */
  priorities?: Readonly<Record<string, RabbitMqPriorityLevels>>;
  /**
   * Groups that keep order per partition key across processes: each gets `partitions`
   * queues `<group>.p<n>` with a single active consumer, filled by the key's partition, so
   * one member at a time handles a partition and another takes over when it goes.
   * @defaultValue [] (members compete on one queue)
   */
  orderedGroups?: readonly string[];
  /**
   * How many partitions the keys hash to (FNV-1a of `partitionkey`, mod this). Every
   * publisher and consumer of an ordered group must use the same count. A transport with
   * `partitions` or `orderedGroups` set stamps each published event with its partition
   * (the header ordered groups route on); one without sends none, and an ordered group
   * puts such events all in its first partition.
   * @defaultValue 16
   */
  partitions?: number;
}

export type ResolvedRabbitMqOptions = Required<
  Omit<RabbitMqTransportOptions, 'retryDelaysMs' | 'priorities' | 'orderedGroups'>
> & {
  retryDelaysMs: readonly number[];
  priorities: Readonly<Record<string, RabbitMqPriorityLevels>>;
  orderedGroups: ReadonlySet<string>;
  /** Whether `publish` stamps the partition header (`partitions` or `orderedGroups` given). */
  stampPartitions: boolean;
};

export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = Object.freeze([
  100, 500, 2000, 10_000, 30_000,
]);

const KNOWN = new Set([
  'url',
  'queueType',
  'retryDelaysMs',
  'confirmWindow',
  'drainTimeoutMs',
  'maxEventBytes',
  'reconnectInitialDelayMs',
  'reconnectMaxDelayMs',
  'connectTimeoutMs',
  'heartbeatSeconds',
  'priorities',
  'orderedGroups',
  'partitions',
]);

function resolveOrderedGroups(
  value: unknown,
  priorities: Record<string, RabbitMqPriorityLevels>,
): ReadonlySet<string> {
  if (value === undefined) return new Set();
  if (!Array.isArray(value)) {
    throw new InvalidConfigError('rabbitmq orderedGroups must be an array of group names', {
      option: 'orderedGroups',
    });
  }
  for (const group of value) {
    try {
      assertGroupName(group);
    } catch {
      throw new InvalidConfigError(
        `rabbitmq orderedGroups: "${String(group)}" is not a group name (<service>.<handler>)`,
        { option: 'orderedGroups', group: String(group) },
      );
    }
    if (priorities[group] !== undefined) {
      throw new InvalidConfigError(
        `rabbitmq orderedGroups: ${group} has priorities too; a group is ordered or prioritised, not both`,
        { option: 'orderedGroups', group },
      );
    }
  }
  return new Set(value as string[]);
}

const LEVEL = /^[a-z0-9][a-z0-9_-]*$/;

function resolvePriorities(value: unknown): Record<string, RabbitMqPriorityLevels> {
  if (value === undefined) return {};
  const bad = (message: string, details: Record<string, unknown> = {}): InvalidConfigError =>
    new InvalidConfigError(`rabbitmq priorities: ${message}`, {
      option: 'priorities',
      ...details,
    } as never);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw bad('must map group names to { levels, default? }');
  }
  const out: Record<string, RabbitMqPriorityLevels> = {};
  for (const [group, spec] of Object.entries(value as Record<string, unknown>)) {
    try {
      assertGroupName(group);
    } catch {
      throw bad(`"${group}" is not a group name (<service>.<action>)`, { group });
    }
    const { levels, default: fallback, ...rest } = (spec ?? {}) as Record<string, unknown>;
    if (Object.keys(rest).length > 0) {
      throw bad(`unknown setting ${Object.keys(rest).join(', ')} for ${group}`, { group });
    }
    if (
      !Array.isArray(levels) ||
      levels.length < 2 ||
      levels.length > 10 ||
      levels.some((l) => typeof l !== 'string' || !LEVEL.test(l)) ||
      new Set(levels).size !== levels.length
    ) {
      throw bad(
        `${group} needs 2 to 10 distinct levels, highest first, each lower-case letters, digits, _ or -`,
        { group, levels: levels as never },
      );
    }
    if (fallback !== undefined && !levels.includes(fallback)) {
      throw bad(`the default of ${group} must be one of its levels (${levels.join(', ')})`, {
        group,
        default: fallback as never,
      });
    }
    out[group] = Object.freeze({
      levels: Object.freeze([...(levels as string[])]),
      ...(fallback === undefined ? {} : { default: fallback as string }),
    });
  }
  return out;
}

function positiveInteger(name: string, value: unknown, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0 || value > max) {
    throw new InvalidConfigError(`rabbitmq option ${name} must be an integer from 1 to ${max}`, {
      option: name,
      value: value as never,
    });
  }
  return value;
}

/** The broker URL without its password, for errors and logs. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
}

/**
 * Check every option and fill in the defaults.
 * @throws InvalidConfigError naming the first bad option
 */
export function resolveRabbitMqOptions(options: RabbitMqTransportOptions): ResolvedRabbitMqOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidConfigError('rabbitmq options must be an object with a url');
  }
  const unknown = Object.keys(options).filter((key) => !KNOWN.has(key));
  if (unknown.length > 0) {
    throw new InvalidConfigError(`unknown rabbitmq option ${unknown.join(', ')}`, { unknown });
  }
  const { url } = options;
  if (typeof url !== 'string' || !/^amqps?:\/\/[^/]/.test(url)) {
    throw new InvalidConfigError('rabbitmq url must be an amqp:// or amqps:// URL', {
      url: typeof url === 'string' ? redactUrl(url) : (url as never),
    });
  }
  const queueType = options.queueType ?? 'quorum';
  if (queueType !== 'quorum' && queueType !== 'classic') {
    throw new InvalidConfigError("rabbitmq queueType must be 'quorum' or 'classic'", {
      option: 'queueType',
      value: queueType as never,
    });
  }
  const delays = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  if (
    !Array.isArray(delays) ||
    delays.length === 0 ||
    delays.length > 32 ||
    delays.some(
      (d, i) =>
        !Number.isSafeInteger(d) || d <= 0 || d > 86_400_000 || (i > 0 && d <= delays[i - 1]!),
    )
  ) {
    throw new InvalidConfigError(
      'rabbitmq retryDelaysMs must be 1 to 32 ascending integers of ms, each at most a day',
      { option: 'retryDelaysMs', value: delays as never },
    );
  }
  const priorities = resolvePriorities(options.priorities);
  const reconnectInitialDelayMs = positiveInteger(
    'reconnectInitialDelayMs',
    options.reconnectInitialDelayMs,
    100,
    60_000,
  );
  return {
    url,
    queueType,
    retryDelaysMs: Object.freeze([...delays]),
    confirmWindow: positiveInteger('confirmWindow', options.confirmWindow, 1000, 65_535),
    drainTimeoutMs: positiveInteger('drainTimeoutMs', options.drainTimeoutMs, 30_000, 3_600_000),
    maxEventBytes: positiveInteger('maxEventBytes', options.maxEventBytes, 1_048_576, 134_217_728),
    reconnectInitialDelayMs,
    reconnectMaxDelayMs: Math.max(
      reconnectInitialDelayMs,
      positiveInteger('reconnectMaxDelayMs', options.reconnectMaxDelayMs, 5000, 600_000),
    ),
    connectTimeoutMs: positiveInteger(
      'connectTimeoutMs',
      options.connectTimeoutMs,
      30_000,
      3_600_000,
    ),
    heartbeatSeconds: positiveInteger('heartbeatSeconds', options.heartbeatSeconds, 10, 600),
    priorities: Object.freeze(priorities),
    orderedGroups: resolveOrderedGroups(options.orderedGroups, priorities),
    partitions: positiveInteger('partitions', options.partitions, 16, 1024),
    stampPartitions:
      options.partitions !== undefined ||
      (Array.isArray(options.orderedGroups) && options.orderedGroups.length > 0),
  };
}
