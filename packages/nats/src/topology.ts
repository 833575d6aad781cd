import { compileTopics, TopologyConflictError } from '@eventfabric/core';
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  ReplayPolicy,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import {
  consumerName,
  dlqLabel,
  dlqStreamName,
  dlqSubject,
  filterSubject,
  maxDeliveriesAdvisory,
  splitPattern,
  streamLabel,
  streamName,
  streamSubjects,
  type ContextPattern,
} from './naming.js';
import type { ResolvedNatsOptions } from './nats-options.js';

/** A stream of one bounded context, as EventFabric declares it. */
export interface NatsStreamPlan {
  /** DESIGN.md's name, `<context>.events`. */
  label: string;
  /** The server's name, `<context>_events`. */
  name: string;
  context: string;
  subjects: string[];
  storage: 'file' | 'memory';
  replicas: number;
  maxAgeMs: number;
  maxBytes: number;
  duplicateWindowMs: number;
  partitions: number;
}

/** One durable pull consumer: one group, one stream, one partition. */
export interface NatsConsumerPlan {
  group: string;
  /** The server's stream name. */
  stream: string;
  /** DESIGN.md's stream name, `<context>.events`: the origin of its deliveries. */
  streamLabel: string;
  name: string;
  partition: number;
  filterSubject: string;
  /** False when the filter is wider than the group's patterns and the member filters the rest. */
  exactFilter: boolean;
  ackWaitMs: number;
  maxDeliver: number;
  /** Always 1: one delivery per partition in flight is what keeps order per key. */
  maxAckPending: number;
}

/** A group's dead-letter stream. */
export interface NatsDeadLetterPlan {
  group: string;
  /** `<group>.dlq`. */
  label: string;
  name: string;
  /** The subject dead letters are written to, then one max-deliveries advisory per consumer. */
  subjects: string[];
  storage: 'file' | 'memory';
  replicas: number;
}

/** Everything EventFabric declares on a JetStream server, as plain data. */
export interface NatsTopology {
  streams: NatsStreamPlan[];
  consumers: NatsConsumerPlan[];
  deadLetters: NatsDeadLetterPlan[];
}

/** A consumer group and the topic patterns its handlers receive. */
export interface NatsGroupTopics {
  group: string;
  topics: readonly string[];
}

const MS = 1_000_000;
const DESCRIPTION = 'eventfabric';

/** The stream of `context`. */
export function planStream(options: ResolvedNatsOptions, context: string): NatsStreamPlan {
  return {
    label: streamLabel(context),
    name: options.namePrefix + streamName(context),
    context,
    subjects: streamSubjects(options.subjectPrefix, context),
    ...options.stream,
    partitions: options.partitions,
  };
}

/** A group's patterns, by context, in first-seen order. */
export function patternsByContext(topics: readonly string[]): Map<string, ContextPattern[]> {
  compileTopics(topics);
  const byContext = new Map<string, ContextPattern[]>();
  for (const topic of topics) {
    const pattern = splitPattern(topic);
    const list = byContext.get(pattern.context) ?? [];
    list.push(pattern);
    byContext.set(pattern.context, list);
  }
  return byContext;
}

/** The streams, consumers and dead-letter stream of one group. */
export function planGroup(options: ResolvedNatsOptions, { group, topics }: NatsGroupTopics) {
  const streams: NatsStreamPlan[] = [];
  const consumers: NatsConsumerPlan[] = [];
  for (const [context, patterns] of patternsByContext(topics)) {
    const stream = planStream(options, context);
    streams.push(stream);
    for (let partition = 0; partition < options.partitions; partition++) {
      const filter = filterSubject(options.subjectPrefix, partition, patterns);
      consumers.push({
        group,
        stream: stream.name,
        streamLabel: stream.label,
        name: consumerName(group, partition),
        partition,
        filterSubject: filter.subject,
        exactFilter: filter.exact,
        ...options.consumer,
        maxAckPending: 1,
      });
    }
  }
  const deadLetters = planDeadLetters(options, group, consumers);
  return { streams, consumers, deadLetters };
}

