import { connect, type ChannelModel } from 'amqplib';
import { StoreClosedError, TransportUnavailableError } from '@eventfabric/core';
import { redactUrl, type ResolvedRabbitMqOptions } from './rabbitmq-options.js';

/** What the connection reports, for logs and metrics. */
export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** Called with each new connection, the first and every one after a loss. */
export type OnConnected = (model: ChannelModel, generation: number) => void;

/**
 * One AMQP connection that comes back: on a loss it reconnects with exponential backoff
 * (amqplib does not), and tells every listener, which then rebuild their channels,
 * redeclare their topology and resume.
 */
export class RecoveringConnection {
  state: ConnectionState = 'connecting';
  /** Increases with each connection, so work started on an older one can tell. */
  generation = 0;
  /** How many times the connection was lost and made again. */
  reconnects = 0;
  /** How many times the connection was lost (a loss not yet made good counts here only). */
  losses = 0;
  private model: ChannelModel | undefined;
  private waiters: { resolve: (m: ChannelModel) => void; reject: (e: Error) => void }[] = [];
  private readonly listeners = new Set<OnConnected>();
  private readonly lossListeners = new Set<(error: Error) => void>();
  private timer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private lastError: Error | undefined;

  constructor(private readonly options: ResolvedRabbitMqOptions) {}

  /** Open the first connection; fails fast when the broker is unreachable. */
  async open(): Promise<void> {
    try {
      this.adopt(await this.dial());
    } catch (error) {
      this.state = 'closed';
      throw this.unavailable('cannot connect to RabbitMQ', error);
    }
  }

  /** The live connection, waiting up to `connectTimeoutMs` for one while reconnecting. */
  async current(): Promise<ChannelModel> {
    if (this.state === 'closed') throw new StoreClosedError();
    if (this.model && this.state === 'open') return this.model;
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (m: ChannelModel) => {
          clearTimeout(timeout);
          resolve(m);
        },
        reject: (e: Error) => {
          clearTimeout(timeout);
          reject(e);
        },
      };
      const timeout = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(this.unavailable('RabbitMQ connection did not come back in time', this.lastError));
      }, this.options.connectTimeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** The live connection, if any, without waiting. */
  get now(): ChannelModel | undefined {
    return this.state === 'open' ? this.model : undefined;
  }

  onConnected(listener: OnConnected): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onLost(listener: (error: Error) => void): () => void {
    this.lossListeners.add(listener);
    return () => this.lossListeners.delete(listener);
  }

  /** Close for good. Idempotent. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.timer);
    const model = this.model;
    this.model = undefined;
    for (const w of this.waiters.splice(0)) w.reject(new StoreClosedError());
    await model?.close().catch(() => undefined);
  }

  unavailable(message: string, cause: unknown): TransportUnavailableError {
    return new TransportUnavailableError(
      `${message}: ${cause instanceof Error ? cause.message : String(cause)}`,
      { retryable: true, url: redactUrl(this.options.url) },
      { cause },
    );
  }

  private dial(): Promise<ChannelModel> {
    const url = new URL(this.options.url);
    url.searchParams.set('heartbeat', String(this.options.heartbeatSeconds));
    return connect(url.toString(), {
      timeout: 5000,
      clientProperties: { connection_name: 'eventfabric' },
    });
  }

  private adopt(model: ChannelModel): void {
    this.model = model;
    this.state = 'open';
    this.generation++;
    this.attempt = 0;
    model.on('error', (error: Error) => {
      this.lastError = error;
    });
    model.on('close', (error?: Error) => this.lost(model, error));
    for (const w of this.waiters.splice(0)) w.resolve(model);
    for (const listener of this.listeners) listener(model, this.generation);
  }

  private lost(model: ChannelModel, error: Error | undefined): void {
    if (this.model !== model || this.state === 'closed') return;
    this.model = undefined;
    this.state = 'reconnecting';
    this.losses++;
    const reason = error ?? this.lastError ?? new Error('connection closed by the broker');
    this.lastError = reason;
    for (const listener of this.lossListeners) listener(reason);
    this.schedule();
  }

  /** Read through a method: `close()` may change the state while a dial is awaited. */
  private isClosed(): boolean {
    return this.state === 'closed';
  }

  private schedule(): void {
    const { reconnectInitialDelayMs: initial, reconnectMaxDelayMs: max } = this.options;
    const delay = Math.min(max, initial * 2 ** this.attempt) * (0.8 + Math.random() * 0.4);
    this.attempt++;
    this.timer = setTimeout(() => void this.retry(), delay);
  }

  private async retry(): Promise<void> {
    if (this.isClosed()) return;
    try {
      const model = await this.dial();
      if (this.isClosed()) {
        await model.close().catch(() => undefined);
        return;
      }
      this.reconnects++;
      this.adopt(model);
    } catch (error) {
      this.lastError = error as Error;
      if (!this.isClosed()) this.schedule();
    }
  }
}
