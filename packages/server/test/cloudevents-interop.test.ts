import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CloudEvent, HTTP, Mode, emitterFor, httpTransport } from 'cloudevents';
import { ORDER_PLACED, openTestServer, type TestServer } from './server-harness.js';

/** The attributes an SDK event and its stored copy must share. */
function sdkAttributes(event: CloudEvent<unknown>) {
  return {
    specversion: event.specversion,
    id: event.id,
    type: event.type,
    source: event.source,
    subject: event.subject,
    time: event.time,
    datacontenttype: event.datacontenttype,
    data: event.data,
    correlationid: event.correlationid,
  };
}

describe('interop with the cloudevents SDK as the HTTP client (real HTTP)', () => {
  let t: TestServer;
  let url: string;
  beforeEach(async () => {
    t = await openTestServer();
    url = `${await t.server.listen({ port: 0, host: '127.0.0.1' })}/v1/events`;
  });
  afterEach(() => t.close());

  function sdkEvent(subject: string, amount: number): CloudEvent<unknown> {
    return new CloudEvent<unknown>({
      type: ORDER_PLACED,
      source: '/sdk/shop',
      subject,
      datacontenttype: 'application/json',
      data: { amount },
      correlationid: `flow-${subject}`,
    });
  }

  it.each([
    ['binary', Mode.BINARY],
    ['structured', Mode.STRUCTURED],
  ])('given the SDK emitter in %s mode, then the event arrives intact', async (_name, mode) => {
    const event = sdkEvent(`order-${mode}`, 42);
    const emit = emitterFor(httpTransport(url), { mode });

    await emit(event);

    const [stored] = await t.store.readStream(`order-${mode}`);
    expect(stored).toBeDefined();
    expect(sdkAttributes(new CloudEvent<unknown>({ ...stored! }, false))).toEqual(
      sdkAttributes(event),
    );
    expect(stored!.position).toBe('1');
  });

  it.each([
    ['HTTP.binary', HTTP.binary],
    ['HTTP.structured', HTTP.structured],
  ])('given a message from %s, then 201 and the event reads back equal', async (_name, encode) => {
    const event = sdkEvent('order-msg', 7);
    const message = encode(event);

    const response = await fetch(url, {
      method: 'POST',
      headers: message.headers as Record<string, string>,
      body: message.body as string,
    });

    expect(response.status).toBe(201);
    const [stored] = await t.store.readStream('order-msg');
    expect(sdkAttributes(new CloudEvent<unknown>({ ...stored! }, false))).toEqual(
      sdkAttributes(event),
    );
    // What the server sends back out decodes with the SDK too.
    const decoded = HTTP.toEvent({
      headers: { 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify(stored),
    }) as CloudEvent<unknown>;
    expect(sdkAttributes(decoded)).toEqual(sdkAttributes(event));
  });

  it('given an SDK event whose data breaks its schema, then 422 and nothing is stored', async () => {
    const message = HTTP.binary(
      new CloudEvent<unknown>({
        type: ORDER_PLACED,
        source: '/sdk/shop',
        subject: 'order-bad',
        datacontenttype: 'application/json',
        data: { amount: 'lots' },
      }),
    );

    const response = await fetch(url, {
      method: 'POST',
      headers: message.headers as Record<string, string>,
      body: message.body as string,
    });

    expect(response.status).toBe(422);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
      'VALIDATION_FAILED',
    );
    expect(await t.store.headPosition()).toBe('0');
  });
});
