import { defineHandler, RetryLaterError, type HandlerContext } from '@eventfabric/core';
import type { AllocationStepName, ContextDeps, HandlerSpec } from '../platform/context.js';
import type { UnitOfWork } from '../platform/event-publisher.js';
import { int } from '../platform/sql.js';
import { allocatePatronage } from './allocation.js';
import {
  accountStream,
  allocationStream,
  distributionId,
  TREASURY_SOURCE,
  TreasuryEvents,
  TreasuryInputs,
  type MemberAmount,
  type PatronageAllocated,
  type PeriodClosed,
} from './events.js';

interface PeriodCommand {
  periodId: string;
}

/** Treasury's handlers: capital accounts, and the commands of the allocation saga. */
export function treasuryHandlers(deps: ContextDeps): HandlerSpec[] {
  const { publisher, faults } = deps;
  const react = <T>(ctx: HandlerContext, work: (uow: UnitOfWork) => Promise<T>) =>
    publisher.react(ctx, TREASURY_SOURCE, work);
  /** A test may make a step's handler fail (reply with its failure) or go silent. */
  const injected = (step: AllocationStepName): 'fail' | 'silence' | undefined =>
    faults.fail?.includes(step) ? 'fail' : faults.silence?.includes(step) ? 'silence' : undefined;

  return [
    {
      produces: [TreasuryEvents.accountOpened],
      sla: 'p99 ≤ 1 s after registration',
      handler: defineHandler<{ memberId: string; shareCents: number }>({
        name: 'treasury_accounts',
        on: [TreasuryInputs.memberRegistered],
        transactional: true,
        handle: async (event, ctx) => {
          const { memberId, shareCents } = event.data;
          await react(ctx, async (uow) => {
            const opened = await uow.run(
              `INSERT INTO ${uow.table('treasury_accounts')} (member_id, balance_cents, status) VALUES (?, ?, 'open')
               ON CONFLICT (member_id) DO NOTHING`,
              [memberId, shareCents],
            );
            if (opened === 0) return;
            await ledger(uow, `share:${memberId}`, memberId, null, 'share', shareCents);
            uow.emit({
              type: TreasuryEvents.accountOpened,
              stream: accountStream(memberId),
              data: { memberId, openingBalanceCents: shareCents },
            });
          });
        },
      }),
    },
    {
      produces: [TreasuryEvents.capitalRedeemed, TreasuryEvents.accountClosed],
      sla: 'p99 ≤ 1 s after Agreements releases the member',
      handler: defineHandler<{ memberId: string }>({
        name: 'treasury_redemption',
        on: [TreasuryInputs.memberReleased],
        transactional: true,
        retry: { maxAttempts: 10 },
        handle: async (event, ctx) => {
          const { memberId } = event.data;
          await react(ctx, async (uow) => {
            const [account] = await uow.all<{ balance_cents: unknown; status: string }>(
              `SELECT balance_cents, status FROM ${uow.table('treasury_accounts')} WHERE member_id = ?`,
              [memberId],
            );
            // The account is opened by another handler from the registration: wait for it.
            if (account === undefined)
              throw new RetryLaterError(200, 'capital account not open yet');
            if (account.status === 'closed') return;
            const balance = int(account.balance_cents);
            await uow.run(
              `UPDATE ${uow.table('treasury_accounts')} SET balance_cents = 0, status = 'closed' WHERE member_id = ?`,
              [memberId],
            );
            await ledger(uow, `redemption:${memberId}`, memberId, null, 'redemption', -balance);
            uow.emit({
              type: TreasuryEvents.capitalRedeemed,
              stream: accountStream(memberId),
              data: { memberId, amountCents: balance },
            });
            uow.emit({
              type: TreasuryEvents.accountClosed,
              stream: accountStream(memberId),
              data: { memberId, redeemedCents: balance },
            });
          });
        },
      }),
    },
    {
      produces: [
        TreasuryEvents.allocated,
        TreasuryEvents.allocationFailed,
        TreasuryEvents.reversed,
      ],
      sla: 'p99 ≤ 2 s; the saga times the step out after stepTimeoutMs',
      handler: defineHandler<PeriodClosed>({
        name: 'treasury_allocate',
        on: [TreasuryEvents.allocationRequested, TreasuryEvents.reversalRequested],
        transactional: true,
        retry: { maxAttempts: 20 },
        handle: async (event, ctx) => {
          const { periodId } = event.data;
          const stream = allocationStream(periodId);
          if (event.type === TreasuryEvents.reversalRequested) {
            await react(ctx, async (uow) => {
              const reversed = await uow.run(
                `UPDATE ${uow.table('treasury_allocations')} SET status = 'reversed' WHERE period_id = ? AND status = 'allocated'`,
                [periodId],
              );
              uow.emit({ type: TreasuryEvents.reversed, stream, data: { periodId, reversed } });
            });
            return;
          }
          const fault = injected('allocate');
          if (fault === 'silence') return;
          await react(ctx, async (uow) => {
            if (fault === 'fail') {
              uow.emit({
                type: TreasuryEvents.allocationFailed,
                stream,
                data: { periodId, reason: 'injected fault' },
              });
              return;
            }
            // Patronage is final once the patronage projection has applied the close: the
            // approvals before it in the log, exactly.
            const [period] = await uow.all<{ status: string }>(
              `SELECT status FROM ${uow.table('periods_view')} WHERE period_id = ?`,
              [periodId],
            );
            if (period?.status !== 'closed') {
              throw new RetryLaterError(50, 'the patronage projection has not reached the close');
            }
            const rows = await uow.all<{ member_id: string; patronage_cents: unknown }>(
              `SELECT member_id, patronage_cents FROM ${uow.table('patronage_view')} WHERE period_id = ?`,
              [periodId],
            );
            const patronage = new Map(rows.map((r) => [r.member_id, int(r.patronage_cents)]));
            const allocations = allocatePatronage({
              surplusCents: event.data.surplusCents,
              retainedBps: event.data.retainedBps,
              patronage,
            });
            if (allocations.length === 0) {
              uow.emit({
                type: TreasuryEvents.allocationFailed,
                stream,
                data: { periodId, reason: 'no patronage in the period' },
              });
              return;
            }
            for (const a of allocations) {
              await uow.run(
                `INSERT INTO ${uow.table('treasury_allocations')} AS t
                   (period_id, member_id, patronage_cents, allocated_cents, retained_cents, cash_cents, status)
                 VALUES (?, ?, ?, ?, ?, ?, 'allocated')
                 ON CONFLICT (period_id, member_id) DO UPDATE SET patronage_cents = excluded.patronage_cents,
                   allocated_cents = excluded.allocated_cents, retained_cents = excluded.retained_cents,
                   cash_cents = excluded.cash_cents, status = 'allocated'`,
                [
                  periodId,
                  a.memberId,
                  a.patronageCents,
                  a.allocatedCents,
                  a.retainedCents,
                  a.cashCents,
                ],
              );
            }
            const totalPatronageCents = allocations.reduce((s, a) => s + a.patronageCents, 0);
            uow.emit<PatronageAllocated>({
              type: TreasuryEvents.allocated,
              stream,
              data: { periodId, totalPatronageCents, allocations },
            });
          });
        },
      }),
    },
    {
      produces: [TreasuryEvents.credited, TreasuryEvents.creditFailed, TreasuryEvents.debited],
      sla: 'p99 ≤ 2 s; the saga times the step out after stepTimeoutMs',
      handler: defineHandler<PeriodCommand & { credits?: MemberAmount[] }>({
        name: 'treasury_capital',
        on: [TreasuryEvents.creditRequested, TreasuryEvents.debitRequested],
        transactional: true,
        retry: { maxAttempts: 10 },
        handle: async (event, ctx) => {
          const { periodId } = event.data;
          const stream = allocationStream(periodId);
          const accounts = (uow: UnitOfWork) => uow.table('treasury_accounts');
          if (event.type === TreasuryEvents.debitRequested) {
            await react(ctx, async (uow) => {
              const entries = await uow.all<{ member_id: string; amount_cents: unknown }>(
                `SELECT member_id, amount_cents FROM ${uow.table('treasury_capital_ledger')}
                 WHERE period_id = ? AND kind = 'patronage' ORDER BY member_id`,
                [periodId],
              );
              const debits: MemberAmount[] = [];
              for (const entry of entries) {
                const amount = int(entry.amount_cents);
                const taken = await ledger(
                  uow,
                  `reversal:${periodId}:${entry.member_id}`,
                  entry.member_id,
                  periodId,
                  'patronage-reversal',
                  -amount,
                );
                if (!taken) continue;
                await uow.run(
                  `UPDATE ${accounts(uow)} SET balance_cents = balance_cents - ? WHERE member_id = ?`,
                  [amount, entry.member_id],
                );
                debits.push({ memberId: entry.member_id, amountCents: amount });
              }
              const totalCents = debits.reduce((s, d) => s + d.amountCents, 0);
              uow.emit({
                type: TreasuryEvents.debited,
                stream,
                data: { periodId, debits, totalCents },
              });
            });
            return;
          }
          const fault = injected('credit');
          if (fault === 'silence') return;
          const credits = event.data.credits ?? [];
          await react(ctx, async (uow) => {
            const fail = (reason: string) =>
              uow.emit({ type: TreasuryEvents.creditFailed, stream, data: { periodId, reason } });
            if (fault === 'fail') return void fail('injected fault');
            for (const credit of credits) {
              const [account] = await uow.all(
                `SELECT 1 FROM ${accounts(uow)} WHERE member_id = ?`,
                [credit.memberId],
              );
              if (account === undefined)
                return void fail(`no capital account for ${credit.memberId}`);
            }
            for (const credit of credits) {
              const fresh = await ledger(
                uow,
                `patronage:${periodId}:${credit.memberId}`,
                credit.memberId,
                periodId,
                'patronage',
                credit.amountCents,
              );
              if (!fresh) continue;
              await uow.run(
                `UPDATE ${accounts(uow)} SET balance_cents = balance_cents + ? WHERE member_id = ?`,
                [credit.amountCents, credit.memberId],
              );
            }
            const totalCents = credits.reduce((s, c) => s + c.amountCents, 0);
            uow.emit({
              type: TreasuryEvents.credited,
              stream,
              data: { periodId, credits, totalCents },
            });
          });
        },
      }),
    },
    {
      produces: [
        TreasuryEvents.scheduled,
        TreasuryEvents.schedulingFailed,
        TreasuryEvents.cancelled,
      ],
      sla: 'p99 ≤ 2 s; the saga times the step out after stepTimeoutMs',
      handler: defineHandler<PeriodCommand & { payments?: MemberAmount[] }>({
        name: 'treasury_distributions',
        on: [TreasuryEvents.scheduleRequested, TreasuryEvents.cancellationRequested],
        transactional: true,
        retry: { maxAttempts: 10 },
        handle: async (event, ctx) => {
          const { periodId } = event.data;
          const stream = allocationStream(periodId);
          const table = (uow: UnitOfWork) => uow.table('treasury_distributions');
          if (event.type === TreasuryEvents.cancellationRequested) {
            await react(ctx, async (uow) => {
              const rows = await uow.all<{ distribution_id: string }>(
                `SELECT distribution_id FROM ${table(uow)} WHERE period_id = ? AND status = 'scheduled' ORDER BY distribution_id`,
                [periodId],
              );
              await uow.run(
                `UPDATE ${table(uow)} SET status = 'cancelled' WHERE period_id = ? AND status = 'scheduled'`,
                [periodId],
              );
              uow.emit({
                type: TreasuryEvents.cancelled,
                stream,
                data: { periodId, distributionIds: rows.map((r) => r.distribution_id) },
              });
            });
            return;
          }
          const fault = injected('schedule');
          if (fault === 'silence') return;
          await react(ctx, async (uow) => {
            if (fault === 'fail') {
              uow.emit({
                type: TreasuryEvents.schedulingFailed,
                stream,
                data: { periodId, reason: 'injected fault' },
              });
              return;
            }
            const distributions = (event.data.payments ?? []).map((p) => ({
              distributionId: distributionId(periodId, p.memberId),
              memberId: p.memberId,
              amountCents: p.amountCents,
            }));
            for (const d of distributions) {
              await uow.run(
                `INSERT INTO ${table(uow)} (distribution_id, period_id, member_id, amount_cents, status)
                 VALUES (?, ?, ?, ?, 'scheduled') ON CONFLICT (distribution_id) DO NOTHING`,
                [d.distributionId, periodId, d.memberId, d.amountCents],
              );
            }
            uow.emit({ type: TreasuryEvents.scheduled, stream, data: { periodId, distributions } });
          });
        },
      }),
    },
  ];
}

/** Write a capital ledger entry once; false when the entry already exists. */
async function ledger(
  uow: UnitOfWork,
  entryId: string,
  memberId: string,
  periodId: string | null,
  kind: string,
  amountCents: number,
): Promise<boolean> {
  const inserted = await uow.run(
    `INSERT INTO ${uow.table('treasury_capital_ledger')} (entry_id, member_id, period_id, kind, amount_cents)
     VALUES (?, ?, ?, ?, ?) ON CONFLICT (entry_id) DO NOTHING`,
    [entryId, memberId, periodId, kind, amountCents],
  );
  return inserted === 1;
}
