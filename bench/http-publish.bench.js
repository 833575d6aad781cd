// http.publish: POST /v1/events (one structured CloudEvent per request, a new id each time,
// over 100 streams) against a bare Fastify route doing the same store append, in the same
// run. Each server runs in its own process (bench/http-publish-server.js) on a fresh SQLite
// store (WAL, synchronous=FULL: one fsync per request on both sides); autocannon drives it
// from this process with 16 connections, alternating sides for three rounds (the median
// round of each is kept). Rates are requests (= events) per second; p50/p99
// are ours, in ms.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const SERVER = fileURLToPath(new URL('./http-publish-server.js', import.meta.url));
const CONNECTIONS = 16;
const WARMUP_SECONDS = 2;
const SECONDS = 8;
const ROUNDS = 3;

function startServer(side, dir, synchronous) {
  const child = spawn(process.execPath, [SERVER, side, dir, synchronous], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const line = out.split('\n')[0];
      if (out.includes('\n')) resolve({ url: line, child });
    });
    child.on('exit', (code) => reject(new Error(`${side} server exited with ${code}`)));
  });
}

async function stopServer({ child }) {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** One autocannon run; every request carries a new event id. */
function load(url, seconds, side, contentType) {
  let n = 0;
  return autocannon({
    url: `${url}/v1/events`,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': contentType },
        setupRequest(request) {
          n++;
          request.body = JSON.stringify({
            specversion: '1.0',
            id: `${side}-${process.pid}-${n}`,
            type: 'bench.contribution.approved.v1',
            source: '/bench',
            subject: `contribution-${n % 100}`,
            data: {
              contributionId: `c-${n}`,
              memberId: 'member-7',
              amountCents: 12500,
              note: 'approved',
            },
          });
          return request;
        },
      },
    ],
  });
}

async function measure(side, contentType, synchronous) {
  const dir = mkdtempSync(join(tmpdir(), `ef-bench-http-${side}-`));
  const server = await startServer(side, dir, synchronous);
  try {
    await load(server.url, WARMUP_SECONDS, `${side}-warm`, contentType);
    const result = await load(server.url, SECONDS, side, contentType);
    const failed = result.non2xx + result.errors + result.timeouts;
    if (failed > 0) throw new Error(`${side}: ${failed} failed requests`);
    return {
      rate: result.requests.total / SECONDS,
      p50: result.latency.p50,
      p99: result.latency.p99,
    };
  } finally {
    await stopServer(server);
    rmSync(dir, { recursive: true, force: true });
  }
}

function scenario(synchronous) {
  return async function run() {
    const ours = [];
    const bare = [];
    for (let round = 0; round < ROUNDS; round++) {
      bare.push(await measure('bare', 'application/json', synchronous));
      ours.push(await measure('ours', 'application/cloudevents+json', synchronous));
    }
    // The median round of each side: a noisy neighbour hits both sides alike.
    const middle = (runs) => [...runs].sort((a, b) => a.rate - b.rate)[Math.floor(runs.length / 2)];
    const o = middle(ours);
    const b = middle(bare);
    console.log(
      `\n  http.publish (synchronous=${synchronous}): ours ${o.rate.toFixed(0)} req/s p50 ${o.p50} ms p99 ${o.p99} ms; ` +
        `bare Fastify ${b.rate.toFixed(0)} req/s p50 ${b.p50} ms p99 ${b.p99} ms`,
    );
    return { ours: o.rate, baseline: b.rate, p50: o.p50, p99: o.p99 };
  };
}

// http.publish.nosync runs both stores with synchronous=NORMAL (no fsync per commit), so the
// HTTP layer's own cost shows instead of the disk's.
export const benchmarks = [
  { id: 'http.publish', unit: 'ev/s', goal: null, run: scenario('FULL') },
  { id: 'http.publish.nosync', unit: 'ev/s', goal: null, run: scenario('NORMAL') },
];
