import { afterEach, expect, it } from 'vitest';
import { openPostgresBackend, type AllocationStepName, type Faults } from '@eventfabric/habitat';
import { embedded, mountHabitat, temporaryDirectory, type Running } from './harness.js';
import { Q } from './scenario.js';
import {
  deleteTopology,
  dropSchema,
  TEST_AMQP_URL,
  TEST_PG_URL,
  uniqueSuffix,
} from './services.js';

const SAGA_TYPES = [
  'treasury.patronage.allocation-requested.v1',
  'treasury.patronage.allocated.v1',
  'treasury.patronage.allocation-failed.v1',
  'treasury.patronage.reversal-requested.v1',
  'treasury.patronage.reversed.v1',
  'treasury.capital.credit-requested.v1',
  'treasury.capital.credited.v1',
  'treasury.capital.credit-failed.v1',
  'treasury.capital.debit-requested.v1',
  'treasury.capital.debited.v1',
  'treasury.distribution.schedule-requested.v1',
  'treasury.distribution.scheduled.v1',
  'treasury.distribution.scheduling-failed.v1',
  'treasury.distribution.cancellation-requested.v1',
  'treasury.distribution.cancelled.v1',
  'treasury.allocation.completed.v1',
  'eventfabric.saga.timed-out.v1',
];

const RUN = `{ allocationRun(periodId: "p1") { status step failedStep failureReason history } }`;
const STATE = `{
  capitalAccounts { memberId balanceCents }
  allocations(periodId: "p1") { memberId allocatedCents status }
  distributions { id amountCents status }
}`;

/** Two members, 3 000.00 and 1 000.00 of patronage, a surplus of 100.00 to allocate, 20 % retained. */
type Start = (
  options: { faults: Faults; stepTimeoutMs: number },
  cleanup: (() => Promise<void> | void)[],
) => Promise<Running>;

export const onSqlite: Start = async (options, cleanup) => {
  const tmp = temporaryDirectory();
  cleanup.push(() => tmp.remove());
  const app = await embedded(tmp.dir, 'habitat.db', options);
  cleanup.push(() => app.stop());
  return app;
};

export const onPostgres: Start = async (options, cleanup) => {
  const suffix = uniqueSuffix();
  const schema = `habitat_saga_${suffix}`;
  cleanup.push(() => dropSchema(schema));
  const backend = await openPostgresBackend({
    connectionString: TEST_PG_URL,
    schema,
    amqpUrl: TEST_AMQP_URL,
  });
  cleanup.push(() => backend.close());
  const app = await mountHabitat(backend, { ...options, servicePrefix: `s${suffix}` });
  cleanup.push(() => deleteTopology(app.habitat.consumers.flatMap((c) => c.groups)));
  cleanup.push(() => app.stop());
  return app;
};

async function closeWith(
  start: Start,
  faults: Faults,
  cleanup: (() => Promise<void> | void)[],
): Promise<Running> {
  const app = await start({ faults, stepTimeoutMs: 400 }, cleanup);
  await app.ok(Q.openPeriod, { id: 'p1', name: 'P1' });
  await app.ok(Q.register, { input: { id: 'm-a', name: 'A', email: 'a@x.y', shareCents: 1_000 } });
  await app.ok(Q.register, { input: { id: 'm-b', name: 'B', email: 'b@x.y', shareCents: 2_000 } });
  await app.habitat.settled();
  await app.ok(Q.sign, { input: { id: 'a-a', memberId: 'm-a', kind: 'labour', title: 'w' } });
  await app.ok(Q.sign, { input: { id: 'a-b', memberId: 'm-b', kind: 'labour', title: 'w' } });
  await app.ok(Q.submit, {
    input: { id: 'c-a', agreementId: 'a-a', periodId: 'p1', amountCents: 300_000 },
  });
  await app.ok(Q.submit, {
    input: { id: 'c-b', agreementId: 'a-b', periodId: 'p1', amountCents: 100_000 },
  });
  await app.ok(Q.approve, { id: 'c-a' });
  await app.ok(Q.approve, { id: 'c-b' });
  await app.habitat.settled();
  await app.ok(Q.close, { id: 'p1', surplus: 10_000, bps: 2_000 });
  return app;
}

/** The saga's commands and replies, in log order. */
async function sagaTypes(app: Running): Promise<string[]> {
  const events = await app.backend.store.readAll({ limit: 10_000, raw: true });
  return events.filter((e) => SAGA_TYPES.includes(e.type)).map((e) => e.type.replace(/\.v1$/, ''));
}

