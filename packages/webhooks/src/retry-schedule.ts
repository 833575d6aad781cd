import { InvalidArgumentError } from '@eventfabric/core';

/**
 * The default delays between attempts, in ms: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h,
 * 20 h, 20 h. With the first attempt at once, ten attempts span about 3 days (71.6 h), like
 * Svix's schedule stretched to the three days DESIGN.md asks for.
 */
export const DEFAULT_RETRY_SCHEDULE_MS: readonly number[] = Object.freeze(
  [5, 300, 1800, 7200, 18_000, 36_000, 50_400, 72_000, 72_000].map((s) => s * 1000),
);

/** Jitter applied to each delay: ±20 %. */
export const DEFAULT_JITTER = 0.2;

/**
 * The delay before attempt `attempts + 1` after `attempts` failed ones, or undefined when
 * the schedule is spent. `random` is in [0, 1).
 */
export function nextDelay(
  schedule: readonly number[],
  attempts: number,
  jitter: number,
  random: () => number = Math.random,
): number | undefined {
  const base = schedule[attempts - 1];
  if (base === undefined) return undefined;
  return Math.max(0, Math.round(base * (1 + jitter * (2 * random() - 1))));
}

/** @throws InvalidArgumentError unless `schedule` is a list of delays ≥ 0 ms */
export function checkSchedule(schedule: unknown): readonly number[] {
  if (
    !Array.isArray(schedule) ||
    schedule.some((ms) => typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0)
  ) {
    throw new InvalidArgumentError('retrySchedule must be an array of delays in ms (each ≥ 0)', {
      retrySchedule: schedule as never,
    });
  }
  return schedule as number[];
}
