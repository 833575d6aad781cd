import { randomUUID } from 'node:crypto';
import { createEvent, type CloudEvent } from '@eventfabric/core';
import { SOURCE } from '../fixtures.js';

/** How long an event may take to be handled before a wait fails. */
export const DELIVERY_TIMEOUT_MS = 5000;

/**
 * How long a test watches for deliveries that should not come (a second delivery of an
 * acked event). Long enough for an immediate redelivery on any broker of the suite.
 */
export const QUIET_MS = 150;

function suffix(): string {
  return randomUUID().replaceAll('-', '').slice(0, 16);
}

/**
 * A fresh `<context>.<entity>` prefix. Every test publishes only under its own, so tests never
 * see each other's events, even on one shared real broker.
 */
export function newTopicPrefix(): string {
  return `conformance.t${suffix()}`;
}

/** A fresh event type, e.g. `conformance.t1f0c….happened.v1`. */
export function newTopic(): string {
  return `${newTopicPrefix()}.happened.v1`;
}

/** A fresh consumer group name, `<service>.<handler-group>` as the naming rule asks. */
export function newGroup(): string {
  return `conformance.g${suffix()}`;
}

/** One event of `type` on partition key `key` (also its subject), with data `{ key, n }`. */
export function keyedEvent(type: string, key: string, n: number): CloudEvent {
  return createEvent({ type, source: SOURCE, subject: key, data: { key, n } });
}

/**
 * `perKey` events for each key, interleaved as publishers interleave them: the first event of
 * every key, then the second of every key, and so on.
 */
export function interleavedEvents(
  type: string,
  keys: readonly string[],
  perKey: number,
): CloudEvent[] {
  return Array.from({ length: perKey }, (_, n) =>
    keys.map((key) => keyedEvent(type, key, n)),
  ).flat();
}

/** `item-0` … `item-<count - 1>`. */
export function keys(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `item-${i}`);
}

/** Ids of `events`, in order. */
export function idsOf(events: readonly { id: string }[]): string[] {
  return events.map((event) => event.id);
}

/** For each partition key, the ids of its events in the order given. */
export function idsByKey(events: readonly CloudEvent[]): Map<string, string[]> {
  const byKey = new Map<string, string[]>();
  for (const event of events) {
    const ids = byKey.get(event.partitionkey) ?? [];
    ids.push(event.id);
    byKey.set(event.partitionkey, ids);
  }
  return byKey;
}

/** Resolve once `predicate()` holds, checking every few ms; fail with `what` after `timeoutMs`. */
export async function waitFor(
  predicate: () => boolean,
  timeoutMs: number,
  what: string | (() => string),
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) {
      const description = typeof what === 'function' ? what() : what;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}`);
    }
    await sleep(2);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A promise and the function that resolves it, for handlers a test holds on purpose. */
export function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}
