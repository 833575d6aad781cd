import {
  EventFabricError,
  type AppendResult,
  type CloudEvent,
  type EventStore,
  type ExpectedVersion,
} from '@eventfabric/core';
import fc from 'fast-check';
import { describe, expect } from 'vitest';
import { expectIncreasingPositions, readWholeLog } from './expectations.js';
import { idsOf, testEvent, testEvents } from './fixtures.js';
import { recordSubscription, waitUntil } from './recorder.js';
import type { ConformanceSuite } from './suite.js';

const STREAMS = ['order-0', 'order-1', 'invoice-2', 'invoice-3'] as const;

/** A fixed expectation, or an offset from the stream's version when the group starts. */
type Expectation = 'any' | 'no_stream' | 'stream_exists' | { offset: number };
type Command =
  | { stream: number; count: number; expectation: Expectation }
  /** Re-append an earlier successful batch, as a client retrying after a timeout would. */
  | { retry: number };

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      stream: fc.integer({ min: 0, max: STREAMS.length - 1 }),
      count: fc.integer({ min: 1, max: 3 }),
      expectation: fc.oneof(
        fc.constantFrom<Expectation>('any', 'no_stream', 'stream_exists'),
        fc.record({ offset: fc.integer({ min: -2, max: 1 }) }),
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ retry: fc.nat() }) },
);

/** Up to 10 groups of up to 4 appends; the appends of a group run concurrently. */
const groups = fc.array(fc.array(command, { minLength: 1, maxLength: 4 }), {
  minLength: 1,
  maxLength: 10,
});

interface Attempt {
  streamId: string;
  events: CloudEvent[];
  expected: ExpectedVersion;
}

/** What happened to every append of one run. */
interface History {
  succeeded: Array<Attempt & { result: AppendResult }>;
  failed: Array<Attempt & { error: unknown }>;
  retries: Array<{ original: AppendResult; outcome: PromiseSettledResult<AppendResult> }>;
}

async function play(store: EventStore, plan: Command[][]): Promise<History> {
  const history: History = { succeeded: [], failed: [], retries: [] };
  for (const group of plan) {
    const versions = await Promise.all(STREAMS.map((s) => store.streamVersion(s)));
    const earlier = [...history.succeeded];
    await Promise.allSettled(
      group.map(async (step) => {
        if ('retry' in step) {
          const original = earlier[step.retry % Math.max(earlier.length, 1)];
          if (!original) return;
          const retry = store.appendToStream(original.streamId, original.events, {
            expectedVersion: 'no_stream',
          });
          const [outcome] = await Promise.allSettled([retry]);
          history.retries.push({ original: original.result, outcome: outcome! });
          return;
        }
        const streamId = STREAMS[step.stream]!;
        const events = testEvents(streamId, step.count);
        const { expectation } = step;
        const expected =
          typeof expectation === 'string'
            ? expectation
            : Math.max(-1, versions[step.stream]! + expectation.offset);
        try {
          const result = await store.appendToStream(streamId, events, {
            expectedVersion: expected,
          });
          history.succeeded.push({ streamId, events, expected, result });
        } catch (error) {
          history.failed.push({ streamId, events, expected, error });
        }
      }),
    );
  }
  return history;
}

async function check(store: EventStore, history: History): Promise<string[]> {
  const log = await readWholeLog(store);
  expectIncreasingPositions(log.map((e) => e.position));
  const ids = idsOf(log);
  expect(new Set(ids).size).toBe(ids.length);
  const written = history.succeeded.reduce((sum, s) => sum + s.events.length, 0);
  expect(log).toHaveLength(written);

  for (const streamId of STREAMS) {
    const stream = await store.readStream(streamId);
    expect(stream.map((e) => e.streamversion)).toEqual(stream.map((_, i) => i));
    expect(stream).toEqual(log.filter((e) => e.subject === streamId));
  }
  for (const { streamId, events, expected, result } of history.succeeded) {
    const first = result.streamVersion - events.length + 1;
    const stored = await store.readStream(streamId, { fromVersion: first, limit: events.length });
    expect(idsOf(stored)).toEqual(idsOf(events));
    expect(stored.map((e) => e.position)).toEqual(result.positions);
    expect(result.deduplicated).toBe(false);
    if (typeof expected === 'number') expect(first - 1).toBe(expected);
    if (expected === 'no_stream') expect(first).toBe(0);
    if (expected === 'stream_exists') expect(first).toBeGreaterThan(0);
  }
  const stored = new Set(ids);
  for (const { streamId, events, expected, error } of history.failed) {
    expect(error).toBeInstanceOf(EventFabricError);
    expect(error).toMatchObject({
      code: 'WRONG_EXPECTED_VERSION',
      details: { streamId, expected },
    });
    expect((error as EventFabricError).details.actual).not.toBe(expected);
    expect(events.filter((e) => stored.has(e.id))).toEqual([]);
  }
  for (const { original, outcome } of history.retries) {
    expect(outcome).toEqual({ status: 'fulfilled', value: { ...original, deduplicated: true } });
  }
  return ids;
}

export function describeProperties(suite: ConformanceSuite): void {
  describe('properties', () => {
    suite.test(
      'random concurrent appends keep streams contiguous, $all ordered and subscribers exact',
      async () => {
        await fc.assert(
          fc.asyncProperty(groups, async (plan) => {
            const store = await suite.open();
            try {
              const recorded = recordSubscription(store);
              const history = await play(store, plan);
              const ids = await check(store, history);
              const marker = testEvent('marker-1');
              const { position } = await store.appendToStream('marker-1', [marker]);
              await waitUntil(
                () => recorded.subscription.position === position,
                'the subscriber to reach the head',
              );
              const log = await readWholeLog(store);
              expect(idsOf(recorded.events)).toEqual([...ids, marker.id]);
              expect(recorded.events).toEqual(log);
            } finally {
              await store.close();
            }
          }),
          { numRuns: 25, interruptAfterTimeLimit: 20_000, markInterruptAsFailure: true },
        );
      },
    );
  });
}
