import { EventFabricError, type EventStore, type StoredEvent } from '@eventfabric/core';
import { expect } from 'vitest';

/** A global position: a decimal integer string, so it stays exact beyond 2^53. */
export const DECIMAL_POSITION = /^(0|[1-9][0-9]*)$/;

/**
 * Run `action` (a promise, or a function that may throw synchronously or return one) and
 * assert that it fails with an {@link EventFabricError} of `code`, and, when given, exactly
 * these `details` (asymmetric matchers allowed). Returns the error for further checks.
 */
export async function expectError(
  action: Promise<unknown> | (() => unknown),
  code: string,
  details?: unknown,
): Promise<EventFabricError> {
  let outcome: { error: unknown } | undefined;
  try {
    await (typeof action === 'function' ? action() : action);
  } catch (error) {
    outcome = { error };
  }
  if (!outcome) throw new Error(`expected a failure with code ${code}, but it succeeded`);
  const { error } = outcome;
  expect(error).toBeInstanceOf(EventFabricError);
  const failure = error as EventFabricError;
  expect(failure.code, failure.message).toBe(code);
  if (details !== undefined) expect(failure.details).toEqual(details);
  return failure;
}

/**
 * Every event of `$all`, in position order, paging with the default limit. Fails, rather than
 * looping forever, when a page does not move past its `after` position.
 */
export async function readWholeLog(store: EventStore): Promise<StoredEvent[]> {
  const events: StoredEvent[] = [];
  for (;;) {
    const after = events.at(-1)?.position;
    const page = await store.readAll({ after });
    if (page.length === 0) return events;
    const first = page[0]!.position;
    if (after !== undefined && !isAfter(first, after)) {
      throw new Error(`readAll after ${after} returned an event at position ${first}`);
    }
    events.push(...page);
  }
}

/** What "nothing was written" compares: the head and every stored id, in order. */
export interface LogState {
  head: string;
  ids: string[];
}

export async function logState(store: EventStore): Promise<LogState> {
  const events = await readWholeLog(store);
  return { head: await store.headPosition(), ids: events.map((e) => e.id) };
}

export async function expectLogUnchanged(store: EventStore, before: LogState): Promise<void> {
  expect(await logState(store)).toEqual(before);
}

/** Each position is a positive decimal string, and each is greater than the one before. */
export function expectIncreasingPositions(positions: readonly string[]): void {
  for (const position of positions) {
    expect(position).toMatch(DECIMAL_POSITION);
    expect(BigInt(position) > 0n, `position ${position} is above "0", the empty log`).toBe(true);
  }
  for (let i = 1; i < positions.length; i++) {
    const [before, after] = [BigInt(positions[i - 1]!), BigInt(positions[i]!)];
    expect(after > before, `position ${after} follows ${before}`).toBe(true);
  }
}

/** True when position `a` is after position `b`. */
export function isAfter(a: string, b: string): boolean {
  return BigInt(a) > BigInt(b);
}
