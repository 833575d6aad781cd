#!/usr/bin/env node
// Type-checks every ```ts block in README.md and docs/*.md: docs that do not compile are
// wrong docs. Each block becomes docs/.samples/<file>-<n>.ts (git-ignored), then tsc checks
// them against the packages' sources.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const out = join(root, 'docs', '.samples');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const files = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
let count = 0;
for (const file of files) {
  const text = readFileSync(join(root, file), 'utf8');
  let n = 0;
  for (const match of text.matchAll(/```ts\n([\s\S]*?)```/g)) {
    const name = `${file.replace(/[/.]/g, '_')}-${++n}.ts`;
    // Each sample is its own module, so names do not clash between samples.
    writeFileSync(join(out, name), `${match[1]}\nexport {};\n`);
    count++;
  }
}
try {
  execFileSync(
    join(root, 'node_modules', '.bin', 'tsc'),
    ['-p', join(root, 'tsconfig.docs.json')],
    { stdio: 'inherit' },
  );
  console.log(`${count} doc samples compile`);
} catch {
  console.error('doc samples do not compile (see docs/.samples)');
  process.exit(1);
}
