import { InvalidConfigError, silentLogger, type Logger } from '@eventfabric/core';

/** How the streams EventFabric declares keep their messages. */
export interface NatsStreamOptions {
  /**
   * Where the server keeps messages. `memory` loses them when the server restarts.
   * @defaultValue 'file'
   */
  storage?: 'file' | 'memory';
  /**
   * Copies kept in a cluster (1 to 5).
   * @defaultValue 1
   */
  replicas?: number;
  /**
   * How long a message is kept, in milliseconds; 0 keeps it until `maxBytes` pushes it out.
   * Every group must have handled an event before it ages out.
   * @defaultValue 7 days
   */
  maxAgeMs?: number;
  /**
   * Most bytes a stream holds; -1 is no limit. A full stream rejects new events rather than
   * dropping old ones (discard `new`), so a publish fails instead of losing unhandled events.
   * @defaultValue -1
   */
  maxBytes?: number;
  /**
   * How long the server remembers an event id (`Nats-Msg-Id`) to drop a resent copy. At
   * most `maxAgeMs`.
   * @defaultValue 120 000 (two minutes), or `maxAgeMs` when that is shorter
   */
  duplicateWindowMs?: number;
}

/** How the durable consumers EventFabric declares deliver. */
export interface NatsConsumerOptions {
  /**
   * How long the server waits for an ack before it redelivers. A running handler's
   * delivery is kept alive (`+WPI`) every third of this, so only a dead member's deliveries
   * come back after it.
   * @defaultValue 30 000
   */
  ackWaitMs?: number;
  /**
   * Deliveries after which the server gives up on an event (`max_deliver`). The server
   * then sends a max-deliveries advisory, which the group's `<group>.dlq` stream keeps.
   * Keep it above the consumer framework's attempt budget, which dead-letters first with
   * the error's context.
   * @defaultValue 10
   */
  maxDeliver?: number;
}

/** Options for {@link createNatsTransport}. */
export interface NatsTransportOptions {
  /** NATS server URLs, e.g. `nats://127.0.0.1:4222`. */
  servers: string | string[];
  /**
   * The first token of every subject EventFabric publishes.
   * @defaultValue 'eventfabric'
   */
  subjectPrefix?: string;
  /**
   * Put before every stream name, to keep several installations (or test runs) apart on
   * one server: `staging_` makes `staging_treasury_events`.
   * @defaultValue ''
   */
  namePrefix?: string;
  /**
   * Partitions per stream. Events of one partition key share a partition, and each
   * partition has one delivery in flight per group at a time: this is how order per key
   * holds across competing members, and the most handlers a group runs at once. Every
   * publisher and consumer of a stream must agree; the stream records it.
   * @defaultValue 16
   */
  partitions?: number;
  /** @defaultValue see {@link NatsStreamOptions} */
  stream?: NatsStreamOptions;
  /** @defaultValue see {@link NatsConsumerOptions} */
  consumer?: NatsConsumerOptions;
  /**
   * CloudEvents content mode on the wire. `structured` sends the whole envelope as JSON
   * (`application/cloudevents+json`); `binary` sends `data` as the body and every other
   * attribute as a `ce-` header. Consumers read both.
   * @defaultValue 'structured'
   */
  mode?: 'structured' | 'binary';
  /**
   * How long a publish keeps retrying (the server restarting, JetStream not ready) before
   * it fails with TRANSPORT_UNAVAILABLE. Resends are safe: `Nats-Msg-Id` is the event id.
   * @defaultValue 30 000
   */
  publishTimeoutMs?: number;
  /**
   * Most publishes awaiting their JetStream ack at once, per transport.
   * @defaultValue 1024
   */
  maxPublishInFlight?: number;
  /**
   * How long `close()` waits for in-flight handlers before releasing their deliveries.
   * @defaultValue 30 000
   */
  drainTimeoutMs?: number;
  /**
   * How long one pull request waits on the server. Shorter finds a restarted server sooner.
   * @defaultValue 5 000
   */
  pullExpiresMs?: number;
  /** Connection name shown by the server. @defaultValue 'eventfabric' */
  name?: string;
  /**
   * Where the transport reports what it recovers from: a lost connection, a publish resent,
   * a pull refused, a malformed message terminated. pino, or anything with its methods.
   * @defaultValue a silent logger
   */
  logger?: Logger;
}

/** Options with every default filled in. */
export interface ResolvedNatsOptions {
  servers: string[];
  subjectPrefix: string;
  namePrefix: string;
  partitions: number;
  stream: Required<NatsStreamOptions>;
  consumer: Required<NatsConsumerOptions>;
  mode: 'structured' | 'binary';
  publishTimeoutMs: number;
  maxPublishInFlight: number;
  drainTimeoutMs: number;
  pullExpiresMs: number;
  name: string;
  logger: Logger;
}