/** The dead-letter stream of `group`, capturing the max-deliveries advisories of `consumers`. */
export function planDeadLetters(
  options: ResolvedNatsOptions,
  group: string,
  consumers: readonly NatsConsumerPlan[],
): NatsDeadLetterPlan {
  return {
    group,
    label: dlqLabel(group),
    name: options.namePrefix + dlqStreamName(group),
    subjects: [
      dlqSubject(options.subjectPrefix, group),
      ...consumers.map((c) => maxDeliveriesAdvisory(c.stream, c.name)),
    ],
    storage: options.stream.storage,
    replicas: options.stream.replicas,
  };
}

/**
 * The topology EventFabric would declare for these contexts (publishers declare the streams
 * they publish to) and groups (subscribers declare their streams, consumers and dead-letter
 * stream). Pure: nothing is sent to a server.
 */
export function planNatsTopology(
  options: ResolvedNatsOptions,
  plan: { contexts?: readonly string[]; groups?: readonly NatsGroupTopics[] },
): NatsTopology {
  const streams = new Map<string, NatsStreamPlan>();
  for (const context of plan.contexts ?? []) {
    const stream = planStream(options, context);
    streams.set(stream.name, stream);
  }
  const topology: NatsTopology = { streams: [], consumers: [], deadLetters: [] };
  for (const group of plan.groups ?? []) {
    const planned = planGroup(options, group);
    for (const stream of planned.streams) streams.set(stream.name, stream);
    topology.consumers.push(...planned.consumers);
    topology.deadLetters.push(planned.deadLetters);
  }
  topology.streams = [...streams.values()];
  return topology;
}

function streamConfig(plan: NatsStreamPlan): Partial<StreamConfig> & { name: string } {
  return {
    name: plan.name,
    description: `${DESCRIPTION} ${plan.label} partitions=${plan.partitions}`,
    subjects: plan.subjects,
    storage: plan.storage === 'file' ? StorageType.File : StorageType.Memory,
    num_replicas: plan.replicas,
    max_age: plan.maxAgeMs * MS,
    max_bytes: plan.maxBytes,
    duplicate_window: plan.duplicateWindowMs * MS,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.New,
  };
}

function deadLetterConfig(plan: NatsDeadLetterPlan): Partial<StreamConfig> & { name: string } {
  return {
    name: plan.name,
    description: `${DESCRIPTION} ${plan.label}`,
    subjects: plan.subjects,
    storage: plan.storage === 'file' ? StorageType.File : StorageType.Memory,
    num_replicas: plan.replicas,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.New,
  };
}

function consumerConfig(plan: NatsConsumerPlan): Partial<ConsumerConfig> {
  return {
    durable_name: plan.name,
    description: `${DESCRIPTION} ${plan.group} partition ${plan.partition}`,
    ack_policy: AckPolicy.Explicit,
    ack_wait: plan.ackWaitMs * MS,
    max_deliver: plan.maxDeliver,
    max_ack_pending: plan.maxAckPending,
    filter_subject: plan.filterSubject,
    deliver_policy: DeliverPolicy.All,
    replay_policy: ReplayPolicy.Instant,
  };
}

/** One setting whose declared value differs from the server's. */
export interface TopologyDifference {
  setting: string;
  declared: unknown;
  existing: unknown;
}

function differences(
  declared: Record<string, unknown>,
  existing: Record<string, unknown>,
): TopologyDifference[] {
  const found: TopologyDifference[] = [];
  for (const [setting, value] of Object.entries(declared)) {
    const other = existing[setting];
    const same = Array.isArray(value)
      ? Array.isArray(other) && [...value].sort().join('\n') === [...other].sort().join('\n')
      : value === other;
    if (!same) found.push({ setting, declared: value, existing: other ?? null });
  }
  return found;
}

function isApiError(error: unknown, code: number): boolean {
  return error instanceof JetStreamApiError && error.code === code;
}

