import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { InvalidArgumentError } from '@eventfabric/core';
import { SqliteEventStore } from '../sqlite-event-store.js';

/** Where a background failure of the transport happened, for {@link SqliteTransportOptions.onError}. */
export interface TransportErrorContext {
  group: string;
  member: string;
  /** What the member was doing: `renew leases`, `save progress`, `read the log`, … */
  operation: string;
}

/** Options for {@link SqliteTransport}. */
export interface SqliteTransportOptions {
  /**
   * The store whose log carries the events: `publish` appends to it, groups read it. The
   * transport opens its own connection to the store's file for its bookkeeping (a `:memory:`
   * store has only one connection, which it shares), and never closes the store. Publishing
   * follows the store's `allowForeignTypes`, schemas and limits.
   */
  store: SqliteEventStore;
  /**
   * Partitions of each consumer group this transport creates. Events with one `partitionkey`
   * always fall in one partition (FNV-1a of the key, modulo this), and a partition is handled
   * by one member at a time, in log order. It caps the members that can share a group's work.
   * An existing group keeps the count it was created with.
   * @defaultValue 16
   */
  partitions?: number;
  /**
   * How long a member's hold on a partition lasts without renewal, in ms. A member renews
   * every third of it; a member that dies loses its partitions to the others after this long.
   * @defaultValue 10 000
   */
  leaseMs?: number;
  /**
   * How long `close()` waits for handlers in flight before giving their deliveries up to the
   * rest of the group, in ms.
   * @defaultValue 30 000
   */
  drainTimeoutMs?: number;
  /**
   * Names this process in the group tables (`<consumerId>/<n>`, one per subscription to a
   * group). A stable id lets a restarted process take back its partitions at once instead of
   * waiting for their leases to expire; two live processes must never share one.
   * @defaultValue `<hostname>:<pid>:<random>`, new for each transport
   */
  consumerId?: string;
  /**
   * Where a group this transport creates starts reading: the beginning of the log (it
   * receives every event already stored, like a group on a persistent broker), or its end.
   * A group that exists resumes from its checkpoints.
   * @defaultValue 'beginning'
   */
  startFrom?: 'beginning' | 'end';
  /**
   * In steady state, acks are written as one checkpoint once this many have accumulated
   * (or after `checkpointDelayMs`). A crash redelivers at most this many handled events plus
   * those in flight.
   * @defaultValue 100
   */
  checkpointEvery?: number;
  /**
   * Longest an ack waits before its checkpoint is written, in ms.
   * @defaultValue 100
   */
  checkpointDelayMs?: number;
  /**
   * How long a write waits for another connection's write lock, in ms, before the operation
   * fails with STORE_UNAVAILABLE. Waiting never blocks the event loop.
   * @defaultValue 5 000
   */
  busyTimeoutMs?: number;
  /**
   * Called when background work fails (a lease renewal, a checkpoint write). The work is
   * retried; this makes the failure visible.
   * @defaultValue writes one JSON line to stderr
   */
  onError?: (error: unknown, context: TransportErrorContext) => void;
}

export type ResolvedTransportOptions = Required<SqliteTransportOptions>;

/** Validate options once, at construction, and fill the defaults. */
export function resolveTransportOptions(options: SqliteTransportOptions): ResolvedTransportOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('createSqliteTransport needs options with a store');
  }
  if (!(options.store instanceof SqliteEventStore)) {
    throw new InvalidArgumentError('SqliteTransport needs a SqliteEventStore as `store`');
  }
  const startFrom = options.startFrom ?? 'beginning';
  if (startFrom !== 'beginning' && startFrom !== 'end') {
    throw new InvalidArgumentError('startFrom must be "beginning" or "end"', { startFrom });
  }
  const consumerId =
    options.consumerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  if (typeof consumerId !== 'string' || consumerId === '' || consumerId.length > 200) {
    throw new InvalidArgumentError('consumerId must be a string of 1 to 200 characters', {
      consumerId: consumerId as never,
    });
  }
  if (options.onError !== undefined && typeof options.onError !== 'function') {
    throw new InvalidArgumentError('onError must be a function');
  }
  return {
    store: options.store,
    partitions: integer(options.partitions, 16, 'partitions', 1, 4096),
    leaseMs: integer(options.leaseMs, 10_000, 'leaseMs', 100),
    drainTimeoutMs: integer(options.drainTimeoutMs, 30_000, 'drainTimeoutMs', 0),
    consumerId,
    startFrom,
    checkpointEvery: integer(options.checkpointEvery, 100, 'checkpointEvery', 1),
    checkpointDelayMs: integer(options.checkpointDelayMs, 100, 'checkpointDelayMs', 0),
    busyTimeoutMs: integer(options.busyTimeoutMs, 5000, 'busyTimeoutMs', 0),
    onError: options.onError ?? logToStderr,
  };
}

function integer(
  value: unknown,
  fallback: number,
  name: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`, {
      [name]: value as never,
    });
  }
  return value;
}

function logToStderr(error: unknown, context: TransportErrorContext): void {
  const err = error as { code?: string; message?: string };
  process.stderr.write(
    JSON.stringify({
      level: 'error',
      msg: `sqlite transport: ${context.operation} failed`,
      ...context,
      code: err?.code,
      error: err?.message ?? String(error),
    }) + '\n',
  );
}
