import { InvalidArgumentError } from '@eventfabric/core';

/**
 * How DESIGN.md's names map onto JetStream, whose stream and consumer names cannot contain
 * dots (`.`, `*`, `>` and whitespace are reserved in subjects).
 *
 * - The stream of bounded context `treasury` is `treasury.events`, named `treasury_events`
 *   on the server, and holds the subjects `<prefix>.events.<partition>.treasury[.>]`.
 * - An event of type `treasury.contribution.approved.v1` with partition key K travels on
 *   `<prefix>.events.<fnv1a(K) mod P>.treasury.contribution.approved.v1`: the type's dots are subject
 *   tokens, and the partition token lets each partition have a consumer of its own.
 * - Group `billing.invoicing` has, per stream it reads and per partition, a durable pull
 *   consumer `billing_invoicing_p07`; its dead letters are the stream `billing.invoicing.dlq`,
 *   named `billing_invoicing_dlq`, on subject `<prefix>.dlq.billing.invoicing`.
 */

/** The JetStream-safe form of a dotted name: dots become underscores. */
export function serverName(dotted: string): string {
  return dotted.replaceAll('.', '_');
}

/** `<context>.events`, as DESIGN.md names it. */
export function streamLabel(context: string): string {
  return `${context}.events`;
}

/** The server-side name of a context's stream. */
export function streamName(context: string): string {
  return serverName(streamLabel(context));
}

/** The subjects a context's stream captures. */
export function streamSubjects(prefix: string, context: string): string[] {
  return [`${prefix}.events.*.${context}`, `${prefix}.events.*.${context}.>`];
}

/** The durable consumer of one group on one partition of one stream. */
export function consumerName(group: string, partition: number): string {
  return `${serverName(group)}_p${String(partition).padStart(2, '0')}`;
}

/** `<group>.dlq`, as DESIGN.md names it. */
export function dlqLabel(group: string): string {
  return `${group}.dlq`;
}

/** The server-side name of a group's dead-letter stream. */
export function dlqStreamName(group: string): string {
  return serverName(dlqLabel(group));
}

/** The subject dead letters of `group` are written to. */
export function dlqSubject(prefix: string, group: string): string {
  return `${prefix}.dlq.${group}`;
}

/** The advisory JetStream sends when a consumer gives up on a message after `max_deliver`. */
export function maxDeliveriesAdvisory(stream: string, consumer: string): string {
  return `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${stream}.${consumer}`;
}

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const encoder = new TextEncoder();

/** 32-bit FNV-1a of the key's UTF-8 bytes, modulo `partitions`: stable across processes. */
export function partitionOf(key: string, partitions: number): number {
  let hash = FNV_OFFSET_BASIS;
  for (const byte of encoder.encode(key)) {
    hash ^= byte;
    hash = Math.imul(hash, FNV_PRIME) >>> 0;
  }
  return hash % partitions;
}

/** A subject token: no separators, wildcards, whitespace or control characters. */
function isToken(token: string): boolean {
  if (!/^[^\s.*>]+$/u.test(token)) return false;
  for (let i = 0; i < token.length; i++) {
    const code = token.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return false;
  }
  return true;
}

/** The context (first segment) of an event type. */
export function contextOf(type: string): string {
  const dot = type.indexOf('.');
  return dot < 0 ? type : type.slice(0, dot);
}

/**
 * The subject of an event: `<prefix>.events.<partition>.<type>`.
 * @throws InvalidArgumentError when the type cannot be written as subject tokens
 */
export function eventSubject(prefix: string, partition: number, type: string): string {
  if (!type.split('.').every(isToken)) {
    throw new InvalidArgumentError(
      `event type "${type}" cannot travel on NATS: each dotted segment must be a subject token (no spaces, "*" or ">")`,
      { type },
    );
  }
  return `${prefix}.events.${partition}.${type}`;
}

/** A topic pattern split by context, as a group's consumers filter it. */
export interface ContextPattern {
  context: string;
  /** The pattern's segments after the context, `*` kept as written. */
  rest: string[];
}

/**
 * Split a topic pattern (already checked by `compileTopicPattern`) into its context and the
 * rest. JetStream keeps one stream per context, so a pattern must name its context.
 * @throws InvalidArgumentError for a pattern whose first segment is a wildcard
 */
export function splitPattern(pattern: string): ContextPattern {
  const [context, ...rest] = pattern.split('.');
  if (context === undefined || context === '*') {
    throw new InvalidArgumentError(
      `topic pattern "${pattern}" must start with a bounded context on NATS: each context is a stream of its own`,
      { pattern },
    );
  }
  return { context, rest };
}

/**
 * The filter subject of a partition consumer for a context's patterns. One pattern maps
 * exactly (a trailing `*` becomes `>`, a `*` between dots stays `*`). nats-server 2.9 takes
 * one filter subject per consumer, so several patterns share the longest common literal
 * prefix, and the member filters exactly on the type (`exact: false`).
 */
export function filterSubject(
  prefix: string,
  partition: number,
  patterns: readonly ContextPattern[],
): { subject: string; exact: boolean } {
  const base = `${prefix}.events.${partition}.${patterns[0]!.context}`;
  const distinct = [...new Set(patterns.map((p) => p.rest.join('.')))];
  if (distinct.length === 1) {
    const rest = patterns[0]!.rest;
    if (rest.length === 0) return { subject: base, exact: true };
    const tokens = rest.map((segment, i) =>
      segment === '*' && i === rest.length - 1 ? '>' : segment,
    );
    return { subject: `${base}.${tokens.join('.')}`, exact: true };
  }
  const common: string[] = [];
  const lists = patterns.map((p) => p.rest);
  for (let i = 0; ; i++) {
    const token = lists[0]![i];
    if (token === undefined || token === '*') break;
    if (!lists.every((list) => list[i] === token && list.length > i + 1)) break;
    common.push(token);
  }
  // Every pattern has a segment past the common prefix, so `>` covers them all.
  const covered = lists.every((list) => list.length > common.length);
  if (!covered) return { subject: `${prefix}.events.${partition}.>`, exact: false };
  return { subject: [base, ...common, '>'].join('.'), exact: false };
}
