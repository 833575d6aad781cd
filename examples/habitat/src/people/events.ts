/** The event types People emits and the data they carry. */
export const PeopleEvents = {
  registered: 'people.member.registered.v2',
  emailChanged: 'people.member.email-changed.v1',
  withdrawalRequested: 'people.withdrawal.requested.v1',
  withdrawn: 'people.member.withdrawn.v1',
} as const;

export const PEOPLE_SOURCE = '/habitat/people';

export interface MemberRegistered {
  memberId: string;
  name: string;
  email: string;
  shareCents: number;
  joinedOn: string;
}

export interface WithdrawalRequested {
  memberId: string;
  reason: string;
}

export const memberStream = (memberId: string): string => `member-${memberId}`;
