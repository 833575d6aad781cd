import { Client, type ClientConfig } from './driver.js';

/**
 * Wakes subscribers when events may have committed: LISTEN on a dedicated connection
 * (outside the pool, which would hand it to other queries), plus a slow safety tick. The
 * tick covers what sends no NOTIFY: a transaction holding the read horizon ending by
 * rollback, and notifications lost while the connection was down. After every (re)connect
 * all listeners are woken, so they catch up by query.
 */
export class PostgresNotifier {
  private readonly listeners = new Set<() => void>();
  private client: Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Bumped on every start and stop, so a stale reconnect loop ends itself. */
  private generation = 0;

  constructor(
    private readonly clientConfig: ClientConfig,
    private readonly channel: string,
    private readonly safetyTickMs: number,
    private readonly reconnectDelayMs = 500,
  ) {}

  /** Call `wake` on every notification and tick; returns the function that stops the calls. */
  on(wake: () => void): () => void {
    this.listeners.add(wake);
    if (this.listeners.size === 1) this.start();
    return () => {
      if (this.listeners.delete(wake) && this.listeners.size === 0) this.stop();
    };
  }

  /** Wake this process's listeners now, without waiting for a NOTIFY to come back. */
  wakeLocal(): void {
    this.wakeAll();
  }

  close(): void {
    this.listeners.clear();
    this.stop();
  }

  private wakeAll(): void {
    for (const wake of [...this.listeners]) wake();
  }

  private start(): void {
    const generation = ++this.generation;
    this.timer = setInterval(() => this.wakeAll(), this.safetyTickMs);
    this.timer.unref();
    void this.listen(generation);
  }

  private stop(): void {
    this.generation++;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const client = this.client;
    this.client = undefined;
    void client?.end().catch(() => undefined);
  }

  private async listen(generation: number): Promise<void> {
    while (generation === this.generation) {
      const client = new Client(this.clientConfig);
      client.on('notification', () => this.wakeAll());
      // Errors end the connection; the loop below reconnects.
      client.on('error', () => undefined);
      const ended = new Promise<void>((resolve) => client.once('end', resolve));
      try {
        await client.connect();
        if (generation !== this.generation) {
          await client.end();
          return;
        }
        this.client = client;
        await client.query(`LISTEN "${this.channel.replace(/"/g, '""')}"`);
        this.wakeAll();
        await ended;
      } catch {
        void client.end().catch(() => undefined);
      }
      if (this.client === client) this.client = undefined;
      if (generation !== this.generation) return;
      await new Promise((resolve) => setTimeout(resolve, this.reconnectDelayMs).unref());
    }
  }
}
