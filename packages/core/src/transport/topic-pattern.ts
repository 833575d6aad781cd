import { InvalidArgumentError } from '../errors/index.js';
import { isConventionalEventType } from '../envelope/event-type.js';

const SEGMENT = /^[a-z0-9_-]+$/i;

/**
 * Compile a topic pattern (see {@link TransportSubscribeOptions.topics}) to a predicate.
 * @throws InvalidArgumentError for an empty pattern or a malformed segment
 */
export function compileTopicPattern(pattern: string): (type: string) => boolean {
  if (typeof pattern !== 'string' || pattern.length === 0) {
    throw new InvalidArgumentError('a topic pattern must be a non-empty string', { pattern });
  }
  if (pattern === '*') return () => true;
  const segments = pattern.split('.');
  const trailing = segments[segments.length - 1] === '*';
  const fixed = trailing ? segments.slice(0, -1) : segments;
  for (const segment of fixed) {
    if (segment !== '*' && !SEGMENT.test(segment)) {
      throw new InvalidArgumentError(
        `topic pattern "${pattern}" has a malformed segment "${segment}"`,
        {
          pattern,
        },
      );
    }
  }
  if (!fixed.includes('*')) {
    const prefix = `${fixed.join('.')}.`;
    return trailing ? (type) => type.startsWith(prefix) : (type) => type === pattern;
  }
  const source = fixed.map((s) => (s === '*' ? '[^.]+' : s.replace(/[-]/g, '\\-'))).join('\\.');
  const regex = new RegExp(`^${source}${trailing ? '\\..+' : ''}$`);
  return (type) => regex.test(type);
}

/** One predicate for several patterns (OR). */
export function compileTopics(patterns: readonly string[]): (type: string) => boolean {
  if (!Array.isArray(patterns) || patterns.length === 0) {
    throw new InvalidArgumentError('topics must be a non-empty array of patterns');
  }
  const predicates = patterns.map(compileTopicPattern);
  return predicates.length === 1 ? predicates[0]! : (type) => predicates.some((p) => p(type));
}

/**
 * Type prefixes a store can filter `$all` on that cover every pattern (exact types and
 * patterns up to their first wildcard), or undefined when a pattern starts with one. A
 * prefix can admit more than its pattern: match each event exactly afterwards.
 */
export function topicPrefixes(
  patterns: readonly string[],
  options: { anyVersion?: boolean } = {},
): string[] | undefined {
  const prefixes: string[] = [];
  for (const pattern of patterns) {
    const segments = pattern.split('.');
    const wildcard = segments.indexOf('*');
    if (wildcard === 0) return undefined;
    if (wildcard !== -1) prefixes.push(`${segments.slice(0, wildcard).join('.')}.`);
    // A reader whose events are upcast on read (a projection keyed by `x.v2`) must also be
    // given the stored `x.v1` events, which arrive as `x.v2`.
    else if (options.anyVersion && isConventionalEventType(pattern)) {
      prefixes.push(pattern.slice(0, pattern.lastIndexOf('.v') + 2));
    } else prefixes.push(pattern);
  }
  return prefixes;
}