const DAY_MS = 86_400_000;
const PREFIX = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

function integer(
  name: string,
  value: unknown,
  fallback: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidConfigError(`NATS option ${name} must be an integer from ${min} to ${max}`, {
      [name]: value as never,
    });
  }
  return value;
}

function object(name: string, value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidConfigError(`NATS option ${name} must be an object`, {
      [name]: value as never,
    });
  }
  return value as Record<string, unknown>;
}

/**
 * Check options and fill in defaults.
 * @throws InvalidConfigError naming the offending option
 */
export function resolveNatsOptions(options: NatsTransportOptions): ResolvedNatsOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidConfigError('NATS options must be an object with servers', {
      options: options as never,
    });
  }
  const given = options as Partial<NatsTransportOptions>;
  const servers = typeof given.servers === 'string' ? [given.servers] : given.servers;
  if (
    !Array.isArray(servers) ||
    servers.length === 0 ||
    !servers.every((s) => typeof s === 'string' && /^(nats:\/\/|tls:\/\/)?[^\s/]+$/.test(s))
  ) {
    throw new InvalidConfigError(
      'NATS option servers must be a server URL or a non-empty array of them (nats://host:port)',
      { servers: given.servers as never },
    );
  }
  const subjectPrefix = given.subjectPrefix ?? 'eventfabric';
  if (typeof subjectPrefix !== 'string' || !PREFIX.test(subjectPrefix)) {
    throw new InvalidConfigError('NATS option subjectPrefix must be dotted subject tokens', {
      subjectPrefix: subjectPrefix as never,
    });
  }
  const namePrefix = given.namePrefix ?? '';
  if (typeof namePrefix !== 'string' || !/^[A-Za-z0-9_-]*$/.test(namePrefix)) {
    throw new InvalidConfigError('NATS option namePrefix may hold only letters, digits, _ and -', {
      namePrefix: namePrefix as never,
    });
  }
  const stream = object('stream', given.stream);
  const consumer = object('consumer', given.consumer);
  const storage = stream.storage ?? 'file';
  if (storage !== 'file' && storage !== 'memory') {
    throw new InvalidConfigError('NATS option stream.storage must be "file" or "memory"', {
      storage: storage as never,
    });
  }
  const maxAgeMs = integer('stream.maxAgeMs', stream.maxAgeMs, 7 * DAY_MS, 0);
  const mode = given.mode ?? 'structured';
  if (mode !== 'structured' && mode !== 'binary') {
    throw new InvalidConfigError('NATS option mode must be "structured" or "binary"', {
      mode: mode as never,
    });
  }
  const name = given.name ?? 'eventfabric';
  if (typeof name !== 'string') {
    throw new InvalidConfigError('NATS option name must be a string', { name: name as never });
  }
  const logger = given.logger ?? silentLogger;
  if (
    typeof logger !== 'object' ||
    logger === null ||
    !(['debug', 'info', 'warn', 'error'] as const).every((l) => typeof logger[l] === 'function')
  ) {
    throw new InvalidConfigError('NATS option logger must have debug, info, warn and error', {
      logger: typeof logger,
    });
  }
  return {
    servers,
    subjectPrefix,
    namePrefix,
    partitions: integer('partitions', given.partitions, 16, 1, 1024),
    stream: {
      storage,
      replicas: integer('stream.replicas', stream.replicas, 1, 1, 5),
      maxAgeMs,
      maxBytes: integer('stream.maxBytes', stream.maxBytes, -1, -1),
      // The server refuses a duplicate window longer than the messages are kept.
      duplicateWindowMs: integer(
        'stream.duplicateWindowMs',
        stream.duplicateWindowMs,
        maxAgeMs === 0 ? 120_000 : Math.min(120_000, maxAgeMs),
        1,
        maxAgeMs === 0 ? Number.MAX_SAFE_INTEGER : maxAgeMs,
      ),
    },
    consumer: {
      ackWaitMs: integer('consumer.ackWaitMs', consumer.ackWaitMs, 30_000, 100),
      maxDeliver: integer('consumer.maxDeliver', consumer.maxDeliver, 10, 1),
    },
    mode,
    publishTimeoutMs: integer('publishTimeoutMs', given.publishTimeoutMs, 30_000, 1),
    maxPublishInFlight: integer('maxPublishInFlight', given.maxPublishInFlight, 1024, 1),
    drainTimeoutMs: integer('drainTimeoutMs', given.drainTimeoutMs, 30_000, 0),
    pullExpiresMs: integer('pullExpiresMs', given.pullExpiresMs, 5_000, 100),
    name,
    logger,
  };
}
