import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { ResolvedTarget } from './target-resolver.js';

/** What one POST produced. */
export interface PostResult {
  /** The HTTP status; undefined when no response came (timeout, refused, reset). */
  status?: number;
  /** The first `keepBytes` of the body. */
  body: string;
  latencyMs: number;
  /** Set when no complete response came: `timeout` or the socket error's message. */
  error?: string;
  timedOut: boolean;
}

/** Options of {@link postTo}. */
export interface PostOptions {
  headers: Record<string, string>;
  body: string;
  /** The whole request, connect to last byte read. */
  timeoutMs: number;
  /** Most response bytes read; the connection is dropped past it. */
  maxResponseBytes: number;
  /** Bytes of the response kept for the log. */
  keepBytes: number;
}

/**
 * POST to a checked target, connecting to its checked address (the URL's host goes in
 * `Host` and TLS SNI, so certificates are still verified against the name). Never follows
 * redirects; never throws: every failure is in the result.
 */
export function postTo(target: ResolvedTarget, options: PostOptions): Promise<PostResult> {
  const started = performance.now();
  const url = target.url;
  const https = url.protocol === 'https:';
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: Omit<PostResult, 'latencyMs'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...result, latencyMs: performance.now() - started });
    };
    const request = (https ? httpsRequest : httpRequest)({
      host: target.address,
      family: target.family,
      port: url.port === '' ? (https ? 443 : 80) : Number(url.port),
      path: `${url.pathname}${url.search}`,
      method: 'POST',
      headers: {
        ...options.headers,
        host: url.host,
        'content-length': String(Buffer.byteLength(options.body)),
      },
      servername: https && hostname !== target.address ? hostname : undefined,
      agent: false,
    });
    const timer = setTimeout(() => {
      finish({ body: '', error: 'timeout', timedOut: true });
      request.destroy();
    }, options.timeoutMs);
    request.on('error', (error) => finish({ body: '', error: error.message, timedOut: false }));
    request.on('response', (response: IncomingMessage) => {
      const kept: Buffer[] = [];
      let keptBytes = 0;
      let read = 0;
      const status = response.statusCode;
      response.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (keptBytes < options.keepBytes) {
          const part = chunk.subarray(0, options.keepBytes - keptBytes);
          kept.push(part);
          keptBytes += part.length;
        }
        if (read > options.maxResponseBytes) {
          // Enough: the status is known and the log keeps only the start.
          finish({ status, body: text(kept), timedOut: false });
          response.destroy();
          request.destroy();
        }
      });
      response.on('end', () => finish({ status, body: text(kept), timedOut: false }));
      response.on('error', (error) =>
        finish({ status, body: text(kept), error: error.message, timedOut: false }),
      );
    });
    request.end(options.body);
  });
}

function text(chunks: Buffer[]): string {
  // A multi-byte character cut at the boundary becomes U+FFFD: the log is for people.
  return Buffer.concat(chunks).toString('utf8');
}
