import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_SCHEDULE_MS, nextDelay } from '../src/index.js';

describe('retry schedule', () => {
  it('given the default schedule, then ten attempts span about three days', () => {
    const hours = DEFAULT_RETRY_SCHEDULE_MS.reduce((a, b) => a + b, 0) / 3_600_000;
    expect(DEFAULT_RETRY_SCHEDULE_MS).toHaveLength(9);
    expect(hours).toBeCloseTo(71.6, 1);
  });

  it('given jitter, then each delay stays within its bounds; past the schedule there is none', () => {
    const schedule = [1000, 2000];
    expect(nextDelay(schedule, 1, 0.2, () => 0)).toBe(800);
    expect(nextDelay(schedule, 1, 0.2, () => 0.5)).toBe(1000);
    expect(nextDelay(schedule, 2, 0.2, () => 0.999_999)).toBe(2400);
    expect(nextDelay(schedule, 3, 0.2, () => 0.5)).toBeUndefined();
    expect(nextDelay([], 1, 0.2)).toBeUndefined();
  });
});
