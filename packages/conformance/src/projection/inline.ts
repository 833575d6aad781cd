import { afterEach, describe, expect, it } from 'vitest';
import {
  createEvent,
  defineProjection,
  isEventFabricError,
  startProjections,
  type CompiledProjection,
  type EventStore,
  type InlineProjector,
  type ProjectionDaemon,
  type ProjectionStorage,
} from '@eventfabric/core';

/** One database's store, projection storage and SQL dialect. */
export interface InlineFixture<Tx> {
  store: EventStore;
  storage: ProjectionStorage<Tx>;
  projector(projections: readonly CompiledProjection<Tx>[]): InlineProjector;
  /** Run a statement in `tx`; parameters are `$1`, `$2`, … */
  exec(tx: Tx, sql: string, params: readonly unknown[]): Promise<void>;
  /** Rows of a query outside any transaction (numbers as numbers). */
  query(sql: string): Promise<Record<string, unknown>[]>;
  /** The qualified name of a store table (`projection_inline`). */
  storeTable(name: string): string;
  close(): Promise<void>;
}

/** Options for {@link describeInlineProjectionConformance}. */
export interface InlineProjectionConformanceOptions<Tx> {
  /** A fresh, empty store per call. */
  create: () => Promise<InlineFixture<Tx>>;
}

const APPROVED = 'treasury.contribution.approved.v1';

function approved(member: string, cents: number, id?: string) {
  return createEvent({
    type: APPROVED,
    source: '/test',
    subject: `member-${member}`,
    data: { member, cents },
    ...(id === undefined ? {} : { id }),
  });
}

