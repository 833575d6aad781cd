import { InvalidArgumentError, type NackOptions } from '@eventfabric/core';

/**
 * The delay a nack asks for, in ms.
 * @throws InvalidArgumentError for a negative or non-finite delay; the delivery stays unsettled
 */
export function nackDelay(options: NackOptions | undefined): number {
  const delay = options?.delayMs ?? 0;
  if (typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0) {
    throw new InvalidArgumentError('nack delayMs must be a non-negative number', {
      delayMs: delay as never,
    });
  }
  return delay;
}
