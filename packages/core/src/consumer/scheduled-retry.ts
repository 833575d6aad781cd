/**
 * Control flow between the retry middleware and the consumer: "nack this delivery and
 * redeliver it after `delayMs`". Never reaches user code or the dead letters.
 */
export class ScheduledRetry extends Error {
  constructor(
    readonly delayMs: number,
    readonly failure: unknown,
  ) {
    super(`retry scheduled in ${delayMs} ms`);
    this.name = 'ScheduledRetry';
  }
}