/** The suite inline projections pass on every store. */
export function describeInlineProjectionConformance<Tx>(
  name: string,
  options: InlineProjectionConformanceOptions<Tx>,
): void {
  describe(`inline projection conformance: ${name}`, () => {
    const daemons: ProjectionDaemon[] = [];
    const fixtures: InlineFixture<Tx>[] = [];
    afterEach(async () => {
      await Promise.all(daemons.splice(0).map((d) => d.stop()));
      await Promise.all(fixtures.splice(0).map((f) => f.close()));
    });

    /** Balances per member (version 2 also counts); `effects` records side effects. */
    function balances(f: InlineFixture<Tx>, version: number, effects: string[] = [], fail = '') {
      return defineProjection<Tx>({
        name: 'balances',
        version,
        inline: true,
        tables: ['balances'],
        setup: ({ tx, table }) =>
          f.exec(
            tx,
            `CREATE TABLE ${table('balances')} (member TEXT PRIMARY KEY, cents INTEGER NOT NULL, n INTEGER NOT NULL)`,
            [],
          ),
        handlers: {
          [APPROVED]: async (event, { tx, table }) => {
            const { member, cents } = event.data as { member: string; cents: number };
            if (member === fail) throw new Error(`no contributions from ${fail}`);
            await f.exec(
              tx,
              `INSERT INTO ${table('balances')} (member, cents, n) VALUES ($1, $2, $3)
               ON CONFLICT (member) DO UPDATE SET cents = ${table('balances')}.cents + excluded.cents,
                 n = ${table('balances')}.n + excluded.n`,
              [member, cents, version],
            );
          },
        },
        sideEffects: {
          [APPROVED]: (event) => {
            effects.push(event.id);
          },
        },
      });
    }

    async function setup(version = 1, effects: string[] = []) {
      const f = await options.create();
      fixtures.push(f);
      const projection = balances(f, version, effects);
      const daemon = await startProjections({
        store: f.store,
        storage: f.storage,
        projections: [projection],
      });
      daemons.push(daemon);
      await daemon.whenLive('balances');
      return { f, daemon, projector: f.projector([projection]) };
    }

    async function rows(f: InlineFixture<Tx>) {
      return f.query('SELECT member, cents, n FROM balances ORDER BY member');
    }

    async function caughtUp(f: InlineFixture<Tx>, daemon: ProjectionDaemon) {
      const head = await f.store.headPosition();
      const deadline = Date.now() + 10_000;
      for (;;) {
        const [status] = await daemon.status();
        if (status?.position === head) return;
        if (Date.now() > deadline) throw new Error(`projection stuck at ${status?.position}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }

    it('updates the read model in the append’s transaction: readable as soon as the append resolves', async () => {
      const { f, projector } = await setup();
      await projector.appendToStream('member-ana', [approved('ana', 1200)]);
      // No waiting for the daemon: the row committed with the event.
      expect(await rows(f)).toEqual([{ member: 'ana', cents: 1200, n: 1 }]);
      await projector.appendToStream('member-ana', [approved('ana', 300), approved('ana', 5)]);
      expect(await rows(f)).toEqual([{ member: 'ana', cents: 1505, n: 3 }]);
    });

    it('applies each event exactly once, inline or by the daemon, and leaves no marks behind', async () => {
      const effects: string[] = [];
      const { f, daemon, projector } = await setup(1, effects);
      const appended: string[] = [];
      for (let i = 0; i < 30; i++) {
        const event = approved(i % 3 === 0 ? 'ben' : 'cy', 10 + i);
        appended.push(event.id);
        // Every third event is appended around the projector, as another writer would.
        if (i % 4 === 0) await f.store.appendToStream(event.subject!, [event]);
        else await projector.appendToStream(event.subject!, [event]);
      }
      await caughtUp(f, daemon);
      const expected = { ben: 0, cy: 0, nBen: 0, nCy: 0 };
      for (let i = 0; i < 30; i++) {
        if (i % 3 === 0) {
          expected.ben += 10 + i;
          expected.nBen++;
        } else {
          expected.cy += 10 + i;
          expected.nCy++;
        }
      }
      expect(await rows(f)).toEqual([
        { member: 'ben', cents: expected.ben, n: expected.nBen },
        { member: 'cy', cents: expected.cy, n: expected.nCy },
      ]);
      expect([...effects].sort()).toEqual([...appended].sort());
      expect(await f.query(`SELECT * FROM ${f.storeTable('projection_inline')}`)).toEqual([]);
    });

    it('applies a retried append (same event ids) once', async () => {
      const { f, projector } = await setup();
      const event = approved('dee', 700);
      const first = await projector.appendToStream('member-dee', [event]);
      const again = await projector.appendToStream('member-dee', [event]);
      expect(again.deduplicated).toBe(true);
      expect(again.position).toBe(first.position);
      expect(await rows(f)).toEqual([{ member: 'dee', cents: 700, n: 1 }]);
    });

    it('rolls the append back when an inline handler fails, and when an event is malformed', async () => {
      const f = await options.create();
      fixtures.push(f);
      const failing = balances(f, 1, [], 'eve');
      const daemon = await startProjections({
        store: f.store,
        storage: f.storage,
        projections: [failing],
      });
      daemons.push(daemon);
      await daemon.whenLive('balances');
      const projector = f.projector([failing]);
      await projector.appendToStream('member-fay', [approved('fay', 1)]);
      const head = await f.store.headPosition();
      await expect(projector.appendToStream('member-eve', [approved('eve', 5)])).rejects.toThrow(
        'no contributions from eve',
      );
      let caught: unknown;
      try {
        await projector.appendToStream('member-fay', [{ type: 'Not A Type', data: 1 }]);
      } catch (error) {
        caught = error;
      }
      expect(isEventFabricError(caught) && caught.code).toBe('INVALID_EVENT');
      expect(await f.store.headPosition()).toBe(head);
      expect(await f.store.readStream('member-eve')).toEqual([]);
      expect(await rows(f)).toEqual([{ member: 'fay', cents: 1, n: 1 }]);
    });

    it('builds a raised version from the log, inline events included, then updates it inline', async () => {
      const { f, projector } = await setup(1);
      await projector.appendToStream('member-gus', [approved('gus', 100)]);
      await f.store.appendToStream('member-gus', [approved('gus', 20)]);
      await projector.appendToStream('member-hal', [approved('hal', 3)]);
      await daemons.pop()!.stop();

      const v2 = balances(f, 2);
      const daemon = await startProjections({
        store: f.store,
        storage: f.storage,
        projections: [v2],
      });
      daemons.push(daemon);
      await daemon.whenLive('balances');
      expect(await rows(f)).toEqual([
        { member: 'gus', cents: 120, n: 4 },
        { member: 'hal', cents: 3, n: 2 },
      ]);
      // Version 1's projector no longer writes (1 is not live); version 2's does.
      await projector.appendToStream('member-hal', [approved('hal', 1)]);
      await f.projector([v2]).appendToStream('member-hal', [approved('hal', 1)]);
      await caughtUp(f, daemon);
      expect(await rows(f)).toEqual([
        { member: 'gus', cents: 120, n: 4 },
        { member: 'hal', cents: 5, n: 6 },
      ]);
    });

    it('refuses a projection not defined inline', async () => {
      const f = await options.create();
      fixtures.push(f);
      const asynchronous = defineProjection<Tx>({
        name: 'plain',
        version: 1,
        tables: ['plain'],
        setup: () => undefined,
        handlers: { [APPROVED]: () => undefined },
      });
      let caught: unknown;
      try {
        f.projector([asynchronous]);
      } catch (error) {
        caught = error;
      }
      expect(isEventFabricError(caught) && caught.code).toBe('INVALID_ARGUMENT');
    });
  });
}
