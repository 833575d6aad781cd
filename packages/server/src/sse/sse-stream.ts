import type { ServerResponse } from 'node:http';
import {
  SlowConsumerError,
  UnauthenticatedError,
  type EventFabricError,
  type StoredEvent,
  type Subscription,
} from '@eventfabric/core';
import type { FastifyBaseLogger } from 'fastify';
import type { ServerMetrics, SseDropReason } from '../server-metrics.js';

/** Settings of one SSE stream. */
export interface SseStreamOptions {
  heartbeatMs: number;
  slowClientTimeoutMs: number;
  matches: (event: StoredEvent) => boolean;
  metrics: ServerMetrics;
  logger: FastifyBaseLogger;
  /**
   * Checked at every heartbeat: false ends the stream (its API key was revoked).
   * @defaultValue always true (open mode)
   */
  stillAuthorized?: () => Promise<boolean>;
}

/** How long a stream the server ended may take to flush before its socket is destroyed. */
const END_GRACE_MS = 1000;

/**
 * One client's Server-Sent Events stream over a store subscription.
 *
 * Each event is one message: `id:` its position, `data:` the stored event as CloudEvents
 * JSON. The subscription waits for each write: when the socket's buffer is full, the next
 * event is not read from the store until the client drains it, so a slow client holds at
 * most one page of events in memory. A client that stays full for `slowClientTimeoutMs` is
 * dropped: its last message is `event: end` carrying a SLOW_CONSUMER error. The same `end`
 * message says why on shutdown and on a store failure.
 */
export class SseStream {
  private subscription: Subscription | undefined;
  private readonly heartbeat: NodeJS.Timeout;
  private ended = false;
  private lastPosition: string | undefined;

  constructor(
    private readonly response: ServerResponse,
    private readonly options: SseStreamOptions,
  ) {
    this.heartbeat = setInterval(() => void this.beat(), options.heartbeatMs);
    this.heartbeat.unref();
    response.on('close', () => this.closed());
  }

  /** True once the stream has ended, from either side. */
  get isEnded(): boolean {
    return this.ended;
  }

  /** Deliver from this subscription, opened with {@link deliver} as its handler. */
  attach(subscription: Subscription): void {
    this.subscription = subscription;
    if (this.ended) void subscription.stop();
    subscription.done.catch((error: EventFabricError) => this.end('subscription_failed', error));
  }

  /** The subscription's handler: write one event, waiting while the client's buffer is full. */
  readonly deliver = async (event: StoredEvent): Promise<void> => {
    if (this.ended || !this.options.matches(event)) return;
    this.lastPosition = event.position;
    const written = this.response.write(
      `id: ${event.position}\ndata: ${JSON.stringify(event)}\n\n`,
    );
    if (written) return;
    const drained = await this.drainedWithin(this.options.slowClientTimeoutMs);
    if (drained || this.ended) return;
    const timeoutMs = this.options.slowClientTimeoutMs;
    this.end(
      'slow_consumer',
      new SlowConsumerError(
        `the client read too slowly: its buffer stayed full for ${timeoutMs} ms`,
        {
          bufferedBytes: this.response.writableLength,
          timeoutMs,
          position: this.lastPosition,
        },
      ),
    );
  };

  /**
   * End the stream from the server's side: an `end` message saying why, then the end of the
   * response; the subscription stops, and a socket that has not flushed within a grace
   * period is destroyed, so a client that never reads holds nothing for long.
   */
  end(reason: SseDropReason, error?: EventFabricError): void {
    if (this.ended) return;
    this.options.metrics.sseDropped.inc({ reason });
    this.options.logger.warn(
      { reason, code: error?.code, position: this.lastPosition },
      'SSE stream ended by the server',
    );
    const body = error === undefined ? { reason } : { reason, error: error.toJSON() };
    this.response.end(`event: end\ndata: ${JSON.stringify(body)}\n\n`);
    setTimeout(() => this.response.destroy(), END_GRACE_MS).unref();
    this.closed();
  }

  /** A heartbeat: end the stream if its key was revoked, else a comment line when idle. */
  private async beat(): Promise<void> {
    const check = this.options.stillAuthorized;
    if (check !== undefined && !(await check().catch(() => true))) {
      this.end(
        'key_revoked',
        new UnauthenticatedError('the API key was revoked', { reason: 'revoked' }),
      );
      return;
    }
    if (!this.ended && !this.response.writableNeedDrain) this.response.write(': heartbeat\n\n');
  }

  private closed(): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.heartbeat);
    // stop() waits for the event in hand, which may be this stream's own write: never await it.
    void this.subscription?.stop();
  }

  private drainedWithin(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (drained: boolean): void => {
        clearTimeout(timer);
        this.response.off('drain', onDrain);
        this.response.off('close', onClose);
        resolve(drained);
      };
      const onDrain = (): void => done(true);
      const onClose = (): void => done(true);
      const timer = setTimeout(() => done(false), ms);
      this.response.on('drain', onDrain);
      this.response.on('close', onClose);
    });
  }
}
