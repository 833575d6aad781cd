#!/usr/bin/env node
// Runs every bench/*.bench.js (or those whose ids start with the given prefixes), prints a
// table and writes bench/results/latest.json. Each benchmark measures EventFabric and the
// raw driver in the same run, on the same machine, and reports ours ÷ baseline.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machine } from './lib/machine.js';

const here = dirname(fileURLToPath(import.meta.url));
const prefixes = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.js'))
  .sort();
const selected = (id) => prefixes.length === 0 || prefixes.some((p) => id.startsWith(p));

const results = [];
const host = machine();
console.log(
  `machine: ${host.cpu} ×${host.cores}, ${host.memoryGiB} GiB, node ${host.node}, ${host.os}`,
);
for (const file of files) {
  const { benchmarks } = await import(join(here, file));
  for (const bench of benchmarks.filter((b) => selected(b.id))) {
    process.stdout.write(`running ${bench.id} … `);
    const r = await bench.run();
    // A cost (µs per event) is better when lower: its ratio is baseline ÷ ours, so a higher
    // ratio is better for every entry; its goal is a ceiling on ours − baseline.
    const cost = bench.kind === 'cost';
    const ratio =
      r.baseline > 0 && r.ours > 0 ? (cost ? r.baseline / r.ours : r.ours / r.baseline) : null;
    const entry = {
      id: bench.id,
      unit: bench.unit,
      ours: round(r.ours),
      baseline: round(r.baseline),
      ratio: ratio === null ? null : round(ratio, 3),
      goal: bench.goal ?? null,
      p50: r.p50 === undefined ? null : round(r.p50, 3),
      p99: r.p99 === undefined ? null : round(r.p99, 3),
      ...(cost ? { overhead: round(r.ours - r.baseline, 2), goalKind: 'max-overhead' } : {}),
      machine: host,
    };
    results.push(entry);
    console.log(
      cost
        ? `${entry.ours} ${entry.unit} vs ${entry.baseline} raw → overhead ${entry.overhead} ${entry.unit}`
        : `${entry.ours} ${entry.unit} vs ${entry.baseline} raw → ${entry.ratio}×`,
    );
  }
}
if (results.length === 0) {
  console.error(`no benchmark id starts with ${prefixes.join(', ')}`);
  process.exit(2);
}
console.table(
  results.map((r) => ({
    id: r.id,
    unit: r.unit,
    ours: r.ours,
    raw: r.baseline,
    ratio: r.ratio,
    goal:
      r.goal === null
        ? 'reported'
        : r.overhead !== undefined
          ? `overhead ≤ ${r.goal}`
          : `≥ ${r.goal}×`,
    met:
      r.goal === null
        ? ''
        : (r.overhead !== undefined ? r.overhead <= r.goal : r.ratio >= r.goal)
          ? 'yes'
          : 'NO',
  })),
);
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'latest.json'), JSON.stringify(results, null, 2) + '\n');
console.log('wrote bench/results/latest.json');

function round(value, digits = 1) {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
