import {
  InvalidArgumentError,
  StoreClosedError,
  type IdempotencyKeyStore,
} from '@eventfabric/core';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsTransport } from './nats-transport.js';
import { assertUsable } from './store-guard.js';

/** Options for {@link createNatsIdempotencyKeyStore}. */
export interface NatsIdempotencyKeyStoreOptions {
  /**
   * The KV bucket's name (letters, digits, `_`, `-`); the transport's `namePrefix` is put
   * before it.
   * @defaultValue 'eventfabric_idempotency'
   */
  bucket?: string;
  /**
   * The longest TTL a key may be given. The bucket drops every entry this long after it
   * was last put, so expired keys do not pile up.
   * @defaultValue 86 400 000 (one day)
   */
  maxTtlMs?: number;
}

/**
 * An {@link IdempotencyKeyStore} on a JetStream KV bucket. Each key's value is its expiry
 * time; the bucket's own TTL (`maxTtlMs`) removes old entries. Expiry uses this process's
 * clock for the key's own TTL, and the server's for the bucket's.
 */
export class NatsIdempotencyKeyStore implements IdempotencyKeyStore {
  private constructor(
    private readonly transport: NatsTransport,
    private readonly kv: KV,
    private readonly maxTtlMs: number,
  ) {}

  static async open(
    transport: NatsTransport,
    options: NatsIdempotencyKeyStoreOptions = {},
  ): Promise<NatsIdempotencyKeyStore> {
    assertUsable(transport);
    const bucket = options.bucket ?? 'eventfabric_idempotency';
    const maxTtlMs = options.maxTtlMs ?? 86_400_000;
    if (typeof bucket !== 'string' || !/^[A-Za-z0-9_-]+$/.test(bucket)) {
      throw new InvalidArgumentError('a KV bucket name holds only letters, digits, _ and -', {
        bucket: bucket as never,
      });
    }
    if (!Number.isSafeInteger(maxTtlMs) || maxTtlMs < 1000) {
      throw new InvalidArgumentError('maxTtlMs must be an integer of at least 1000', {
        maxTtlMs,
      });
    }
    const { namePrefix, stream } = transport.options;
    const kv = await new Kvm(transport.nc).create(namePrefix + bucket, {
      history: 1,
      ttl: maxTtlMs,
      storage: stream.storage as never,
      replicas: stream.replicas,
    });
    return new NatsIdempotencyKeyStore(transport, kv, maxTtlMs);
  }

  async has(key: string): Promise<boolean> {
    if (this.transport.isClosed()) throw new StoreClosedError();
    const entry = await this.kv.get(encodeKey(key));
    if (!entry || entry.operation !== 'PUT') return false;
    return Number(entry.string()) > Date.now();
  }

  async put(key: string, ttlMs: number): Promise<void> {
    if (this.transport.isClosed()) throw new StoreClosedError();
    if (!Number.isFinite(ttlMs) || ttlMs <= 0 || ttlMs > this.maxTtlMs) {
      throw new InvalidArgumentError(`ttlMs must be above 0 and at most ${this.maxTtlMs}`, {
        ttlMs,
        maxTtlMs: this.maxTtlMs,
      });
    }
    await this.kv.put(encodeKey(key), String(Date.now() + ttlMs));
  }
}

/** KV keys allow `[-/_=.a-zA-Z0-9]`: base64url fits any key. */
function encodeKey(key: string): string {
  if (typeof key !== 'string' || key.length === 0) {
    throw new InvalidArgumentError('an idempotency key must be a non-empty string', {
      key: key as never,
    });
  }
  return Buffer.from(key).toString('base64url');
}

/** Open (creating if needed) an idempotency key bucket on a NATS transport's connection. */
export function createNatsIdempotencyKeyStore(
  transport: NatsTransport,
  options?: NatsIdempotencyKeyStoreOptions,
): Promise<NatsIdempotencyKeyStore> {
  return NatsIdempotencyKeyStore.open(transport, options);
}
