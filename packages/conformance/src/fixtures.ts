import { createEvent, type CloudEvent, type EventParent } from '@eventfabric/core';

/** The producer of every event the suite creates. */
export const SOURCE = '/eventfabric/conformance';

/** The type of events whose type does not matter to a test. */
export const ITEM_ADDED = 'conformance.item.added.v1';

/** Options for {@link testEvent}. */
export interface TestEventOptions {
  /** @defaultValue {@link ITEM_ADDED} */
  type?: string;
  /** @defaultValue `{}` */
  data?: unknown;
  /** @defaultValue a new UUIDv7 */
  id?: string;
  parent?: EventParent;
  time?: string;
}

/** A valid event for `streamId`, built the way applications build them. */
export function testEvent(streamId: string, options: TestEventOptions = {}): CloudEvent {
  return createEvent({
    type: options.type ?? ITEM_ADDED,
    source: SOURCE,
    subject: streamId,
    data: options.data ?? {},
    id: options.id,
    parent: options.parent,
    time: options.time,
  });
}

/** `count` events for `streamId` with data `{ n }`, `n` counting from `from`. */
export function testEvents(
  streamId: string,
  count: number,
  options: { type?: string; from?: number } = {},
): CloudEvent[] {
  const from = options.from ?? 0;
  return Array.from({ length: count }, (_, i) =>
    testEvent(streamId, { type: options.type, data: { n: from + i } }),
  );
}

export function idsOf(events: readonly { id: string }[]): string[] {
  return events.map((event) => event.id);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
