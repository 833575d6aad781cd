import { NotFoundError, type EventStore, type StoredEvent } from '@eventfabric/core';
import type { SqlExecutor } from '../platform/sql.js';
import { int } from '../platform/sql.js';
import { allocatePatronage, type MemberAllocation } from './allocation.js';
import {
  TreasuryEvents,
  TreasuryInputs,
  type ContributionApproved,
  type PeriodClosed,
} from './events.js';

/** What an audit of one period's allocation found. */
export interface AllocationAudit {
  periodId: string;
  /** True when the stored allocation equals the one recomputed from the log. */
  match: boolean;
  /** The events the recomputation used, in log order: the approvals, then the close. */
  events: { id: string; type: string; position: string }[];
  recomputed: MemberAllocation[];
  stored: MemberAllocation[];
  differences: {
    memberId: string;
    field: string;
    stored: number | null;
    recomputed: number | null;
  }[];
}

const FIELDS = ['patronageCents', 'allocatedCents', 'retainedCents', 'cashCents'] as const;

/**
 * Recompute a period's allocation from exactly the events that produced it (every approval
 * for the period before its close in the log, and the close with its surplus) and compare
 * it, member by member and cent by cent, with the allocation Treasury stored.
 * @throws NotFoundError when the period never closed
 */
export async function auditAllocation(
  store: EventStore,
  sql: SqlExecutor,
  periodId: string,
): Promise<AllocationAudit> {
  const used: StoredEvent[] = [];
  let closed: StoredEvent | undefined;
  let after: string | undefined;
  scan: for (;;) {
    const page = await store.readAll({
      after,
      limit: 1000,
      typePrefixes: [TreasuryInputs.contributionApproved, TreasuryEvents.periodClosed],
    });
    for (const event of page) {
      if ((event.data as { periodId?: string }).periodId !== periodId) continue;
      used.push(event);
      if (event.type === TreasuryEvents.periodClosed) {
        closed = event;
        break scan;
      }
    }
    if (page.length < 1000) break;
    after = page[page.length - 1]!.position;
  }
  if (closed === undefined)
    throw new NotFoundError(`period ${periodId} has not closed`, { periodId });
  const patronage = new Map<string, number>();
  for (const event of used) {
    if (event.type !== TreasuryInputs.contributionApproved) continue;
    const { memberId, amountCents } = event.data as ContributionApproved;
    patronage.set(memberId, (patronage.get(memberId) ?? 0) + amountCents);
  }
  const { surplusCents, retainedBps } = closed.data as PeriodClosed;
  const recomputed = allocatePatronage({ surplusCents, retainedBps, patronage });
  const stored = (
    await sql.all<Record<string, unknown>>(
      `SELECT * FROM ${sql.table('treasury_allocations')} WHERE period_id = ? AND status = 'allocated' ORDER BY member_id`,
      [periodId],
    )
  ).map((r) => ({
    memberId: String(r.member_id),
    patronageCents: int(r.patronage_cents),
    allocatedCents: int(r.allocated_cents),
    retainedCents: int(r.retained_cents),
    cashCents: int(r.cash_cents),
  }));
  const differences: AllocationAudit['differences'] = [];
  const members = [...new Set([...recomputed, ...stored].map((a) => a.memberId))].sort();
  for (const memberId of members) {
    const want = recomputed.find((a) => a.memberId === memberId);
    const have = stored.find((a) => a.memberId === memberId);
    for (const field of FIELDS) {
      if (want?.[field] !== have?.[field]) {
        differences.push({
          memberId,
          field,
          stored: have?.[field] ?? null,
          recomputed: want?.[field] ?? null,
        });
      }
    }
  }
  return {
    periodId,
    match: differences.length === 0,
    events: used.map((e) => ({ id: e.id, type: e.type, position: e.position! })),
    recomputed,
    stored,
    differences,
  };
}

/** The audit as a person reads it. */
export function formatAudit(audit: AllocationAudit): string {
  const lines = [
    `allocation of period ${audit.periodId}: ${audit.match ? 'MATCH' : 'MISMATCH'}`,
    `events used (${audit.events.length}):`,
    ...audit.events.map((e) => `  #${e.position} ${e.type} ${e.id}`),
    'recomputed:',
    ...audit.recomputed.map(
      (a) =>
        `  ${a.memberId}: patronage ${a.patronageCents}, allocated ${a.allocatedCents} (retained ${a.retainedCents}, cash ${a.cashCents})`,
    ),
  ];
  if (!audit.match) {
    lines.push('differences (stored ≠ recomputed):');
    for (const d of audit.differences) {
      lines.push(
        `  ${d.memberId} ${d.field}: stored ${d.stored ?? 'none'}, recomputed ${d.recomputed ?? 'none'}`,
      );
    }
  }
  return lines.join('\n');
}
