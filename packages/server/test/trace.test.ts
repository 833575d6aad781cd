import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { SpanKind } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { createConsumer, type Consumer, type StoredEvent } from '@eventfabric/core';
import { createSqliteTransport, type SqliteTransport } from '@eventfabric/sqlite';
import { ORDER_PLACED, openTestServer, orderEvent, type TestServer } from './server-harness.js';

describe('tracing from HTTP publish to a consumer handler', () => {
  let t: TestServer | undefined;
  let consumer: Consumer | undefined;
  let transport: SqliteTransport | undefined;
  afterEach(async () => {
    await consumer?.stop();
    await transport?.close();
    await t?.close();
  });

  it('given a traceparent on the request, then client → server span → handler span form one trace', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const tracer = provider.getTracer('test');
    t = await openTestServer({ tracer });
    const handled: StoredEvent[] = [];
    let traceIdInHandler: string | undefined;
    transport = createSqliteTransport({ store: t.store });
    consumer = createConsumer({
      service: 'app',
      transport,
      tracer,
      handlers: [
        {
          name: 'audit',
          on: [ORDER_PLACED],
          handle: (event, ctx) => {
            handled.push(event as StoredEvent);
            traceIdInHandler = ctx.traceparent.slice(3, 35);
          },
        },
      ],
    });
    await consumer.start();
    const clientTraceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const clientSpanId = '00f067aa0ba902b7';

    const response = await t.server.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: {
        'content-type': 'application/cloudevents+json',
        traceparent: `00-${clientTraceId}-${clientSpanId}-01`,
      },
      payload: JSON.stringify(orderEvent({ id: 'traced' })),
    });
    await waitFor(() => handled.length === 1 && exporter.getFinishedSpans().length === 2);

    expect(response.statusCode).toBe(201);
    const spans = exporter.getFinishedSpans();
    const server = spans.find((s) => s.kind === SpanKind.SERVER)!;
    const handler = spans.find((s) => s.kind === SpanKind.CONSUMER)!;
    expect(server.name).toBe('POST /v1/events');
    expect(server.attributes['http.response.status_code']).toBe(201);
    expect(server.spanContext().traceId).toBe(clientTraceId);
    expect(server.parentSpanContext?.spanId).toBe(clientSpanId);
    expect(handler.name).toBe(`handle ${ORDER_PLACED}`);
    expect(handler.spanContext().traceId).toBe(clientTraceId);
    expect(handler.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(handled[0]!.traceparent).toBe(`00-${clientTraceId}-${server.spanContext().spanId}-01`);
    expect(traceIdInHandler).toBe(clientTraceId);
  });

  it('given a traceparent, then the request log lines are JSON carrying its trace id', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    t = await openTestServer({ logger: pino({ level: 'debug' }, sink) });
    const traceId = '0af7651916cd43dd8448eb211c80319c';

    await t.server.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: {
        'content-type': 'application/cloudevents+json',
        traceparent: `00-${traceId}-b7ad6b7169203331-01`,
      },
      payload: '{',
    });

    const rejected = lines.find((line) => line.code === 'MALFORMED_BODY');
    expect(rejected).toMatchObject({ level: 30, status: 400, traceId });
    expect(rejected!.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(lines.find((line) => line.msg === 'request completed')).toMatchObject({
      level: 20,
      traceId,
      status: 400,
    });
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
