import { afterEach, describe, expect, it } from 'vitest';
import {
  createEvent,
  defineSaga,
  NonRetryableError,
  SAGA_TIMEOUT_TYPE,
  startSagas,
  type CloudEvent,
  type EventStore,
  type SagaDaemon,
  type SagaStep,
  type SagaStorage,
  type StoredEvent,
} from '@eventfabric/core';

/** A store and the saga storage in its database. */
export interface SagaFixture {
  store: EventStore;
  storage: SagaStorage;
  close(): Promise<void>;
}

/** Options for {@link describeSagaConformance}. */
export interface SagaConformanceOptions {
  /** A fresh, empty store and its saga storage per call. */
  create: () => Promise<SagaFixture>;
  /** Another store and saga storage on the same database as `fixture` (a second process). */
  reopen: (fixture: SagaFixture) => Promise<SagaFixture>;
}

interface Order {
  orderId: string;
  amount: number;
  reservation?: string;
}

const STEPS = ['reserve', 'charge', 'ship'] as const;
const COMMAND = {
  reserve: 'shop.stock.reserve.v1',
  charge: 'shop.payment.charge.v1',
  ship: 'shop.shipment.request.v1',
} as const;
const REPLY_OK = {
  reserve: 'shop.stock.reserved.v1',
  charge: 'shop.payment.charged.v1',
  ship: 'shop.shipment.dispatched.v1',
} as const;
const REPLY_FAIL = {
  reserve: 'shop.stock.rejected.v1',
  charge: 'shop.payment.declined.v1',
  ship: 'shop.shipment.failed.v1',
} as const;
const UNDO = {
  reserve: 'shop.stock.released.v1',
  charge: 'shop.payment.refunded.v1',
  ship: 'shop.shipment.cancelled.v1',
} as const;
const CONFIRMED = 'shop.order.confirmed.v1';
const COMPLETED = 'shop.checkout.completed.v1';
const FAILED = 'shop.checkout.failed.v1';

type StepName = (typeof STEPS)[number];

/** The checkout saga the suite drives; `tweak` changes one step. */
function checkout(tweak: Partial<Record<StepName, Partial<SagaStep<Order>>>> = {}) {
  const step = (name: StepName): SagaStep<Order> => ({
    name,
    run: ({ state, send }) =>
      send({ type: COMMAND[name], stream: `${name}-${state.orderId}`, data: { ...state } }),
    completedBy: [REPLY_OK[name]],
    failedBy: [REPLY_FAIL[name]],
    compensate: ({ state, send }) =>
      send({
        type: UNDO[name],
        stream: `${name}-${state.orderId}`,
        data: { orderId: state.orderId },
      }),
    ...tweak[name],
  });
  return defineSaga<Order>({
    name: 'checkout',
    startedBy: ['shop.order.placed.v1'],
    start: (event) => ({ ...(event.data as Order) }),
    steps: [
      step('reserve'),
      {
        ...step('charge'),
        onCompleted: (event, context) => {
          context.state.reservation = (event.data as { ref: string }).ref;
        },
      },
      step('ship'),
      {
        name: 'confirm',
        run: ({ state, send }) => send({ type: CONFIRMED, data: { orderId: state.orderId } }),
      },
    ],
    on: {
      'shop.order.cancelled.v1': (_event, context) => context.fail('cancelled by the customer'),
    },
    completed: ({ state, send }) => send({ type: COMPLETED, data: { orderId: state.orderId } }),
    compensated: ({ state, send }, failure) =>
      send({ type: FAILED, data: { orderId: state.orderId, ...failure } }),
  });
}

