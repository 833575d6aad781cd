import { defineSaga, type CompiledSaga } from '@eventfabric/core';
import type { MemberAllocation } from './allocation.js';
import {
  TREASURY_SOURCE,
  TreasuryEvents,
  type PatronageAllocated,
  type PeriodClosed,
} from './events.js';

/** What the allocation saga remembers about its period. */
export interface AllocationState extends PeriodClosed {
  allocations: MemberAllocation[];
}

export const ALLOCATION_SAGA = 'allocation';

/**
 * Period close → allocate patronage per member → credit the retained part to capital
 * accounts → schedule the cash part as distributions → done. Each step is a command to
 * Treasury's handlers and waits for the reply, up to `stepTimeoutMs` (a durable timeout);
 * a failure reply or a timeout compensates the steps done, in reverse order (and the
 * timed-out step itself, whose outcome is unknown).
 */
export function allocationSaga(stepTimeoutMs: number): CompiledSaga<AllocationState> {
  const send = (
    ctx: { send(m: { type: string; data: unknown; source: string }): void },
    type: string,
    data: unknown,
  ) => ctx.send({ type, data, source: TREASURY_SOURCE });
  return defineSaga<AllocationState>({
    name: ALLOCATION_SAGA,
    startedBy: [TreasuryEvents.periodClosed],
    start: (event) => ({ ...(event.data as PeriodClosed), allocations: [] }),
    steps: [
      {
        name: 'allocate',
        run: (ctx) => {
          const { periodId, surplusCents, retainedBps } = ctx.state;
          send(ctx, TreasuryEvents.allocationRequested, { periodId, surplusCents, retainedBps });
        },
        completedBy: [TreasuryEvents.allocated],
        failedBy: [TreasuryEvents.allocationFailed],
        timeoutMs: stepTimeoutMs,
        onCompleted: (event, ctx) => {
          ctx.state.allocations = (event.data as PatronageAllocated).allocations;
        },
        compensate: (ctx) =>
          send(ctx, TreasuryEvents.reversalRequested, { periodId: ctx.state.periodId }),
      },
      {
        name: 'credit',
        run: (ctx) =>
          send(ctx, TreasuryEvents.creditRequested, {
            periodId: ctx.state.periodId,
            credits: ctx.state.allocations
              .filter((a) => a.retainedCents > 0)
              .map((a) => ({ memberId: a.memberId, amountCents: a.retainedCents })),
          }),
        completedBy: [TreasuryEvents.credited],
        failedBy: [TreasuryEvents.creditFailed],
        timeoutMs: stepTimeoutMs,
        compensate: (ctx) =>
          send(ctx, TreasuryEvents.debitRequested, { periodId: ctx.state.periodId }),
      },
      {
        name: 'schedule',
        run: (ctx) =>
          send(ctx, TreasuryEvents.scheduleRequested, {
            periodId: ctx.state.periodId,
            payments: ctx.state.allocations
              .filter((a) => a.cashCents > 0)
              .map((a) => ({ memberId: a.memberId, amountCents: a.cashCents })),
          }),
        completedBy: [TreasuryEvents.scheduled],
        failedBy: [TreasuryEvents.schedulingFailed],
        timeoutMs: stepTimeoutMs,
        compensate: (ctx) =>
          send(ctx, TreasuryEvents.cancellationRequested, { periodId: ctx.state.periodId }),
      },
      {
        name: 'complete',
        run: (ctx) => {
          const sum = (f: 'allocatedCents' | 'retainedCents' | 'cashCents') =>
            ctx.state.allocations.reduce((s, a) => s + a[f], 0);
          send(ctx, TreasuryEvents.allocationCompleted, {
            periodId: ctx.state.periodId,
            allocatedCents: sum('allocatedCents'),
            retainedCents: sum('retainedCents'),
            cashCents: sum('cashCents'),
          });
        },
      },
    ],
  });
}
