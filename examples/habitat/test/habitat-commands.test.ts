import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEvent } from '@eventfabric/core';
import { embedded, temporaryDirectory, type Running } from './harness.js';
import { Q } from './scenario.js';

describe('Habitat GraphQL mutations', () => {
  const tmp = temporaryDirectory();
  let app: Running;
  beforeAll(async () => {
    app = await embedded(tmp.dir);
    await app.ok(Q.openPeriod, { id: '2026-q1', name: 'Q1' });
    await app.ok(Q.register, {
      input: { id: 'm-ada', name: 'Ada', email: 'ada@habitat.coop', shareCents: 100 },
    });
    await app.habitat.settled();
    await app.ok(Q.sign, {
      input: { id: 'a-ada', memberId: 'm-ada', kind: 'labour', title: 'work' },
    });
    await app.ok(Q.submit, {
      input: { id: 'c-1', agreementId: 'a-ada', periodId: '2026-q1', amountCents: 500 },
    });
    await app.habitat.settled();
  });
  afterAll(async () => {
    await app.stop();
    tmp.remove();
  });

  /** Given bad input, the mutation answers a coded error and the log and tables do not move. */
  async function rejects(
    query: string,
    variables: Record<string, unknown>,
    code: string,
    message: RegExp,
  ): Promise<void> {
    const head = await app.backend.store.headPosition();
    const before = await app.ok(Q.balances);
    const result = await app.gql(query, variables);
    expect(result.errors?.[0]?.extensions?.code).toBe(code);
    expect(result.errors?.[0]?.message).toMatch(message);
    expect(await app.backend.store.headPosition()).toBe(head);
    await app.habitat.settled();
    expect(await app.ok(Q.balances)).toEqual(before);
  }

  it('rejects malformed input with INVALID_ARGUMENT and changes nothing', async () => {
    await rejects(
      Q.register,
      { input: { id: 'ada', name: 'Ada', email: 'x@y', shareCents: 1 } },
      'INVALID_ARGUMENT',
      /id must be "m-"/,
    );
    await rejects(
      Q.register,
      { input: { name: 'Bo', email: 'not-an-email', shareCents: 1 } },
      'INVALID_ARGUMENT',
      /email must be an e-mail address/,
    );
    await rejects(
      Q.register,
      { input: { name: ' ', email: 'bo@x.y', shareCents: 1 } },
      'INVALID_ARGUMENT',
      /name must be non-empty/,
    );
    await rejects(
      Q.register,
      { input: { name: 'Bo', email: 'bo@x.y', shareCents: -5 } },
      'INVALID_ARGUMENT',
      /shareCents must be a whole number of cents/,
    );
    await rejects(
      Q.submit,
      { input: { agreementId: 'a-ada', periodId: '2026-q1', amountCents: 0 } },
      'INVALID_ARGUMENT',
      /amountCents must be a whole number of cents from 1/,
    );
    await rejects(
      Q.close,
      { id: '2026-q1', surplus: 100, bps: 10_001 },
      'INVALID_ARGUMENT',
      /retainedBps/,
    );
    await rejects(
      Q.sign,
      { input: { memberId: 'm-ada', kind: 'gardening', title: 'x' } },
      'INVALID_ARGUMENT',
      /kind must be one of labour, supply, purchase/,
    );
  });

  it('rejects a cents value that is not a whole number before any resolver runs', async () => {
    const head = await app.backend.store.headPosition();
    const result = await app.gql(Q.register, {
      input: { name: 'Bo', email: 'bo@x.y', shareCents: 1.5 },
    });
    expect(result.errors?.[0]?.message).toMatch(/Cents must be a whole number of cents/);
    expect(await app.backend.store.headPosition()).toBe(head);
  });

  it('rejects commands that do not fit the state with NOT_FOUND or HABITAT_CONFLICT', async () => {
    await rejects(
      Q.register,
      { input: { id: 'm-ada', name: 'Ada 2', email: 'other@habitat.coop', shareCents: 1 } },
      'HABITAT_CONFLICT',
      /member with this id is already registered/,
    );
    await rejects(
      Q.register,
      { input: { name: 'Ada 2', email: 'ada@habitat.coop', shareCents: 1 } },
      'HABITAT_CONFLICT',
      /member with this email/,
    );
    await rejects(Q.approve, { id: 'c-404' }, 'NOT_FOUND', /no contribution c-404/);
    await rejects(
      Q.sign,
      { input: { memberId: 'm-nobody', kind: 'labour', title: 'x' } },
      'HABITAT_CONFLICT',
      /not an active member/,
    );
    await rejects(
      Q.submit,
      { input: { agreementId: 'a-ada', periodId: '2099-q9', amountCents: 5 } },
      'HABITAT_CONFLICT',
      /period 2099-q9 is not open/,
    );
    await rejects(Q.close, { id: '2099-q9', surplus: 100 }, 'NOT_FOUND', /no period 2099-q9/);
    await rejects(Q.payAll, { id: '2026-q1' }, 'HABITAT_CONFLICT', /no scheduled distribution/);
  });

  it('approves a contribution once: a second approval is a conflict and emits nothing', async () => {
    const first = await app.ok<{ approveContribution: { eventTypes: string[] } }>(Q.approve, {
      id: 'c-1',
    });
    expect(first.approveContribution.eventTypes).toEqual(['agreements.contribution.approved.v1']);
    await app.habitat.settled();
    await rejects(Q.approve, { id: 'c-1' }, 'HABITAT_CONFLICT', /contribution c-1 is approved/);
  });

  it('commits concurrent mutations together, yet rolls back a failing one alone (group commit)', async () => {
    const head = Number(await app.backend.store.headPosition());
    const results = await Promise.all(
      [
        { id: 'm-g1', email: 'g1@habitat.coop' },
        { id: 'm-g2', email: 'ada@habitat.coop' },
        { id: 'm-g3', email: 'g3@habitat.coop' },
      ].map(({ id, email }) =>
        app.gql(Q.register, { input: { id, name: id, email, shareCents: 7 } }),
      ),
    );
    expect(results.map((r) => r.errors?.[0]?.extensions?.code ?? 'ok')).toEqual([
      'ok',
      'HABITAT_CONFLICT',
      'ok',
    ]);
    const appended = await app.backend.store.readAll({ after: String(head), raw: true });
    expect(appended.map((e) => e.subject)).toEqual(['member-m-g1', 'member-m-g3']);
    await app.habitat.settled();
    const { members } = await app.ok<{ members: { id: string }[] }>(`{ members { id } }`);
    expect(members.map((m) => m.id)).toEqual(['m-ada', 'm-g1', 'm-g3']);
  });

  it('counts an approval that reaches Treasury after its period closed as late, not as patronage', async () => {
    await app.ok(Q.openPeriod, { id: 'late', name: 'Late' });
    await app.ok(Q.close, { id: 'late', surplus: 0 });
    await app.backend.store.appendToStream('contribution-c-late', [
      createEvent({
        type: 'agreements.contribution.approved.v1',
        source: '/habitat/agreements',
        subject: 'contribution-c-late',
        data: {
          contributionId: 'c-late',
          agreementId: 'a-ada',
          memberId: 'm-ada',
          periodId: 'late',
          amountCents: 999,
        },
      }),
    ]);
    await app.habitat.settled();
    const data = await app.ok<{
      periods: { id: string; lateCents: number }[];
      patronage: unknown[];
    }>(`{ periods { id lateCents } patronage(periodId: "late") { memberId } }`);
    expect(data.periods.find((p) => p.id === 'late')?.lateCents).toBe(999);
    expect(data.patronage).toEqual([]);
  });

  it('tells how far the read models have applied the log: the head once settled', async () => {
    const head = await app.habitat.settled();
    expect(await app.ok(`{ readModelsPosition }`)).toEqual({ readModelsPosition: head });
  });

  it('upcasts v1 events: a member registered before shares existed holds none', async () => {
    await app.backend.store.appendToStream('member-m-old', [
      createEvent({
        type: 'people.member.registered.v1',
        source: '/habitat/people',
        subject: 'member-m-old',
        time: '2024-05-06T07:00:00Z',
        data: { memberId: 'm-old', name: 'Old Timer', email: 'old@habitat.coop' },
      }),
    ]);
    await app.habitat.settled();
    const data = await app.ok(
      `{ member(id: "m-old") { id shareCents joinedOn status } capitalAccount(memberId: "m-old") { balanceCents status } }`,
    );
    expect(data).toEqual({
      member: { id: 'm-old', shareCents: 0, joinedOn: '2024-05-06', status: 'active' },
      capitalAccount: { balanceCents: 0, status: 'open' },
    });
    const [raw] = await app.backend.store.readStream('member-m-old', { raw: true });
    expect(raw?.type).toBe('people.member.registered.v1');
  });

  it('upcasts v1 contributions: the description becomes the note, with no hours', async () => {
    await app.backend.store.appendToStream('contribution-c-v1', [
      createEvent({
        type: 'agreements.contribution.submitted.v1',
        source: '/habitat/agreements',
        subject: 'contribution-c-v1',
        data: {
          contributionId: 'c-v1',
          agreementId: 'a-ada',
          memberId: 'm-ada',
          periodId: '2026-q1',
          amountCents: 321,
          description: 'old format',
        },
      }),
    ]);
    await app.habitat.settled();
    const { contributions } = await app.ok<{ contributions: unknown[] }>(
      `{ contributions(memberId: "m-ada", status: "submitted") { id note hours amountCents } }`,
    );
    expect(contributions).toEqual([{ id: 'c-v1', note: 'old format', hours: 0, amountCents: 321 }]);
  });
});
