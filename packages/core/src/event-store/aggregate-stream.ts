import { InvalidArgumentError } from '../errors/index.js';
import type { StoredEvent } from '../envelope/index.js';
import { parsePosition } from './all-filter.js';
import type {
  AggregateStreamOptions,
  AggregateStreamResult,
  AsOf,
  Snapshot,
} from './event-store.js';

/** What a store lends {@link aggregateStreamWithSnapshots}. */
export interface AggregateSource {
  /** Upcast events of a stream from `fromVersion`, up to `maxPosition` when given. */
  readStreamFrom(
    streamId: string,
    fromVersion: number,
    maxPosition?: bigint,
  ): Promise<StoredEvent[]>;
  /** The newest snapshot under `name`, at or before `maxPosition` when given. */
  loadSnapshot(streamId: string, name: string, maxPosition?: bigint): Promise<Snapshot | undefined>;
  saveSnapshot(snapshot: Snapshot): Promise<void>;
  /** The last global position recorded at or before `time`; 0n when none. */
  positionAt(time: Date): Promise<bigint>;
}

/** Turn an `asOf` into the last position it admits. */
export async function resolveAsOf(
  source: AggregateSource,
  asOf: AsOf | undefined,
): Promise<bigint | undefined> {
  if (asOf === undefined) return undefined;
  if ('position' in asOf) return parsePosition(asOf.position, 'asOf.position');
  if ('time' in asOf) {
    const time = asOf.time instanceof Date ? asOf.time : new Date(asOf.time);
    if (Number.isNaN(time.getTime())) {
      throw new InvalidArgumentError('asOf.time must be a valid date', { time: String(asOf.time) });
    }
    return source.positionAt(time);
  }
  throw new InvalidArgumentError('asOf must have a position or a time');
}

/**
 * Fold a stream from its newest usable snapshot. A snapshot is written (when `snapshot` is
 * named and the read is not temporal) once `snapshotEvery` events have followed the last one.
 */
export async function aggregateStreamWithSnapshots<S>(
  source: AggregateSource,
  streamId: string,
  options: AggregateStreamOptions<S>,
  snapshotEvery: number,
): Promise<AggregateStreamResult<S>> {
  if (typeof options.evolve !== 'function' || typeof options.initial !== 'function') {
    throw new InvalidArgumentError('aggregateStream needs evolve and initial functions');
  }
  const maxPosition = await resolveAsOf(source, options.asOf);
  const snapshot =
    options.snapshot === undefined
      ? undefined
      : await source.loadSnapshot(streamId, options.snapshot, maxPosition);
  let state = snapshot ? (structuredClone(snapshot.state) as S) : options.initial();
  let streamVersion = snapshot ? snapshot.streamVersion : -1;
  let position = snapshot?.position;
  const events = await source.readStreamFrom(streamId, streamVersion + 1, maxPosition);
  for (const event of events) {
    state = options.evolve(state, event);
    streamVersion = event.streamversion;
    position = event.position;
  }
  const since = streamVersion - (snapshot ? snapshot.streamVersion : -1);
  if (
    options.snapshot !== undefined &&
    maxPosition === undefined &&
    since >= snapshotEvery &&
    position
  ) {
    await source.saveSnapshot({ streamId, name: options.snapshot, streamVersion, position, state });
  }
  return { state, streamVersion, fromSnapshot: snapshot !== undefined };
}
