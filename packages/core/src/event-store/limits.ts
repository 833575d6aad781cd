/** Size limits every store enforces on append. */
export interface StoreLimits {
  /**
   * Largest serialised event, in bytes.
   * @defaultValue 1 MiB
   */
  maxEventBytes: number;
  /**
   * Most events in one append.
   * @defaultValue 10 000
   */
  maxBatchSize: number;
}

export const DEFAULT_STORE_LIMITS: Readonly<StoreLimits> = Object.freeze({
  maxEventBytes: 1024 * 1024,
  maxBatchSize: 10_000,
});

/** Longest stream id accepted. */
export const MAX_STREAM_ID_LENGTH = 512;
