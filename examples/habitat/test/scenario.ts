import { expect } from 'vitest';
import type { Backend } from '@eventfabric/habitat';
import type { Running } from './harness.js';

export const Q = {
  register: `mutation ($input: RegisterMemberInput!) { registerMember(input: $input) { id eventIds eventTypes position } }`,
  openPeriod: `mutation ($id: ID!, $name: String!) { openPeriod(periodId: $id, name: $name) { id position } }`,
  sign: `mutation ($input: SignAgreementInput!) { signAgreement(input: $input) { id } }`,
  submit: `mutation ($input: SubmitContributionInput!) { submitContribution(input: $input) { id } }`,
  approve: `mutation ($id: ID!) { approveContribution(contributionId: $id) { id eventTypes position } }`,
  reject: `mutation ($id: ID!, $reason: String!) { rejectContribution(contributionId: $id, reason: $reason) { id } }`,
  close: `mutation ($id: ID!, $surplus: Cents!, $bps: Int) { closePeriod(periodId: $id, surplusCents: $surplus, retainedBps: $bps) { id eventIds } }`,
  payAll: `mutation ($id: ID!) { payDistributions(periodId: $id) { id eventTypes } }`,
  withdraw: `mutation ($id: ID!, $reason: String!) { withdrawMember(memberId: $id, reason: $reason) { id } }`,
  balances: `{
    members { id status capitalRedeemedCents }
    capitalAccounts { memberId balanceCents redeemedCents status }
    distributions { id memberId amountCents status }
    allocations(periodId: "2026-q1") { memberId patronageCents allocatedCents retainedCents cashCents status }
    patronage(periodId: "2026-q1") { memberId patronageCents contributions }
    contributions { id status amountCents }
    agreements { id status }
    periods { id status surplusCents lateCents }
  }`,
};

/**
 * The cooperative of the end-to-end tests: three members, one period with four approved
 * contributions and one rejected, a surplus of 1 000.01 allocated with 25 % retained,
 * distributions paid, then one member withdraws during the next period.
 */
export async function runCooperative(app: Running): Promise<void> {
  const { ok, habitat } = app;
  await ok(Q.openPeriod, { id: '2026-q1', name: 'First quarter 2026' });
  for (const [id, name, share] of [
    ['m-ada', 'Ada', 10_000],
    ['m-bo', 'Bo', 10_000],
    ['m-cy', 'Cy', 5_000],
  ] as const) {
    await ok(Q.register, {
      input: { id, name, email: `${name.toLowerCase()}@habitat.coop`, shareCents: share },
    });
  }
  await habitat.settled();
  for (const [id, memberId, kind] of [
    ['a-ada', 'm-ada', 'labour'],
    ['a-bo', 'm-bo', 'supply'],
    ['a-cy', 'm-cy', 'labour'],
  ] as const) {
    await ok(Q.sign, { input: { id, memberId, kind, title: `${kind} agreement` } });
  }
  const contributions = [
    ['c-1', 'a-ada', 120_000],
    ['c-2', 'a-ada', 30_000],
    ['c-3', 'a-bo', 50_000],
    ['c-4', 'a-cy', 100_000],
    ['c-5', 'a-cy', 7_000],
  ] as const;
  for (const [id, agreementId, amountCents] of contributions) {
    await ok(Q.submit, { input: { id, agreementId, periodId: '2026-q1', amountCents, hours: 10 } });
  }
  for (const id of ['c-1', 'c-2', 'c-3', 'c-4']) await ok(Q.approve, { id });
  await ok(Q.reject, { id: 'c-5', reason: 'duplicate invoice' });
  await habitat.settled();
  const { patronage } = await ok<{ patronage: unknown[] }>(
    `{ patronage(periodId: "2026-q1") { memberId patronageCents contributions } }`,
  );
  expect(patronage).toEqual([
    { memberId: 'm-ada', patronageCents: 150_000, contributions: 2 },
    { memberId: 'm-bo', patronageCents: 50_000, contributions: 1 },
    { memberId: 'm-cy', patronageCents: 100_000, contributions: 1 },
  ]);

  await ok(Q.close, { id: '2026-q1', surplus: 100_001, bps: 2500 });
  await habitat.settled();
  const { distributions } = await ok<{ distributions: unknown[] }>(
    `{ distributions { id memberId amountCents status } }`,
  );
  expect(distributions).toEqual([
    { id: 'd-2026-q1-m-ada', memberId: 'm-ada', amountCents: 37_500, status: 'scheduled' },
    { id: 'd-2026-q1-m-bo', memberId: 'm-bo', amountCents: 12_501, status: 'scheduled' },
    { id: 'd-2026-q1-m-cy', memberId: 'm-cy', amountCents: 25_001, status: 'scheduled' },
  ]);
  const paid = await ok<{ payDistributions: { eventTypes: string[] } }>(Q.payAll, {
    id: '2026-q1',
  });
  expect(paid.payDistributions.eventTypes).toEqual(Array(3).fill('treasury.distribution.paid.v1'));

  // Next period: Cy has a pending contribution when withdrawing.
  await ok(Q.openPeriod, { id: '2026-q2', name: 'Second quarter 2026' });
  await habitat.settled();
  await ok(Q.submit, {
    input: { id: 'c-6', agreementId: 'a-cy', periodId: '2026-q2', amountCents: 4_200 },
  });
  await ok(Q.withdraw, { id: 'm-cy', reason: 'moving away' });
  await habitat.settled();
}

