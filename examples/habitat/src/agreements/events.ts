/** The event types Agreements emits and the data they carry. */
export const AgreementsEvents = {
  signed: 'agreements.agreement.signed.v1',
  terminated: 'agreements.agreement.terminated.v1',
  submitted: 'agreements.contribution.submitted.v2',
  approved: 'agreements.contribution.approved.v1',
  rejected: 'agreements.contribution.rejected.v1',
  cancelled: 'agreements.contribution.cancelled.v1',
  released: 'agreements.member.released.v1',
} as const;

/** What Agreements hears from the other contexts (its own copies of their names). */
export const AgreementsInputs = {
  memberRegistered: 'people.member.registered.*',
  withdrawalRequested: 'people.withdrawal.requested.v1',
  periodOpened: 'treasury.period.opened.v1',
  periodClosed: 'treasury.period.closed.v1',
} as const;

export const AGREEMENTS_SOURCE = '/habitat/agreements';

export interface AgreementSigned {
  agreementId: string;
  memberId: string;
  kind: 'labour' | 'supply' | 'purchase';
  title: string;
}

export interface ContributionSubmitted {
  contributionId: string;
  agreementId: string;
  memberId: string;
  periodId: string;
  amountCents: number;
  note: string;
  hours: number;
}

export interface ContributionApproved {
  contributionId: string;
  agreementId: string;
  memberId: string;
  periodId: string;
  amountCents: number;
}

export const agreementStream = (id: string): string => `agreement-${id}`;
export const contributionStream = (id: string): string => `contribution-${id}`;
export const releaseStream = (memberId: string): string => `release-${memberId}`;
