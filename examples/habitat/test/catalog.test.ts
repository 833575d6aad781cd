import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CATALOG_PATH, renderCatalog } from '@eventfabric/habitat';

describe('the generated event catalog', () => {
  it('is up to date: docs/habitat-catalog.md equals what the schemas and handlers declare (npm run catalog -w @eventfabric/habitat)', async () => {
    expect(readFileSync(CATALOG_PATH, 'utf8')).toBe(await renderCatalog());
  });

  it('lists every type with its versions, producers, consumers, retry policy and SLA', async () => {
    const catalog = await renderCatalog();
    expect(catalog).toContain('34 event types (36 schema versions)');
    expect(catalog).toContain(
      '| [`people.member.registered`](#peoplememberregistered) | v1, v2 | 1 | 3 |',
    );
    const approved = catalog.slice(catalog.indexOf('## agreements.contribution.approved'));
    expect(approved.slice(0, approved.indexOf('Data of'))).toContain(
      'treasury: projection `patronage` — batch retried until it commits; SLA p99 ≤ 100 ms from the approval commit (bench habitat.sla)',
    );
    expect(catalog).toContain(
      'treasury: handler `treasury_capital` — 10 attempts, backoff from 100 ms ×2 to 30 s; SLA p99 ≤ 2 s',
    );
  });
});
