import type { RelayCheckpointStore, RelayLease } from '@eventfabric/core';
import type { PostgresRecordsTarget } from './postgres-dead-letter-store.js';
import { storeError } from './postgres-transaction.js';
import { quoteIdentifier } from './schema-name.js';
import { acquireRelay, advanceRelay, releaseRelay } from './sql/relay-checkpoints.js';

/**
 * Relay checkpoints and leases in PostgreSQL (`relay_checkpoints`, migration 005), in the
 * store's schema. A lease is a row's owner and expiry, judged by the server's clock; every
 * advance checks the owner, so a relay that lost its lease (a long pause, a partition)
 * cannot move the checkpoint its successor now owns.
 */
export class PostgresRelayCheckpoints implements RelayCheckpointStore {
  private readonly s: string;

  constructor(private readonly target: PostgresRecordsTarget) {
    this.s = quoteIdentifier(target.schema);
  }

  async acquire(name: string, owner: string, leaseMs: number): Promise<RelayLease> {
    const row = await this.run(() => acquireRelay(this.target.pool, this.s, name, owner, leaseMs));
    return row ? { held: true, position: row.position ?? undefined } : { held: false };
  }

  advance(
    name: string,
    owner: string,
    position: string | undefined,
    leaseMs: number,
  ): Promise<boolean> {
    return this.run(() => advanceRelay(this.target.pool, this.s, name, owner, position, leaseMs));
  }

  release(name: string, owner: string): Promise<void> {
    return this.run(() => releaseRelay(this.target.pool, this.s, name, owner));
  }

  private async run<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw storeError(error, this.target.schema);
    }
  }
}