/** The balances every backend must end with, to the cent. */
export const EXPECTED_BALANCES = {
  members: [
    { id: 'm-ada', status: 'active', capitalRedeemedCents: null },
    { id: 'm-bo', status: 'active', capitalRedeemedCents: null },
    { id: 'm-cy', status: 'withdrawn', capitalRedeemedCents: 13_333 },
  ],
  capitalAccounts: [
    { memberId: 'm-ada', balanceCents: 22_500, redeemedCents: 0, status: 'open' },
    { memberId: 'm-bo', balanceCents: 14_166, redeemedCents: 0, status: 'open' },
    { memberId: 'm-cy', balanceCents: 0, redeemedCents: 13_333, status: 'closed' },
  ],
  distributions: [
    { id: 'd-2026-q1-m-ada', memberId: 'm-ada', amountCents: 37_500, status: 'paid' },
    { id: 'd-2026-q1-m-bo', memberId: 'm-bo', amountCents: 12_501, status: 'paid' },
    { id: 'd-2026-q1-m-cy', memberId: 'm-cy', amountCents: 25_001, status: 'paid' },
  ],
  allocations: [
    {
      memberId: 'm-ada',
      patronageCents: 150_000,
      allocatedCents: 50_000,
      retainedCents: 12_500,
      cashCents: 37_500,
      status: 'allocated',
    },
    {
      memberId: 'm-bo',
      patronageCents: 50_000,
      allocatedCents: 16_667,
      retainedCents: 4_166,
      cashCents: 12_501,
      status: 'allocated',
    },
    {
      memberId: 'm-cy',
      patronageCents: 100_000,
      allocatedCents: 33_334,
      retainedCents: 8_333,
      cashCents: 25_001,
      status: 'allocated',
    },
  ],
  patronage: [
    { memberId: 'm-ada', patronageCents: 150_000, contributions: 2 },
    { memberId: 'm-bo', patronageCents: 50_000, contributions: 1 },
    { memberId: 'm-cy', patronageCents: 100_000, contributions: 1 },
  ],
  contributions: [
    { id: 'c-1', status: 'approved', amountCents: 120_000 },
    { id: 'c-2', status: 'approved', amountCents: 30_000 },
    { id: 'c-3', status: 'approved', amountCents: 50_000 },
    { id: 'c-4', status: 'approved', amountCents: 100_000 },
    { id: 'c-5', status: 'rejected', amountCents: 7_000 },
    { id: 'c-6', status: 'cancelled', amountCents: 4_200 },
  ],
  agreements: [
    { id: 'a-ada', status: 'active' },
    { id: 'a-bo', status: 'active' },
    { id: 'a-cy', status: 'terminated' },
  ],
  periods: [
    { id: '2026-q1', status: 'closed', surplusCents: 100_001, lateCents: 0 },
    { id: '2026-q2', status: 'open', surplusCents: null, lateCents: 0 },
  ],
};

/** Copy every stored event, as stored, into another backend's (empty) store. */
export async function copyLog(from: Backend, to: Backend): Promise<number> {
  let after: string | undefined;
  let copied = 0;
  for (;;) {
    const page = await from.store.readAll({ after, limit: 500, raw: true });
    if (page.length === 0) return copied;
    await to.store.appendMany(page.map(({ position: _p, streamversion: _v, ...event }) => event));
    copied += page.length;
    after = page[page.length - 1]!.position;
  }
}
