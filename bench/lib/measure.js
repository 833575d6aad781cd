/**
 * Alternate ours and the baseline for several rounds and keep each side's median rate, so
 * a noisy neighbour or a checkpoint hits both sides alike.
 * @param {{ rounds: number, ours: () => Promise<number>, baseline: () => Promise<number> }} o
 *   each side returns the number of operations it did; the rate is per second.
 */
export async function compareRates({ rounds, ours, baseline }) {
  const oursRates = [];
  const baseRates = [];
  for (let i = 0; i < rounds; i++) {
    baseRates.push(await rate(baseline));
    oursRates.push(await rate(ours));
  }
  return { ours: median(oursRates), baseline: median(baseRates) };
}

async function rate(fn) {
  const start = process.hrtime.bigint();
  const ops = await fn();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return ops / seconds;
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** The q-quantile (0..1) of latency samples. */
export function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}