function conflict(
  what: 'stream' | 'consumer',
  name: string,
  found: TopologyDifference[],
  extra: Record<string, unknown> = {},
): TopologyConflictError {
  const list = found.map((d) => `${d.setting} ${JSON.stringify(d.existing)}`).join(', ');
  return new TopologyConflictError(
    `JetStream ${what} ${name} exists with other settings (${list}); nothing was changed`,
    { [what]: name, ...extra, differences: found as never },
  );
}

/**
 * Declare a context's stream: create it, or check that the one on the server has the same
 * settings. Idempotent.
 * @throws TopologyConflictError when it exists with other settings, or its subjects overlap
 *   another stream's
 */
export async function declareStream(jsm: JetStreamManager, plan: NatsStreamPlan): Promise<void> {
  const config = streamConfig(plan);
  try {
    const info = await jsm.streams.info(plan.name);
    const found = differences(config, info.config as unknown as Record<string, unknown>);
    if (found.length > 0) throw conflict('stream', plan.name, found, { label: plan.label });
    return;
  } catch (error) {
    if (!isApiError(error, JetStreamApiCodes.StreamNotFound)) throw error;
  }
  try {
    await jsm.streams.add(config);
  } catch (error) {
    if (error instanceof JetStreamApiError) {
      // Created meanwhile by another process (compare again), or subjects taken by another stream.
      if (error.code === 10058) return declareStream(jsm, plan);
      throw new TopologyConflictError(
        `JetStream refused stream ${plan.name}: ${error.message}; nothing was changed`,
        { stream: plan.name, label: plan.label, brokerMessage: error.message },
        { cause: error },
      );
    }
    throw error;
  }
}

/**
 * Declare a group's consumer on one partition: create it, or check the existing one.
 * @throws TopologyConflictError when it exists with another filter or delivery settings (a
 *   group whose topics changed: delete its consumers first)
 */
export async function declareConsumer(
  jsm: JetStreamManager,
  plan: NatsConsumerPlan,
): Promise<void> {
  const config = consumerConfig(plan);
  const compared = { ...config };
  delete compared.description;
  try {
    const info = await jsm.consumers.info(plan.stream, plan.name);
    const found = differences(compared, info.config as unknown as Record<string, unknown>);
    if (found.length > 0) throw conflict('consumer', plan.name, found, { group: plan.group });
    return;
  } catch (error) {
    if (!isApiError(error, JetStreamApiCodes.ConsumerNotFound)) throw error;
  }
  try {
    await jsm.consumers.add(plan.stream, config);
  } catch (error) {
    if (error instanceof JetStreamApiError) {
      if (error.code === 10148 || error.code === 10105) return declareConsumer(jsm, plan);
      throw new TopologyConflictError(
        `JetStream refused consumer ${plan.name} on ${plan.stream}: ${error.message}`,
        { consumer: plan.name, group: plan.group, brokerMessage: error.message },
        { cause: error },
      );
    }
    throw error;
  }
}

/**
 * Declare a group's dead-letter stream. Subjects only ever grow: a group that reads one more
 * context adds its consumers' advisories to the existing stream.
 */
export async function declareDeadLetters(
  jsm: JetStreamManager,
  plan: NatsDeadLetterPlan,
): Promise<void> {
  const config = deadLetterConfig(plan);
  let existing: StreamConfig;
  try {
    existing = (await jsm.streams.info(plan.name)).config;
  } catch (error) {
    if (!isApiError(error, JetStreamApiCodes.StreamNotFound)) throw error;
    try {
      await jsm.streams.add(config);
      return;
    } catch (addError) {
      if (!isApiError(addError, 10058)) throw addError;
      existing = (await jsm.streams.info(plan.name)).config;
    }
  }
  const { subjects: _subjects, ...settings } = config;
  const found = differences(settings, existing as unknown as Record<string, unknown>);
  if (found.length > 0) throw conflict('stream', plan.name, found, { label: plan.label });
  const missing = plan.subjects.filter((s) => !existing.subjects.includes(s));
  if (missing.length > 0) {
    await jsm.streams.update(plan.name, { subjects: [...existing.subjects, ...missing] });
  }
}
