import { defineProjection, type CompiledProjection, type StoredEvent } from '@eventfabric/core';
import type { ContextDeps } from '../platform/context.js';
import { dataOf } from '../platform/event-publisher.js';
import {
  TreasuryEvents,
  TreasuryInputs,
  type ContributionApproved,
  type MemberAmount,
  type PatronageAllocated,
  type PeriodClosed,
} from './events.js';

type Ctx = { tx: unknown; table(name: string): string };

/**
 * Treasury's read models. `patronage` is the one the SLA is about: an approved contribution
 * counts towards its member's patronage for the period, unless the period closed before
 * it (then it is counted as late). The allocation is made from this projection once it has
 * applied the close, so it covers exactly the approvals before the close in the log.
 */
export function treasuryProjections({
  publisher,
  observer,
}: ContextDeps): CompiledProjection<unknown>[] {
  const sql = (tx: unknown) => publisher.within(tx);
  const patronage = defineProjection<unknown>({
    name: 'patronage',
    version: 1,
    tables: ['periods_view', 'patronage_view'],
    setup: async ({ tx, table }) => {
      await sql(tx).run(
        `CREATE TABLE ${table('periods_view')} (period_id TEXT PRIMARY KEY, name TEXT NOT NULL,
          status TEXT NOT NULL, surplus_cents BIGINT, retained_bps BIGINT, late_cents BIGINT NOT NULL,
          closed_by TEXT)`,
      );
      await sql(tx).run(
        `CREATE TABLE ${table('patronage_view')} (period_id TEXT NOT NULL, member_id TEXT NOT NULL,
          patronage_cents BIGINT NOT NULL, contributions BIGINT NOT NULL, PRIMARY KEY (period_id, member_id))`,
      );
    },
    handlers: {
      [TreasuryEvents.periodOpened]: async (event, { tx, table }) => {
        const { periodId, name } = dataOf<{ periodId: string; name: string }>(event);
        await sql(tx).run(
          `INSERT INTO ${table('periods_view')} (period_id, name, status, late_cents) VALUES (?, ?, 'open', 0)
           ON CONFLICT (period_id) DO NOTHING`,
          [periodId, name],
        );
      },
      [TreasuryEvents.periodClosed]: async (event, { tx, table }) => {
        const p = dataOf<PeriodClosed>(event);
        await sql(tx).run(
          `UPDATE ${table('periods_view')} SET status = 'closed', surplus_cents = ?, retained_bps = ?, closed_by = ?
           WHERE period_id = ?`,
          [p.surplusCents, p.retainedBps, event.id, p.periodId],
        );
      },
      [TreasuryInputs.contributionApproved]: async (event, { tx, table }) => {
        const c = dataOf<ContributionApproved>(event);
        // One statement in the common case (the hot path of the SLA): counted unless the
        // period has closed; a late approval is then added to the period's late cents.
        const counted = await sql(tx).run(
          `INSERT INTO ${table('patronage_view')} AS p (period_id, member_id, patronage_cents, contributions)
           SELECT ?, ?, ?, 1 WHERE NOT EXISTS
             (SELECT 1 FROM ${table('periods_view')} WHERE period_id = ? AND status = 'closed')
           ON CONFLICT (period_id, member_id) DO UPDATE
           SET patronage_cents = p.patronage_cents + excluded.patronage_cents, contributions = p.contributions + 1`,
          [c.periodId, c.memberId, c.amountCents, c.periodId],
        );
        if (counted === 0) {
          await sql(tx).run(
            `UPDATE ${table('periods_view')} SET late_cents = late_cents + ? WHERE period_id = ?`,
            [c.amountCents, c.periodId],
          );
        }
      },
    },
    sideEffects: {
      // After the update commits, live events only: where the SLA's clock stops.
      [TreasuryInputs.contributionApproved]: (event) => observer?.projected?.('patronage', event),
    },
  });

  const moveBalance =
    (sign: 1 | -1, field: 'credits' | 'debits') =>
    async (event: StoredEvent, { tx, table }: Ctx) => {
      const list = (event.data as Record<string, MemberAmount[]>)[field] ?? [];
      for (const m of list) {
        await sql(tx).run(
          `UPDATE ${table('accounts_view')} SET balance_cents = balance_cents + ? WHERE member_id = ?`,
          [sign * m.amountCents, m.memberId],
        );
      }
    };
  const ledger = defineProjection<unknown>({
    name: 'treasury_ledger',
    version: 1,
    tables: ['accounts_view', 'allocations_view', 'distributions_view'],
    setup: async ({ tx, table }) => {
      await sql(tx).run(
        `CREATE TABLE ${table('accounts_view')} (member_id TEXT PRIMARY KEY, balance_cents BIGINT NOT NULL,
          redeemed_cents BIGINT NOT NULL, status TEXT NOT NULL)`,
      );
      await sql(tx).run(
        `CREATE TABLE ${table('allocations_view')} (period_id TEXT NOT NULL, member_id TEXT NOT NULL,
          patronage_cents BIGINT NOT NULL, allocated_cents BIGINT NOT NULL, retained_cents BIGINT NOT NULL,
          cash_cents BIGINT NOT NULL, status TEXT NOT NULL, PRIMARY KEY (period_id, member_id))`,
      );
      await sql(tx).run(
        `CREATE TABLE ${table('distributions_view')} (distribution_id TEXT PRIMARY KEY, period_id TEXT NOT NULL,
          member_id TEXT NOT NULL, amount_cents BIGINT NOT NULL, status TEXT NOT NULL)`,
      );
    },
    handlers: {
      [TreasuryEvents.accountOpened]: async (event, { tx, table }) => {
        const a = dataOf<{ memberId: string; openingBalanceCents: number }>(event);
        await sql(tx).run(
          `INSERT INTO ${table('accounts_view')} (member_id, balance_cents, redeemed_cents, status)
           VALUES (?, ?, 0, 'open') ON CONFLICT (member_id) DO NOTHING`,
          [a.memberId, a.openingBalanceCents],
        );
      },
      [TreasuryEvents.credited]: moveBalance(1, 'credits'),
      [TreasuryEvents.debited]: moveBalance(-1, 'debits'),
      [TreasuryEvents.capitalRedeemed]: async (event, { tx, table }) => {
        const r = dataOf<MemberAmount>(event);
        await sql(tx).run(
          `UPDATE ${table('accounts_view')} SET balance_cents = balance_cents - ?, redeemed_cents = redeemed_cents + ?
           WHERE member_id = ?`,
          [r.amountCents, r.amountCents, r.memberId],
        );
      },
      [TreasuryEvents.accountClosed]: async (event, { tx, table }) => {
        const { memberId } = dataOf<{ memberId: string }>(event);
        await sql(tx).run(
          `UPDATE ${table('accounts_view')} SET status = 'closed' WHERE member_id = ?`,
          [memberId],
        );
      },
      [TreasuryEvents.allocated]: async (event, { tx, table }) => {
        const a = dataOf<PatronageAllocated>(event);
        for (const m of a.allocations) {
          await sql(tx).run(
            `INSERT INTO ${table('allocations_view')} AS t (period_id, member_id, patronage_cents, allocated_cents,
               retained_cents, cash_cents, status) VALUES (?, ?, ?, ?, ?, ?, 'allocated')
             ON CONFLICT (period_id, member_id) DO UPDATE SET patronage_cents = excluded.patronage_cents,
               allocated_cents = excluded.allocated_cents, retained_cents = excluded.retained_cents,
               cash_cents = excluded.cash_cents, status = 'allocated'`,
            [
              a.periodId,
              m.memberId,
              m.patronageCents,
              m.allocatedCents,
              m.retainedCents,
              m.cashCents,
            ],
          );
        }
      },
      [TreasuryEvents.reversed]: async (event, { tx, table }) => {
        const { periodId } = dataOf<{ periodId: string }>(event);
        await sql(tx).run(
          `UPDATE ${table('allocations_view')} SET status = 'reversed' WHERE period_id = ?`,
          [periodId],
        );
      },
      [TreasuryEvents.scheduled]: async (event, { tx, table }) => {
        const s = dataOf<{
          periodId: string;
          distributions: (MemberAmount & { distributionId: string })[];
        }>(event);
        for (const d of s.distributions) {
          await sql(tx).run(
            `INSERT INTO ${table('distributions_view')} (distribution_id, period_id, member_id, amount_cents, status)
             VALUES (?, ?, ?, ?, 'scheduled') ON CONFLICT (distribution_id) DO NOTHING`,
            [d.distributionId, s.periodId, d.memberId, d.amountCents],
          );
        }
      },
      [TreasuryEvents.cancelled]: async (event, { tx, table }) => {
        const c = dataOf<{ distributionIds: string[] }>(event);
        for (const id of c.distributionIds) {
          await sql(tx).run(
            `UPDATE ${table('distributions_view')} SET status = 'cancelled' WHERE distribution_id = ?`,
            [id],
          );
        }
      },
      [TreasuryEvents.paid]: async (event, { tx, table }) => {
        const { distributionId } = dataOf<{ distributionId: string }>(event);
        await sql(tx).run(
          `UPDATE ${table('distributions_view')} SET status = 'paid' WHERE distribution_id = ?`,
          [distributionId],
        );
      },
    },
  });
  return [patronage, ledger];
}
