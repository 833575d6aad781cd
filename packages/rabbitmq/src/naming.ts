import { InvalidArgumentError } from '@eventfabric/core';

/** The bounded context of an event type: its first segment (`treasury` of `treasury.x.y.v1`). */
export function contextOf(type: string): string {
  const dot = type.indexOf('.');
  return dot === -1 ? type : type.slice(0, dot);
}

/** The topic exchange of a context, `<context>.events` (DESIGN.md naming). */
export function exchangeOf(context: string): string {
  return `${context}.events`;
}

/** Where a delayed retry waits: `<queue>.retry.<delay>`. */
export function retryQueueName(queue: string, delayMs: number): string {
  return `${queue}.retry.${delayMs}`;
}

/** Where dead letters of a queue are kept: `<queue>.dlq`. */
export function deadLetterQueueName(queue: string): string {
  return `${queue}.dlq`;
}

/** One binding of a group's queue: the exchange of the pattern's context, and an AMQP key. */
export interface PatternBinding {
  exchange: string;
  bindingKey: string;
}

/**
 * Translate a contract topic pattern (already checked by `compileTopicPattern`) to an AMQP
 * topic binding. A `*` between dots is one word in both languages. A trailing `*` means "one
 * or more further segments": `#` alone would also match the bare prefix, so it becomes `*.#`.
 * The first segment picks the exchange, so it must be fixed.
 * @throws InvalidArgumentError when the pattern does not name its context
 */
export function bindingOf(pattern: string): PatternBinding {
  const segments = pattern.split('.');
  if (segments[0] === '*') {
    throw new InvalidArgumentError(
      `topic pattern "${pattern}" must start with a context: RabbitMQ routes through one exchange per context (<context>.events)`,
      { pattern },
    );
  }
  const last = segments.length - 1;
  const words = segments.map((segment, i) => (segment === '*' && i === last ? '*.#' : segment));
  return { exchange: exchangeOf(segments[0]!), bindingKey: words.join('.') };
}
