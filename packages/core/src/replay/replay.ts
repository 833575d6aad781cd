import type { StoredEvent } from '../envelope/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import { parsePosition, type EventStore } from '../event-store/index.js';
import type { EventSchemas } from '../schema/index.js';
import { compileTopics, type PublishResult, type Transport } from '../transport/index.js';
import type { EventHandler, HandleFn } from '../consumer/handler.js';
import { HandlingContext } from '../consumer/handling-context.js';
import { idempotency } from '../consumer/middleware/idempotency.js';
import { upcast } from '../consumer/middleware/upcast.js';
import { describeFailure } from '../consumer/middleware/dead-letter.js';
import type { ProcessedEvents } from '../consumer/processed-events.js';
import { silentLogger } from '../consumer/silent-logger.js';

/** A bound of a replay: a global position, or a time (compared with each event's `time`). */
export type ReplayBound = { position: string } | { time: Date };

/** Options for {@link replay}. */
export interface ReplayOptions {
  store: EventStore;
  handler: EventHandler;
  /** The handler's idempotency record: what it already handled is skipped. */
  processed: ProcessedEvents;
  /** Service the handler belongs to (names its group in the context). @defaultValue `replay` */
  service?: string;
  schemas?: EventSchemas;
  /** Inclusive lower bound. @defaultValue the start of the log */
  from?: ReplayBound;
  /** Inclusive upper bound. @defaultValue the log's head when the replay starts */
  to?: ReplayBound;
  /** Type patterns, AND-ed with the handler's own. */
  types?: readonly string[];
  /** Only this stream. */
  stream?: string;
  /** Only this flow. */
  correlationId?: string;
  /** Only events of this tenant (their `tenantid`): what a tenant's API key may replay. */
  tenant?: string;
  /** Count what would be handled, handle nothing. @defaultValue false */
  dryRun?: boolean;
  /**
   * Where follow-up events go. Replays re-run old handlings, so by default what handlers
   * publish is dropped (and counted) rather than sent again, and `context.append` fails
   * (the failure is reported). @defaultValue none
   */
  transport?: Transport;
  /** @defaultValue 500 */
  batchSize?: number;
  onProgress?: (progress: ReplayProgress) => void;
}

/** Progress of a running replay, reported after every page. */
export interface ReplayProgress {
  scanned: number;
  matched: number;
  handled: number;
  skipped: number;
  failed: number;
  position: string;
  head: string;
}

/** What a replay did. */
export interface ReplayResult extends ReplayProgress {
  dryRun: boolean;
  /** Follow-up events the handler emitted and the replay dropped. */
  suppressed: number;
  failures: { eventId: string; position: string; code: string; message: string }[];
}

/**
 * Re-run a handler over events from the store's log, in position order. Events the
 * handler already processed (per its idempotency record) are skipped, so running the same
 * replay twice changes nothing the second time. A failing event is reported and the
 * replay goes on; nothing is dead-lettered.
 */
