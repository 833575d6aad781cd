import { describe, expect, it } from 'vitest';
import {
  defineSaga,
  InvalidArgumentError,
  SAGA_TIMEOUT_TYPE,
  startSagas,
  type SagaDefinition,
} from '@eventfabric/core';

const noop = (): undefined => undefined;

const valid: SagaDefinition<{ n: number }> = {
  name: 'allocation',
  startedBy: ['treasury.period.closed.v1'],
  start: () => ({ n: 0 }),
  steps: [
    {
      name: 'allocate',
      run: ({ send }) => send({ type: 'treasury.patronage.allocate.v1', data: {} }),
      completedBy: ['treasury.patronage.allocated.v1'],
      failedBy: ['treasury.patronage.rejected.v1'],
      timeoutMs: 1000,
    },
    { name: 'notify', run: noop },
  ],
  on: { 'people.member.*': () => undefined },
};

function rejects(change: Record<string, unknown>, message: RegExp): void {
  let caught: unknown;
  try {
    defineSaga({ ...valid, ...change } as never);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(InvalidArgumentError);
  expect((caught as InvalidArgumentError).code).toBe('INVALID_ARGUMENT');
  expect((caught as Error).message).toMatch(message);
}

describe('defineSaga', () => {
  it('routes starts, replies, reactions and its own timeouts', () => {
    const saga = defineSaga(valid);
    expect(saga.starts('treasury.period.closed.v1')).toBe(true);
    expect(saga.starts('treasury.patronage.allocated.v1')).toBe(false);
    expect(saga.replyKind(0, 'treasury.patronage.allocated.v1')).toBe('completed');
    expect(saga.replyKind(0, 'treasury.patronage.rejected.v1')).toBe('failed');
    expect(saga.replyKind(1, 'treasury.patronage.allocated.v1')).toBeUndefined();
    expect(saga.reactions('people.member.withdrawn.v1')).toHaveLength(1);
    expect(saga.handles(SAGA_TIMEOUT_TYPE)).toBe(true);
    expect(saga.handles('agreements.contribution.approved.v1')).toBe(false);
    expect(saga.typePrefixes).toContain('eventfabric.saga.timed-out.v');
    expect(saga.typePrefixes).toContain('treasury.patronage.allocated.v');
  });

  it.each<[Record<string, unknown>, RegExp]>([
    [{ name: 'Allocation' }, /saga name/],
    [{ name: 'a'.repeat(25) }, /saga name/],
    [{ name: 42 }, /saga name/],
    [{ startedBy: [] }, /startedBy needs at least one/],
    [{ startedBy: 'treasury.period.closed.v1' }, /startedBy must be an array/],
    [{ startedBy: [''] }, /malformed event type/],
    [{ start: undefined }, /start must be a function/],
    [{ correlate: 'id' }, /correlate must be a function/],
    [{ steps: [] }, /at least one step/],
    [{ steps: [{ name: 'x' }] }, /needs a run function/],
    [{ steps: [{ name: 'Bad Name', run: noop }] }, /needs a name/],
    [
      {
        steps: [
          { name: 'x', run: noop },
          { name: 'x', run: noop },
        ],
      },
      /two steps are named x/,
    ],
    [{ steps: [{ name: 'x', run: noop, timeoutMs: 100 }] }, /need completedBy/],
    [{ steps: [{ name: 'x', run: noop, completedBy: ['a.b.c.v1'], timeoutMs: 0 }] }, /timeoutMs/],
    [{ steps: [{ name: 'x', run: noop, retries: -1 }] }, /retries/],
    [{ steps: [{ name: 'x', run: noop, compensate: 'undo' }] }, /compensate must be a function/],
    [{ on: { 'a.b.c.v1': 'nope' } }, /is not a function/],
    [{ completed: 'done' }, /completed must be a function/],
    [{ compensated: 1 }, /compensated must be a function/],
    [{ steps: [{ name: 'x', run: noop, sends: 'a.b.c.v1' }] }, /sends must be an array/],
  ])('rejects %j', (change, message) => rejects(change, message));

  it('rejects a missing definition', () => {
    expect(() => defineSaga(undefined as never)).toThrow(InvalidArgumentError);
  });
});

describe('startSagas', () => {
  it('rejects malformed options before starting anything', async () => {
    const saga = defineSaga(valid);
    await expect(startSagas(undefined as never)).rejects.toThrow(InvalidArgumentError);
    await expect(
      startSagas({ store: {} as never, storage: {} as never, sagas: [saga] }),
    ).rejects.toThrow(/saga storage/);
    await expect(
      startSagas({ store: {} as never, storage: {} as never, sagas: [{ name: 'x' } as never] }),
    ).rejects.toThrow(/defineSaga/);
    await expect(
      startSagas({ store: {} as never, storage: {} as never, sagas: [saga, saga] }),
    ).rejects.toThrow(/share a name/);
  });
});
