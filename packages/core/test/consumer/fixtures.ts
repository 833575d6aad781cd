import {
  HandlingContext,
  InMemoryTransport,
  createEvent,
  silentLogger,
  type CloudEvent,
} from '../../src/index.js';

export function event(
  subject: string,
  data: unknown = {},
  type = 'test.thing.happened.v1',
): CloudEvent {
  return createEvent({ type, source: '/test', subject, data });
}

export function context(parent: CloudEvent, attempt = 1, handler = 'h'): HandlingContext {
  return new HandlingContext(
    handler,
    `svc.${handler}`,
    'svc.h-queue',
    attempt,
    parent,
    parent.traceparent,
    silentLogger,
    new AbortController().signal,
    { source: '/svc', transport: new InMemoryTransport(), store: undefined, validate: undefined },
  );
}

/** Resolve once `predicate` holds, polling every 5 ms; fail after `timeoutMs`. */
export async function waitFor(
  predicate: () => boolean,
  timeoutMs = 5000,
  what = 'condition',
): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
