// The server side of bench/http-publish.bench.js, run as its own process so the load
// generator never shares its event loop:
// `node bench/http-publish-server.js ours|bare <dir> [FULL|NORMAL]` (SQLite `synchronous`).
// `ours` is createServer over a SQLite store; `bare` is a plain Fastify route doing the same
// store append (one appendMany per request) with Fastify's default JSON parser. Both listen on
// 127.0.0.1, print their URL on stdout, and exit on SIGTERM.
import { join } from 'node:path';
import Fastify from 'fastify';
import { createSqliteEventStore } from '@eventfabric/sqlite';
import { createServer } from '@eventfabric/server';

const [side, dir, synchronous = 'FULL'] = process.argv.slice(2);
const store = createSqliteEventStore({ path: join(dir, `${side}.db`), synchronous });

let close;
let url;
if (side === 'ours') {
  const server = await createServer({ store, limits: { rateLimitMax: 0 } });
  url = await server.listen({ port: 0, host: '127.0.0.1' });
  close = () => server.close();
} else {
  const app = Fastify();
  app.post('/v1/events', async (request, reply) => {
    const { positions } = await store.appendMany([request.body]);
    return reply.code(201).send({ positions, duplicates: 0 });
  });
  url = await app.listen({ port: 0, host: '127.0.0.1' });
  close = () => app.close();
}
process.stdout.write(`${url}\n`);
process.once('SIGTERM', async () => {
  await close();
  await store.close();
  process.exit(0);
});
