import type Database from 'better-sqlite3';
import { prepareClaimPartitions, prepareCountClaimable } from '../sql/claim-partitions.js';
import {
  prepareLeaveGroup,
  prepareLiveMembers,
  prepareMemberHeartbeat,
} from '../sql/member-heartbeat.js';
import type { PartitionRow } from '../sql/partition-row.js';
import { prepareReleasePartition } from '../sql/release-partition.js';
import { prepareRenewLeases } from '../sql/renew-leases.js';
import type { PartitionProgress } from '../sql/save-partition-progress.js';

/** What a lease refresh found. */
export interface LeaseRefresh {
  /** Every partition the member holds now: renewed, reclaimed after a restart, or newly taken. */
  held: PartitionRow[];
  /** The most partitions the member should hold while the group has its live members. */
  share: number;
}

/**
 * One member's leases on a group's partitions. A member heartbeats, renews what it holds and
 * takes free or expired partitions up to its fair share, `ceil(partitions / live members)`:
 * a newcomer's heartbeat lowers everyone's share, the others release their surplus, and the
 * newcomer takes it. Methods that write run inside the caller's write transaction.
 */
export class PartitionLeases {
  private readonly heartbeat;
  private readonly renew;
  private readonly claim;
  private readonly live;
  private readonly claimable;
  private readonly releaseOne;
  private readonly leaveGroup;

  constructor(
    db: Database.Database,
    private readonly group: string,
    private readonly member: string,
    private readonly partitions: number,
    private readonly leaseMs: number,
  ) {
    this.heartbeat = prepareMemberHeartbeat(db);
    this.renew = prepareRenewLeases(db);
    this.claim = prepareClaimPartitions(db);
    this.live = prepareLiveMembers(db);
    this.claimable = prepareCountClaimable(db);
    this.releaseOne = prepareReleasePartition(db);
    this.leaveGroup = prepareLeaveGroup(db);
  }

  /**
   * Heartbeat, renew the leases held, and, when `claim` is set, take free partitions up to
   * the fair share.
   */
  refresh(now: number, claim: boolean): LeaseRefresh {
    const until = now + this.leaseMs;
    const share = this.share(this.heartbeat(this.group, this.member, now, until));
    const held = this.renew(this.group, this.member, until);
    const limit = claim ? share - held.length : 0;
    const taken = this.claim(this.group, this.member, now, until, limit);
    return { held: [...held, ...taken], share };
  }

  /** Read-only: the fair share now, and whether any partition is free to take. */
  probe(now: number): { share: number; claimable: boolean } {
    return {
      share: this.share(this.live.get(this.group, now) ?? 1),
      claimable: (this.claimable.get(this.group, this.member, now) ?? 0) > 0,
    };
  }

  /** Give partitions up with their final progress; returns those this member still held. */
  release(progress: readonly PartitionProgress[]): number[] {
    return progress
      .filter((p) => this.releaseOne(this.group, this.member, p))
      .map((p) => p.partition);
  }

  /** Forget this member, so the others' share grows at once. */
  leave(): void {
    this.leaveGroup.run(this.group, this.member);
  }

  private share(liveMembers: number): number {
    return Math.ceil(this.partitions / Math.max(1, liveMembers));
  }
}
