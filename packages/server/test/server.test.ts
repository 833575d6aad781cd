import { afterEach, describe, expect, it } from 'vitest';
import { Registry, type OpenMetricsContentType } from 'prom-client';
import { ErrorCodes } from '@eventfabric/core';
import { HTTP_STATUS_BY_CODE, createServer, resolveServerLimits } from '../src/index.js';
import { allEvents, openTestServer, orderEvent, type TestServer } from './server-harness.js';

describe('server', () => {
  let t: TestServer | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  describe('error statuses', () => {
    it('maps every code of the catalogue explicitly', () => {
      const unmapped = Object.values(ErrorCodes).filter((code) => !(code in HTTP_STATUS_BY_CODE));

      expect(unmapped).toEqual([]);
    });

    it('answers an unknown route with 404 NOT_FOUND in the error shape', async () => {
      t = await openTestServer();

      const response = await t.server.app.inject({ method: 'GET', url: '/v1/nothing?x=1' });

      expect(response.statusCode).toBe(404);
      expect(response.json()).toEqual({
        error: {
          code: 'NOT_FOUND',
          message: 'no route GET /v1/nothing',
          details: { resource: 'route', method: 'GET', route: '/v1/nothing' },
        },
      });
    });
  });

  describe('probes', () => {
    it('readyz reflects the broker transport: down with its reason, a broker that does not answer within 2 s, and back', async () => {
      const broker = { connected: true, hang: false };
      t = await openTestServer({
        transport: {
          kind: 'amqp',
          location: 'amqp://guest:***@rabbit:5672',
          status: () => ({ connected: broker.connected, reconnects: 0 }),
          ready: () => {
            if (broker.hang) return new Promise(() => undefined);
            if (!broker.connected) return Promise.reject(new Error('socket closed'));
            return Promise.resolve({ connection: 'open' });
          },
        },
      });
      const probe = async () => {
        const response = await t!.server.app.inject({ method: 'GET', url: '/readyz' });
        return [response.statusCode, response.json<Record<string, unknown>>()] as const;
      };

      const up = await probe();
      broker.connected = false;
      const down = await probe();
      broker.hang = true;
      const silent = await probe();
      broker.hang = false;
      broker.connected = true;
      const back = await probe();

      const transport = { kind: 'amqp', location: 'amqp://guest:***@rabbit:5672' };
      expect(up).toEqual([
        200,
        {
          status: 'ready',
          store: { status: 'ok', head: '0' },
          transport: { ...transport, status: 'ok', connection: 'open' },
        },
      ]);
      expect(down).toEqual([
        503,
        {
          status: 'not_ready',
          store: { status: 'ok', head: '0' },
          transport: { ...transport, status: 'failed', code: 'TRANSPORT_UNAVAILABLE' },
          error: {
            code: 'TRANSPORT_UNAVAILABLE',
            message: 'the amqp transport did not answer: socket closed',
            details: {},
          },
        },
      ]);
      expect(silent[0]).toBe(503);
      expect(silent[1].error).toEqual({
        code: 'TRANSPORT_UNAVAILABLE',
        message: 'the amqp transport did not answer: no answer within 2000 ms',
        details: {},
      });
      expect(back[0]).toBe(200);
    });

    it('healthz answers while the process runs; readyz reflects the store', async () => {
      t = await openTestServer();
      await t.store.appendMany([orderEvent()]);

      const health = await t.server.app.inject({ method: 'GET', url: '/healthz' });
      const ready = await t.server.app.inject({ method: 'GET', url: '/readyz' });
      await t.store.close();
      const closedStore = await t.server.app.inject({ method: 'GET', url: '/readyz' });
      const stillAlive = await t.server.app.inject({ method: 'GET', url: '/healthz' });

      expect(health.json()).toEqual({ status: 'ok' });
      expect(ready.statusCode).toBe(200);
      expect(ready.json()).toEqual({ status: 'ready', store: { status: 'ok', head: '1' } });
      expect(closedStore.statusCode).toBe(503);
      expect(closedStore.json()).toEqual({
        status: 'not_ready',
        store: { status: 'failed', code: 'STORE_CLOSED' },
        error: { code: 'STORE_CLOSED', message: 'the event store is closed', details: {} },
      });
      expect(stillAlive.statusCode).toBe(200);
    });
  });

  describe('metrics', () => {
    it('serves Prometheus text with published events, requests and the DLQ depth', async () => {
      t = await openTestServer();
      await t.server.app.inject({
        method: 'POST',
        url: '/v1/events',
        headers: { 'content-type': 'application/cloudevents-batch+json' },
        payload: JSON.stringify([orderEvent(), orderEvent()]),
      });
      await t.server.app.inject({
        method: 'POST',
        url: '/v1/events',
        headers: { 'content-type': 'application/cloudevents+json' },
        payload: '{',
      });

      const response = await t.server.app.inject({ method: 'GET', url: '/metrics' });

      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
      const text = response.body;
      expect(text).toContain('eventfabric_events_published_total{mode="batch"} 2\n');
      expect(text).toContain(
        'eventfabric_http_requests_total{method="POST",route="/v1/events",status="201"} 1\n',
      );
      expect(text).toContain(
        'eventfabric_http_requests_total{method="POST",route="/v1/events",status="400"} 1\n',
      );
      expect(text).toContain('eventfabric_dlq_depth 0\n');
      expect(text).toContain('eventfabric_sse_clients 0\n');
    });
  });

  describe('exemplars', () => {
    it('given an OpenMetrics registry, then request durations carry the trace id as exemplar', async () => {
      const registry = new Registry<OpenMetricsContentType>();
      registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
      t = await openTestServer({ registry });
      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      await t.server.app.inject({
        method: 'GET',
        url: '/healthz',
        headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      });

      const response = await t.server.app.inject({ method: 'GET', url: '/metrics' });

      expect(response.headers['content-type']).toBe(Registry.OPENMETRICS_CONTENT_TYPE);
      const bucket = response.body
        .split('\n')
        .find(
          (line) =>
            line.startsWith('eventfabric_http_request_duration_seconds_bucket{') &&
            line.includes('route="/healthz"') &&
            line.includes('# {trace_id='),
        );
      expect(bucket).toContain(`# {trace_id="${traceId}"}`);
    });
  });

  describe('rate limits', () => {
    it('answers 429 RATE_LIMITED with Retry-After past the limit, per client; probes are exempt', async () => {
      t = await openTestServer({ limits: { rateLimitMax: 2, rateLimitWindowMs: 60_000 } });
      const publish = (authorization?: string, id?: string) =>
        t!.server.app.inject({
          method: 'POST',
          url: '/v1/events',
          headers: {
            'content-type': 'application/cloudevents+json',
            ...(authorization ? { authorization } : {}),
          },
          payload: JSON.stringify(orderEvent({ id })),
        });

      const statuses = [
        (await publish(undefined, 'rl-1')).statusCode,
        (await publish(undefined, 'rl-2')).statusCode,
      ];
      const limited = await publish(undefined, 'rl-3');
      const otherClient = await publish('Bearer other', 'rl-4');
      const probe = await t.server.app.inject({ method: 'GET', url: '/healthz' });

      expect(statuses).toEqual([201, 201]);
      expect(limited.statusCode).toBe(429);
      expect(limited.headers['retry-after']).toBe('60');
      expect(limited.json()).toEqual({
        error: {
          code: 'RATE_LIMITED',
          message: 'rate limit of 2 requests per 60000 ms exceeded; retry in 60 s',
          details: { limit: 2, windowMs: 60_000, retryAfterSeconds: 60 },
        },
      });
      expect(otherClient.statusCode).toBe(201);
      expect(probe.statusCode).toBe(200);
      expect((await allEvents(t.store)).map((e) => e.id)).toEqual(['rl-1', 'rl-2', 'rl-4']);
    });
  });

  describe('options', () => {
    it('refuses an unknown limit and a store without appendMany', async () => {
      expect(() => resolveServerLimits({ maxBatch: 3 } as never)).toThrow(
        'unknown server limit "maxBatch"',
      );
      expect(() => resolveServerLimits({ maxBatchSize: 0 })).toThrow(
        'limit maxBatchSize must be an integer ≥ 1',
      );
      await expect(createServer({ store: {} as never })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
    });
  });
});
