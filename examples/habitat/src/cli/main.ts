#!/usr/bin/env node
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEFAULT_HOST, DEFAULT_PORT } from '@eventfabric/server';
import { auditAllocation, formatAudit } from '../treasury/audit.js';
import { CATALOG_PATH, renderCatalog } from '../catalog/render.js';
import { locate, openBackend } from './locate.js';
import { banner, startDemo } from './start.js';

const USAGE = `usage: habitat <command> [options]

commands:
  start                 the EventFabric server with Habitat mounted, demo data seeded
                        [--port 4400] [--host 127.0.0.1] [--no-seed]
  audit <periodId>      recompute a period's allocation from the events that produced it
                        and compare it with the stored one [--json]; exit 1 on a mismatch
  catalog [--check]     write docs/habitat-catalog.md (--check: exit 1 if it is stale)

store and transport (start, audit):
  --store sqlite:<path> | postgres://user@host:5432/db?schema=habitat   (EVENTFABRIC_STORE)
  --transport embedded | amqp://guest:guest@127.0.0.1:5672              (EVENTFABRIC_TRANSPORT)
  default: sqlite:.eventfabric/eventfabric.db with the embedded transport; a postgres://
  store defaults to RabbitMQ on amqp://guest:guest@127.0.0.1:5672`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      store: { type: 'string' },
      transport: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'no-seed': { type: 'boolean' },
      json: { type: 'boolean' },
      check: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || command === undefined) {
    console.log(USAGE);
    return command === undefined && !values.help ? 2 : 0;
  }
  if (command === 'start') {
    const location = locate(values);
    const demo = await startDemo({
      location,
      port: values.port === undefined ? DEFAULT_PORT : Number(values.port),
      host: values.host ?? DEFAULT_HOST,
      seed: !values['no-seed'],
    });
    console.log(banner(demo, location));
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    console.log('stopping…');
    await demo.close();
    return 0;
  }
  if (command === 'audit') {
    const periodId = rest[0];
    if (periodId === undefined) {
      console.error('habitat audit needs a period id, e.g. habitat audit 2026-q1');
      return 2;
    }
    const backend = await openBackend(locate(values));
    try {
      const audit = await auditAllocation(backend.store, backend.sql, periodId);
      console.log(values.json ? JSON.stringify(audit, null, 2) : formatAudit(audit));
      return audit.match ? 0 : 1;
    } finally {
      await backend.close();
    }
  }
  if (command === 'catalog') {
    const { readFileSync } = await import('node:fs');
    const fresh = await renderCatalog();
    let current = '';
    try {
      current = readFileSync(CATALOG_PATH, 'utf8');
    } catch {
      // no catalog yet
    }
    if (values.check) {
      if (current === fresh) return 0;
      console.error(`${CATALOG_PATH} is stale: run \`npm run catalog -w @eventfabric/habitat\``);
      return 1;
    }
    writeFileSync(CATALOG_PATH, fresh);
    console.log(`wrote ${CATALOG_PATH}`);
    return 0;
  }
  console.error(`unknown command ${command}\n\n${USAGE}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const e = error as { code?: string; message?: string };
    console.error(e.code ? `${e.code}: ${e.message}` : error);
    process.exit(1);
  },
);
