import { request, type IncomingMessage } from 'node:http';

/** One SSE message as the client parsed it. */
export interface SseMessage {
  id?: string;
  event?: string;
  data: string;
}

/** A minimal EventSource over node:http, for tests: it keeps every message and comment. */
export class SseClient {
  readonly messages: SseMessage[] = [];
  readonly comments: string[] = [];
  status = 0;
  headers: IncomingMessage['headers'] = {};
  private response: IncomingMessage | undefined;
  private buffer = '';
  private waiters: (() => void)[] = [];
  private ended = false;
  private readonly ready: Promise<void>;

  constructor(
    url: string,
    headers: Record<string, string> = {},
    options: { paused?: boolean } = {},
  ) {
    this.ready = new Promise((resolve, reject) => {
      const req = request(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
        this.response = res;
        this.status = res.statusCode ?? 0;
        this.headers = res.headers;
        res.setEncoding('utf8');
        if (options.paused) res.pause();
        res.on('data', (chunk: string) => this.receive(chunk));
        res.on('end', () => this.finish());
        res.on('close', () => this.finish());
        res.on('error', () => this.finish());
        resolve();
      });
      req.on('error', reject);
      req.end();
    });
  }

  /** Resolves once the response headers have arrived. */
  connected(): Promise<void> {
    return this.ready;
  }

  /** True once the server ended the stream. */
  get isEnded(): boolean {
    return this.ended;
  }

  /** Start reading a client created paused. */
  resume(): void {
    this.response?.resume();
  }

  /** Resolve once `predicate` holds, or reject after `timeoutMs`. */
  async until(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) {
        throw new Error(
          `SSE condition not met within ${timeoutMs} ms; got ${this.messages.length} messages`,
        );
      }
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 20);
      });
    }
  }

  /** The event messages' ids (no `end` message). */
  ids(): string[] {
    return this.messages.filter((m) => m.event === undefined).map((m) => m.id!);
  }

  close(): void {
    this.response?.destroy();
  }

  private receive(chunk: string): void {
    this.buffer += chunk;
    let cut: number;
    while ((cut = this.buffer.indexOf('\n\n')) !== -1) {
      const block = this.buffer.slice(0, cut);
      this.buffer = this.buffer.slice(cut + 2);
      this.parse(block);
    }
    this.wake();
  }

  private parse(block: string): void {
    const message: SseMessage = { data: '' };
    let hasData = false;
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) {
        this.comments.push(line.slice(1).trim());
        continue;
      }
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id') message.id = value;
      else if (field === 'event') message.event = value;
      else if (field === 'data') {
        message.data = hasData ? `${message.data}\n${value}` : value;
        hasData = true;
      }
    }
    if (hasData) this.messages.push(message);
  }

  private finish(): void {
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
