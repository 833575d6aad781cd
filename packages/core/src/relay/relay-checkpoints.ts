/**
 * Where relays keep their checkpoints, each guarded by a lease: one owner at a time may
 * advance a relay's checkpoint, so several relay instances can run and only one forwards
 * in steady state.
 *
 * Implementations must guarantee:
 * - **Exclusive lease.** `acquire` succeeds for a relay that is free, whose lease expired,
 *   or that `owner` already holds; never while another owner's lease is current.
 * - **Fenced progress.** `advance` changes nothing and returns false once `owner` no longer
 *   holds the lease (another owner took it after it expired).
 * - **Durable checkpoint.** An advanced position survives a crash, and the next owner
 *   starts from it.
 */
export interface RelayCheckpointStore {
  /**
   * Take (or renew) the lease on relay `name` for `owner` for `leaseMs`.
   * @returns the relay's checkpoint (`undefined` for the start of the log) and `held: true`;
   *   `held: false` when another owner's lease is current
   */
  acquire(name: string, owner: string, leaseMs: number): Promise<RelayLease>;
  /**
   * Renew the lease for `leaseMs`, and move the checkpoint to `position` when given.
   * @returns false, changing nothing, when `owner` no longer holds the lease
   */
  advance(
    name: string,
    owner: string,
    position: string | undefined,
    leaseMs: number,
  ): Promise<boolean>;
  /** Give the lease up, keeping the checkpoint, so another owner may take over at once. */
  release(name: string, owner: string): Promise<void>;
}

export type RelayLease = { held: true; position: string | undefined } | { held: false };

/** {@link RelayCheckpointStore} in memory: for tests and single-process use. */
export class InMemoryRelayCheckpoints implements RelayCheckpointStore {
  private readonly relays = new Map<
    string,
    { position: string | undefined; owner: string | undefined; expiresAt: number }
  >();

  constructor(private readonly now: () => number = Date.now) {}

  acquire(name: string, owner: string, leaseMs: number): Promise<RelayLease> {
    const relay = this.relays.get(name);
    const now = this.now();
    if (relay && relay.owner !== owner && relay.owner !== undefined && relay.expiresAt > now) {
      return Promise.resolve({ held: false });
    }
    const position = relay?.position;
    this.relays.set(name, { position, owner, expiresAt: now + leaseMs });
    return Promise.resolve({ held: true, position });
  }

  advance(
    name: string,
    owner: string,
    position: string | undefined,
    leaseMs: number,
  ): Promise<boolean> {
    const relay = this.relays.get(name);
    if (!relay || relay.owner !== owner) return Promise.resolve(false);
    if (position !== undefined) relay.position = position;
    relay.expiresAt = this.now() + leaseMs;
    return Promise.resolve(true);
  }

  release(name: string, owner: string): Promise<void> {
    const relay = this.relays.get(name);
    if (relay && relay.owner === owner) relay.owner = undefined;
    return Promise.resolve();
  }
}
