import { WrongExpectedVersionError } from '../errors/index.js';
import type { ExpectedVersion } from './event-store.js';

/**
 * Compare the caller's expectation with the stream's current version (-1 when the stream
 * does not exist). Stores call this inside their write transaction.
 * @throws WrongExpectedVersionError reporting both versions
 */
export function checkExpectedVersion(
  streamId: string,
  expected: ExpectedVersion,
  actual: number,
): void {
  const ok =
    expected === 'any' ||
    (expected === 'no_stream' && actual === -1) ||
    (expected === 'stream_exists' && actual >= 0) ||
    expected === actual;
  if (!ok)
    throw new WrongExpectedVersionError(streamId, expected, actual === -1 ? 'no_stream' : actual);
}
