import type { MemberAllocation } from './allocation.js';

/** The event types Treasury emits and the data they carry. */
export const TreasuryEvents = {
  periodOpened: 'treasury.period.opened.v1',
  periodClosed: 'treasury.period.closed.v1',
  accountOpened: 'treasury.account.opened.v1',
  accountClosed: 'treasury.account.closed.v1',
  capitalRedeemed: 'treasury.capital.redeemed.v1',
  allocationRequested: 'treasury.patronage.allocation-requested.v1',
  allocated: 'treasury.patronage.allocated.v1',
  allocationFailed: 'treasury.patronage.allocation-failed.v1',
  reversalRequested: 'treasury.patronage.reversal-requested.v1',
  reversed: 'treasury.patronage.reversed.v1',
  creditRequested: 'treasury.capital.credit-requested.v1',
  credited: 'treasury.capital.credited.v1',
  creditFailed: 'treasury.capital.credit-failed.v1',
  debitRequested: 'treasury.capital.debit-requested.v1',
  debited: 'treasury.capital.debited.v1',
  scheduleRequested: 'treasury.distribution.schedule-requested.v1',
  scheduled: 'treasury.distribution.scheduled.v1',
  schedulingFailed: 'treasury.distribution.scheduling-failed.v1',
  cancellationRequested: 'treasury.distribution.cancellation-requested.v1',
  cancelled: 'treasury.distribution.cancelled.v1',
  paid: 'treasury.distribution.paid.v1',
  allocationCompleted: 'treasury.allocation.completed.v1',
} as const;

/** What Treasury hears from the other contexts (its own copies of their names). */
export const TreasuryInputs = {
  memberRegistered: 'people.member.registered.*',
  memberReleased: 'agreements.member.released.v1',
  contributionApproved: 'agreements.contribution.approved.v1',
} as const;

export const TREASURY_SOURCE = '/habitat/treasury';

export interface PeriodClosed {
  periodId: string;
  surplusCents: number;
  retainedBps: number;
}

export interface ContributionApproved {
  contributionId: string;
  memberId: string;
  periodId: string;
  amountCents: number;
}

export interface PatronageAllocated {
  periodId: string;
  totalPatronageCents: number;
  allocations: MemberAllocation[];
}

export interface MemberAmount {
  memberId: string;
  amountCents: number;
}

export const periodStream = (periodId: string): string => `period-${periodId}`;
export const accountStream = (memberId: string): string => `account-${memberId}`;
export const allocationStream = (periodId: string): string => `allocation-${periodId}`;
export const distributionStream = (id: string): string => `distribution-${id}`;
export const distributionId = (periodId: string, memberId: string): string =>
  `d-${periodId}-${memberId}`;
