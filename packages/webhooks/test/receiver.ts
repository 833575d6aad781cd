import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the receiver does with one request. */
export type Cue =
  | { status: number; body?: string }
  /** Never answer (the sender's timeout fires). */
  | { hang: true }
  /** Answer 200 with this many bytes. */
  | { bigBody: number };

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/**
 * A webhook receiver on 127.0.0.1 that answers from a queue of cues (then `fallback`), and
 * records every request it gets.
 */
export class Receiver {
  readonly received: Received[] = [];
  readonly cues: Cue[] = [];
  fallback: Cue = { status: 200, body: 'ok' };
  private server: Server | undefined;
  url = '';

  async start(port = 0): Promise<string> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (c: Buffer) => chunks.push(c));
      request.on('end', () => {
        this.received.push({
          headers: request.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          at: Date.now(),
        });
        const cue = this.cues.shift() ?? this.fallback;
        if ('hang' in cue) return;
        if ('bigBody' in cue) {
          response.writeHead(200, { 'content-type': 'text/plain' });
          response.end('x'.repeat(cue.bigBody));
          return;
        }
        response.writeHead(cue.status, { 'content-type': 'text/plain' });
        response.end(cue.body ?? '');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
    return this.url;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}

/** Poll until `condition` holds; throws naming `what` after `ms`. */
export async function until(
  condition: () => boolean | Promise<boolean>,
  what: string,
  ms = 10_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
