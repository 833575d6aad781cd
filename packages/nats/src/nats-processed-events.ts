import { InvalidArgumentError, StoreClosedError, type ProcessedEvents } from '@eventfabric/core';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsTransport } from './nats-transport.js';
import { assertUsable } from './store-guard.js';

/** Options for {@link createNatsProcessedEvents}. */
export interface NatsProcessedEventsOptions {
  /**
   * The KV bucket's name (letters, digits, `_`, `-`); the transport's `namePrefix` is put
   * before it.
   * @defaultValue 'eventfabric_processed'
   */
  bucket?: string;
  /**
   * How long a (handler, event id) record is kept. Keep it at least as long as the streams
   * keep events (`stream.maxAgeMs`), or a redelivery after it could run the effect again.
   * @defaultValue 7 days
   */
  ttlMs?: number;
}

/**
 * The consumer framework's idempotency record in a JetStream KV bucket: (handler, event id)
 * pairs whose effect completed.
 *
 * The record is written after the effect, not with it: JetStream has no transaction to share
 * with a database, so `transactional` handlers get no `tx` (undefined), and a process that
 * dies between the effect and the record runs the effect again on redelivery. Use it for
 * effects that are idempotent themselves, or keep the record with the effect's own database
 * (the SQLite and PostgreSQL records) when it must commit together.
 */
export class NatsProcessedEvents implements ProcessedEvents {
  private readonly running = new Map<string, Promise<boolean>>();

  private constructor(
    private readonly transport: NatsTransport,
    private readonly kv: KV,
  ) {}

  static async open(
    transport: NatsTransport,
    options: NatsProcessedEventsOptions = {},
  ): Promise<NatsProcessedEvents> {
    assertUsable(transport);
    const bucket = options.bucket ?? 'eventfabric_processed';
    const ttlMs = options.ttlMs ?? 7 * 86_400_000;
    if (typeof bucket !== 'string' || !/^[A-Za-z0-9_-]+$/.test(bucket)) {
      throw new InvalidArgumentError('a KV bucket name holds only letters, digits, _ and -', {
        bucket: bucket as never,
      });
    }
    if (!Number.isSafeInteger(ttlMs) || ttlMs < 1000) {
      throw new InvalidArgumentError('ttlMs must be an integer of at least 1000', { ttlMs });
    }
    const { namePrefix, stream } = transport.options;
    const kv = await new Kvm(transport.nc).create(namePrefix + bucket, {
      history: 1,
      ttl: ttlMs,
      storage: stream.storage as never,
      replicas: stream.replicas,
    });
    return new NatsProcessedEvents(transport, kv);
  }

  async once(
    handler: string,
    eventId: string,
    effect: (tx: unknown) => Promise<void>,
  ): Promise<boolean> {
    const key = recordKey(handler, eventId);
    // Two deliveries of one event in this process at once: the second waits for the first.
    const pending = this.running.get(key);
    if (pending) return pending.then(() => this.once(handler, eventId, effect));
    const run = (async () => {
      if (await this.has(handler, eventId)) return false;
      await effect(undefined);
      await this.kv.put(key, '1');
      return true;
    })().finally(() => this.running.delete(key));
    this.running.set(key, run);
    return run;
  }

  async has(handler: string, eventId: string): Promise<boolean> {
    if (this.transport.isClosed()) throw new StoreClosedError();
    const entry = await this.kv.get(recordKey(handler, eventId));
    return entry !== null && entry.operation === 'PUT';
  }
}

/** KV keys allow `[-/_=.a-zA-Z0-9]`: base64url of (handler, event id) fits any pair. */
function recordKey(handler: string, eventId: string): string {
  for (const [name, value] of Object.entries({ handler, eventId })) {
    if (typeof value !== 'string' || value.length === 0) {
      throw new InvalidArgumentError(`${name} must be a non-empty string`, {
        [name]: value as never,
      });
    }
  }
  return Buffer.from(`${handler}\u0000${eventId}`).toString('base64url');
}

/** Open (creating if needed) a processed-events bucket on a NATS transport's connection. */
export function createNatsProcessedEvents(
  transport: NatsTransport,
  options?: NatsProcessedEventsOptions,
): Promise<NatsProcessedEvents> {
  return NatsProcessedEvents.open(transport, options);
}
