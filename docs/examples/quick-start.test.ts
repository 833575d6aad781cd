import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { quickStart } from './quick-start.js';

describe('README library example', () => {
  it('is the code of docs/examples/quick-start.ts, verbatim', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const block = /## Library example[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBe(readFileSync(new URL('./quick-start.ts', import.meta.url), 'utf8'));
  });

  it('appends an event and reads it back', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'ef-readme-')), 'example.db');
    expect(await quickStart(path)).toEqual(['0 treasury.contribution.approved.v1 1']);
  });
});