/** Wait for the saga to end; the timeout case needs its durable timeout to fire first. */
async function finished(app: Running): Promise<Record<string, unknown>> {
  for (let i = 0; i < 200; i++) {
    await app.habitat.settled();
    const { allocationRun } = await app.ok<{ allocationRun: Record<string, unknown> | null }>(RUN);
    if (allocationRun !== null && allocationRun.status !== 'running') {
      await app.habitat.settled();
      return allocationRun;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the allocation saga did not finish');
}

const UNTOUCHED = {
  capitalAccounts: [
    { memberId: 'm-a', balanceCents: 1_000 },
    { memberId: 'm-b', balanceCents: 2_000 },
  ],
  distributions: [],
};

/** The compensation cases, on whichever backend `start` opens. */
export function sagaSuite(start: Start): void {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const step of cleanup.reverse()) await step();
    cleanup.length = 0;
  });

  it('completes without faults: allocated, credited, scheduled', async () => {
    const app = await closeWith(start, {}, cleanup);
    expect(await finished(app)).toMatchObject({
      status: 'completed',
      step: 'complete',
      failedStep: null,
    });
    expect(await app.ok(STATE)).toEqual({
      capitalAccounts: [
        { memberId: 'm-a', balanceCents: 1_000 + 1_500 },
        { memberId: 'm-b', balanceCents: 2_000 + 500 },
      ],
      allocations: [
        { memberId: 'm-a', allocatedCents: 7_500, status: 'allocated' },
        { memberId: 'm-b', allocatedCents: 2_500, status: 'allocated' },
      ],
      distributions: [
        { id: 'd-p1-m-a', amountCents: 6_000, status: 'scheduled' },
        { id: 'd-p1-m-b', amountCents: 2_000, status: 'scheduled' },
      ],
    });
    expect(await sagaTypes(app)).toEqual([
      'treasury.patronage.allocation-requested',
      'treasury.patronage.allocated',
      'treasury.capital.credit-requested',
      'treasury.capital.credited',
      'treasury.distribution.schedule-requested',
      'treasury.distribution.scheduled',
      'treasury.allocation.completed',
    ]);
  });

  const failing: [AllocationStepName, string[]][] = [
    ['allocate', []],
    ['credit', ['treasury.patronage.reversal-requested', 'treasury.patronage.reversed']],
    [
      'schedule',
      [
        'treasury.capital.debit-requested',
        'treasury.patronage.reversal-requested',
        'treasury.capital.debited',
        'treasury.patronage.reversed',
      ],
    ],
  ];
  for (const [step, compensations] of failing) {
    it(`a failure reply from "${step}" compensates the steps before it and leaves every balance as it was`, async () => {
      const app = await closeWith(start, { fail: [step] }, cleanup);
      expect(await finished(app)).toMatchObject({
        status: 'compensated',
        step,
        failedStep: step,
        failureReason: 'injected fault',
      });
      const state = await app.ok<{ allocations: { status: string }[] }>(STATE);
      expect(state).toMatchObject(UNTOUCHED);
      expect(state.allocations.map((a) => a.status)).toEqual(
        step === 'allocate' ? [] : ['reversed', 'reversed'],
      );
      const types = await sagaTypes(app);
      const failedAt = types.findIndex((t) => t.endsWith('-failed'));
      // The saga sends its compensations in reverse order of the steps; the replies come
      // from different handlers (groups), so only their set is fixed.
      const after = types.slice(failedAt + 1);
      expect(after.filter((t) => t.endsWith('-requested'))).toEqual(
        compensations.filter((t) => t.endsWith('-requested')),
      );
      expect(after.filter((t) => !t.endsWith('-requested')).sort()).toEqual(
        compensations.filter((t) => !t.endsWith('-requested')).sort(),
      );
      expect(types).not.toContain('treasury.allocation.completed');
    });
  }

  it('a step that never answers times out (a durable timeout) and is compensated with the steps before it', async () => {
    const app = await closeWith(start, { silence: ['schedule'] }, cleanup);
    expect(await finished(app)).toMatchObject({
      status: 'compensated',
      failedStep: 'schedule',
      failureReason: 'timed out',
    });
    expect(await app.ok(STATE)).toMatchObject(UNTOUCHED);
    const types = await sagaTypes(app);
    const timedOut = types.indexOf('eventfabric.saga.timed-out');
    expect(types.slice(0, timedOut)).toEqual([
      'treasury.patronage.allocation-requested',
      'treasury.patronage.allocated',
      'treasury.capital.credit-requested',
      'treasury.capital.credited',
      'treasury.distribution.schedule-requested',
    ]);
    // Sent in reverse order of the steps: the silent step's own compensation first.
    expect(types.slice(timedOut + 1, timedOut + 4)).toEqual([
      'treasury.distribution.cancellation-requested',
      'treasury.capital.debit-requested',
      'treasury.patronage.reversal-requested',
    ]);
  });
}