/** The suite every {@link SagaStorage} passes, with the saga daemon. */
export function describeSagaConformance(name: string, options: SagaConformanceOptions): void {
  describe(`saga conformance: ${name}`, () => {
    const open: SagaFixture[] = [];
    const daemons: SagaDaemon[] = [];
    afterEach(async () => {
      await Promise.all(daemons.splice(0).map((d) => d.stop()));
      for (const fixture of open.splice(0).reverse()) await fixture.close();
    });

    async function fixture(): Promise<SagaFixture> {
      const f = await options.create();
      open.push(f);
      return f;
    }

    async function run(f: SagaFixture, saga = checkout()): Promise<SagaDaemon> {
      const daemon = await startSagas({
        store: f.store,
        storage: f.storage,
        sagas: [saga],
        timeoutPollMs: 50,
      });
      daemons.push(daemon);
      return daemon;
    }

    async function settle(f: SagaFixture, daemon: SagaDaemon): Promise<void> {
      await daemon.caughtUp(await f.store.headPosition());
    }

    async function place(f: SagaFixture, orderId: string): Promise<CloudEvent> {
      const placed = createEvent({
        type: 'shop.order.placed.v1',
        source: '/shop',
        subject: `order-${orderId}`,
        data: { orderId, amount: 1250 },
      });
      await f.store.appendToStream(placed.subject!, [placed]);
      return placed;
    }

    /** The flow's events after the start, as `type` strings, in log order. */
    async function flow(f: SagaFixture, placed: CloudEvent): Promise<string[]> {
      const events = await f.store.readByCorrelation(placed.correlationid!);
      return events.filter((e) => e.id !== placed.id).map((e) => e.type);
    }

    async function command(f: SagaFixture, placed: CloudEvent, type: string): Promise<StoredEvent> {
      const events = await f.store.readByCorrelation(placed.correlationid!);
      const found = events.filter((e) => e.type === type);
      expect(found, `one ${type}`).toHaveLength(1);
      return found[0]!;
    }

    /** Answer the pending command of step `name` with `type`, as its handler would. */
    async function reply(
      f: SagaFixture,
      daemon: SagaDaemon,
      placed: CloudEvent,
      step: StepName,
      ok: boolean,
    ): Promise<void> {
      await settle(f, daemon);
      const cause = await command(f, placed, COMMAND[step]);
      const answer = createEvent({
        type: ok ? REPLY_OK[step] : REPLY_FAIL[step],
        source: '/shop',
        subject: cause.subject!,
        data: ok ? { ref: `${step}-ref` } : { reason: `${step} refused` },
        parent: cause,
      });
      await f.store.appendToStream(answer.subject!, [answer]);
      await settle(f, daemon);
    }

    it('runs every step in order when each succeeds, and completes', async () => {
      const f = await fixture();
      const daemon = await run(f);
      const placed = await place(f, 'o1');
      for (const step of STEPS) await reply(f, daemon, placed, step, true);
      expect(await flow(f, placed)).toEqual([
        COMMAND.reserve,
        REPLY_OK.reserve,
        COMMAND.charge,
        REPLY_OK.charge,
        COMMAND.ship,
        REPLY_OK.ship,
        CONFIRMED,
        COMPLETED,
      ]);
      const instance = await f.storage.instance('checkout', placed.correlationid!);
      expect(instance?.status).toBe('completed');
      expect(instance?.state).toEqual({ orderId: 'o1', amount: 1250, reservation: 'charge-ref' });
      expect(instance?.failure).toBeUndefined();
      expect(instance?.history.map((h) => [h.what, h.step ?? null])).toEqual([
        ['started', null],
        ['step-started', 'reserve'],
        ['step-completed', 'reserve'],
        ['step-started', 'charge'],
        ['step-completed', 'charge'],
        ['step-started', 'ship'],
        ['step-completed', 'ship'],
        ['step-started', 'confirm'],
        ['step-completed', 'confirm'],
        ['completed', null],
      ]);
      // Commands carry the instance as correlation and the handled event as cause.
      const charge = await command(f, placed, COMMAND.charge);
      expect(charge.correlationid).toBe(placed.correlationid);
      expect(charge.subject).toBe('charge-o1');
    });

    it('fails each step in turn and compensates exactly the completed steps, in reverse order', async () => {
      const f = await fixture();
      const daemon = await run(f);
      for (let failing = 0; failing < STEPS.length; failing++) {
        const placed = await place(f, `f${failing}`);
        for (let i = 0; i < failing; i++) await reply(f, daemon, placed, STEPS[i]!, true);
        await reply(f, daemon, placed, STEPS[failing]!, false);
        const completed = STEPS.slice(0, failing);
        const compensations = (await flow(f, placed)).filter((t) =>
          Object.values(UNDO).includes(t as never),
        );
        expect(compensations, `step ${STEPS[failing]} failing`).toEqual(
          [...completed].reverse().map((s) => UNDO[s]),
        );
        const instance = await f.storage.instance('checkout', placed.correlationid!);
        expect(instance?.status).toBe('compensated');
        expect(instance?.failure).toMatchObject({
          step: STEPS[failing],
          reason: `${STEPS[failing]} refused`,
        });
        expect(await flow(f, placed)).not.toContain(CONFIRMED);
        const events = await f.store.readByCorrelation(placed.correlationid!);
        expect(events[events.length - 1]).toMatchObject({
          type: FAILED,
          data: {
            orderId: `f${failing}`,
            step: STEPS[failing],
            reason: `${STEPS[failing]} refused`,
          },
        });
      }
    });

    it('runs a step again while it has retries, then compensates', async () => {
      const f = await fixture();
      const daemon = await run(f, checkout({ charge: { retries: 1 } }));
      const placed = await place(f, 'r1');
      await reply(f, daemon, placed, 'reserve', true);
      await reply(f, daemon, placed, 'charge', false);
      // The retry sent a second charge command.
      const charges = (await flow(f, placed)).filter((t) => t === COMMAND.charge);
      expect(charges).toHaveLength(2);
      const events = await f.store.readByCorrelation(placed.correlationid!);
      const second = events.filter((e) => e.type === COMMAND.charge)[1]!;
      const declined = createEvent({
        type: REPLY_FAIL.charge,
        source: '/shop',
        subject: second.subject!,
        data: { reason: 'declined again' },
        parent: second,
      });
      await f.store.appendToStream(declined.subject!, [declined]);
      await settle(f, daemon);
      expect((await flow(f, placed)).slice(-2)).toEqual([UNDO.reserve, FAILED]);
      const instance = await f.storage.instance('checkout', placed.correlationid!);
      expect(instance).toMatchObject({ status: 'compensated', run: 2 });
      expect(instance?.failure?.reason).toBe('declined again');
    });

    it('fails a step whose run throws NonRetryableError, sending nothing for it', async () => {
      const f = await fixture();
      const daemon = await run(
        f,
        checkout({
          charge: {
            run: ({ send, state }) => {
              send({ type: COMMAND.charge, stream: `charge-${state.orderId}`, data: state });
              throw new NonRetryableError('card on file expired');
            },
          },
        }),
      );
      const placed = await place(f, 'n1');
      await reply(f, daemon, placed, 'reserve', true);
      expect(await flow(f, placed)).toEqual([
        COMMAND.reserve,
        REPLY_OK.reserve,
        UNDO.reserve,
        FAILED,
      ]);
      const instance = await f.storage.instance('checkout', placed.correlationid!);
      expect(instance?.failure).toMatchObject({ step: 'charge', reason: 'card on file expired' });
    });

    it('compensates the in-flight step and the completed ones when an `on` reaction fails the saga', async () => {
      const f = await fixture();
      const daemon = await run(f);
      const placed = await place(f, 'c1');
      await reply(f, daemon, placed, 'reserve', true);
      const cancelled = createEvent({
        type: 'shop.order.cancelled.v1',
        source: '/shop',
        subject: `order-c1`,
        data: { orderId: 'c1' },
        parent: placed,
      });
      await f.store.appendToStream(cancelled.subject!, [cancelled]);
      await settle(f, daemon);
      expect((await flow(f, placed)).slice(-3)).toEqual([UNDO.charge, UNDO.reserve, FAILED]);
      const instance = await f.storage.instance('checkout', placed.correlationid!);
      expect(instance?.failure).toMatchObject({
        step: 'charge',
        reason: 'cancelled by the customer',
      });
      // A reply arriving after the end changes nothing.
      await reply(f, daemon, placed, 'charge', true);
      expect(await f.storage.instance('checkout', placed.correlationid!)).toEqual(instance);
    });

    it('ignores a second start of the same instance', async () => {
      const f = await fixture();
      const daemon = await run(f);
      const placed = await place(f, 's1');
      const again = createEvent({
        type: 'shop.order.placed.v1',
        source: '/shop',
        subject: 'order-s1',
        data: { orderId: 's1', amount: 99 },
        parent: placed,
      });
      await f.store.appendToStream(again.subject!, [again]);
      await settle(f, daemon);
      const sent = (await flow(f, placed)).filter((t) => t !== 'shop.order.placed.v1');
      expect(sent).toEqual([COMMAND.reserve]);
      const instance = await f.storage.instance('checkout', placed.correlationid!);
      expect(instance?.state).toEqual({ orderId: 's1', amount: 1250 });
    });

    it('fires a timeout, compensating the timed-out step and those before it', async () => {
      const f = await fixture();
      const daemon = await run(f, checkout({ charge: { timeoutMs: 300 } }));
      const placed = await place(f, 't1');
      await reply(f, daemon, placed, 'reserve', true);
      await waitFor(async () => (await flow(f, placed)).includes(FAILED), 'the timeout');
      await settle(f, daemon);
      expect(await flow(f, placed)).toEqual([
        COMMAND.reserve,
        REPLY_OK.reserve,
        COMMAND.charge,
        SAGA_TIMEOUT_TYPE,
        UNDO.charge,
        UNDO.reserve,
        FAILED,
      ]);
      const instance = await f.storage.instance('checkout', placed.correlationid!);
      expect(instance?.failure).toMatchObject({ step: 'charge', reason: 'timed out' });
    });

    it('cancels the timeout of a step answered in time', async () => {
      const f = await fixture();
      // Long enough that a slow machine still answers in time: the proof is the removed row.
      const daemon = await run(f, checkout({ reserve: { timeoutMs: 5000 } }));
      const placed = await place(f, 'a1');
      await settle(f, daemon);
      expect((await f.storage.scheduled.list(10)).map((m) => m.event.type)).toEqual([
        SAGA_TIMEOUT_TYPE,
      ]);
      await reply(f, daemon, placed, 'reserve', true);
      expect(await f.storage.scheduled.list(10)).toEqual([]);
      expect(await flow(f, placed)).toEqual([COMMAND.reserve, REPLY_OK.reserve, COMMAND.charge]);
    });

    it('fires a timeout that fell due while no daemon ran', async () => {
      const f = await fixture();
      // Long enough that the first daemon stops before it falls due, even on a slow machine.
      const first = await run(f, checkout({ charge: { timeoutMs: 2000 } }));
      const placed = await place(f, 'd1');
      await reply(f, first, placed, 'reserve', true);
      await first.stop();
      expect((await f.storage.scheduled.list(10)).map((m) => m.event.type)).toEqual([
        SAGA_TIMEOUT_TYPE,
      ]);
      const due = (await f.storage.scheduled.list(10))[0]!.dueAt;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now()) + 100));
      const g = await options.reopen(f);
      open.push(g);
      await run(g, checkout({ charge: { timeoutMs: 2000 } }));
      await waitFor(async () => (await flow(g, placed)).includes(FAILED), 'the timeout');
      expect(await flow(g, placed)).toEqual([
        COMMAND.reserve,
        REPLY_OK.reserve,
        COMMAND.charge,
        SAGA_TIMEOUT_TYPE,
        UNDO.charge,
        UNDO.reserve,
        FAILED,
      ]);
    });

    it('sends each command once across a restart and with two daemons on one storage', async () => {
      const f = await fixture();
      const g = await options.reopen(f);
      open.push(g);
      const one = await run(f);
      const two = await run(g);
      const orders = await Promise.all(Array.from({ length: 20 }, (_, i) => place(f, `m${i}`)));
      await settle(f, one);
      await settle(g, two);
      await one.stop();
      for (const placed of orders) await reply(g, two, placed, 'reserve', true);
      const three = await run(f);
      for (const placed of orders) await reply(f, three, placed, 'charge', true);
      await settle(g, two);
      for (const placed of orders) {
        expect(await flow(f, placed)).toEqual([
          COMMAND.reserve,
          REPLY_OK.reserve,
          COMMAND.charge,
          REPLY_OK.charge,
          COMMAND.ship,
        ]);
      }
      const running = await f.storage.instances({ saga: 'checkout', status: 'running' });
      expect(running).toHaveLength(20);
      expect(await f.storage.instances({ status: 'completed' })).toEqual([]);
    });
  });
}

async function waitFor(condition: () => Promise<boolean>, what: string, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