export async function replay(options: ReplayOptions): Promise<ReplayResult> {
  const { store, handler, processed } = options;
  if (!handler || typeof handler.handle !== 'function')
    throw new InvalidArgumentError('replay needs a handler');
  const handlerMatches = compileTopics(handler.on);
  const typeMatches =
    options.types && options.types.length > 0 ? compileTopics(options.types) : () => true;
  const batchSize = options.batchSize ?? 500;
  const head = await store.headPosition();
  const { fromPosition, toPosition, fromTime, toTime } = bounds(options, BigInt(head));
  const dropped = { count: 0 };
  const transport = options.transport ?? suppressingTransport(dropped);
  const invoke: HandleFn = async (event, context) => {
    await handler.handle(event, context);
  };
  const inner = idempotency(
    processed,
    handler.transactional ?? false,
  )(options.schemas && !handler.raw ? upcast(options.schemas)(invoke) : invoke);
  const service = options.service ?? 'replay';
  const abort = new AbortController();
  const result: ReplayResult = {
    scanned: 0,
    matched: 0,
    handled: 0,
    skipped: 0,
    failed: 0,
    position: (fromPosition - 1n < 0n ? 0n : fromPosition - 1n).toString(),
    head,
    dryRun: options.dryRun ?? false,
    suppressed: 0,
    failures: [],
  };
  let after = result.position;
  for (;;) {
    const page: StoredEvent[] = options.correlationId
      ? await store.readByCorrelation(options.correlationId, { after, limit: batchSize, raw: true })
      : await store.readAll({ after, limit: batchSize, raw: true });
    for (const event of page) {
      if (BigInt(event.position) > toPosition) return finish();
      result.scanned++;
      result.position = event.position;
      const time = Date.parse(event.time);
      const matches =
        handlerMatches(event.type) &&
        typeMatches(event.type) &&
        (options.stream === undefined || event.subject === options.stream) &&
        (options.tenant === undefined || event.tenantid === options.tenant) &&
        (fromTime === undefined || time >= fromTime) &&
        (toTime === undefined || time <= toTime);
      if (!matches) continue;
      result.matched++;
      if (result.dryRun) continue;
      const context = new HandlingContext(
        handler.name,
        `${service}.${handler.name}`,
        'replay',
        1,
        event,
        event.traceparent,
        silentLogger,
        abort.signal,
        {
          source: `/${service}`,
          transport,
          // A replay re-runs old handlings: their follow-up appends must not be written again.
          store: undefined,
          validate: options.schemas ? (e) => options.schemas!.validate(e) : undefined,
        },
      );
      const before = await processed.has(handler.name, event.id);
      try {
        await inner(event, context);
        if (before) result.skipped++;
        else result.handled++;
      } catch (error) {
        const { code, message } = describeFailure(error, {
          handler: handler.name,
          eventId: event.id,
        });
        result.failed++;
        result.failures.push({ eventId: event.id, position: event.position, code, message });
      }
    }
    options.onProgress?.({ ...result });
    if (page.length < batchSize) return finish();
    after = page[page.length - 1]!.position;
  }

  function finish(): ReplayResult {
    result.suppressed = dropped.count;
    options.onProgress?.({ ...result });
    return result;
  }
}

const RFC_3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * A bound as people write it (`eventfabric replay --from`, `POST /v1/replays`): digits are a
 * global position, anything else must be an RFC 3339 time.
 * @throws InvalidArgumentError for anything else
 */
export function parseReplayBound(value: string): ReplayBound {
  if (/^(0|[1-9][0-9]{0,18})$/.test(value)) return { position: value };
  const time = Date.parse(value);
  if (RFC_3339.test(value) && !Number.isNaN(time)) return { time: new Date(time) };
  throw new InvalidArgumentError(
    'expected a position (digits) or an RFC 3339 time, e.g. 2025-01-31T09:30:00Z',
    { value },
  );
}

/**
 * True when `from` comes after `to` (two positions, or two times): the range is empty.
 * A position and a time cannot be compared without reading the log, so they never are.
 */
export function replayRangeIsEmpty(
  from: ReplayBound | undefined,
  to: ReplayBound | undefined,
): boolean {
  if (from === undefined || to === undefined) return false;
  if ('position' in from && 'position' in to) return BigInt(from.position) > BigInt(to.position);
  return 'time' in from && 'time' in to && from.time.getTime() > to.time.getTime();
}

function bounds(options: ReplayOptions, head: bigint) {
  const position = (bound: ReplayBound | undefined, name: string): bigint | undefined =>
    bound && 'position' in bound ? parsePosition(bound.position, name) : undefined;
  const time = (bound: ReplayBound | undefined, name: string): number | undefined => {
    if (!bound || !('time' in bound)) return undefined;
    const t = bound.time instanceof Date ? bound.time.getTime() : NaN;
    if (Number.isNaN(t)) throw new InvalidArgumentError(`${name}.time must be a valid Date`);
    return t;
  };
  return {
    fromPosition: position(options.from, 'from') ?? 1n,
    toPosition: position(options.to, 'to') ?? head,
    fromTime: time(options.from, 'from'),
    toTime: time(options.to, 'to'),
  };
}

function suppressingTransport(dropped: { count: number }): Transport {
  return {
    publish: async (events): Promise<PublishResult> => {
      dropped.count += events.length;
      return { positions: events.map(() => undefined) };
    },
    subscribe: () => Promise.reject(new InvalidArgumentError('a replay cannot subscribe')),
    close: async () => undefined,
  };
}
