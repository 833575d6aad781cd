import { TransportUnavailableError } from '@eventfabric/core';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { resolveNatsOptions, type NatsTransportOptions } from './nats-options.js';
import {
  planNatsTopology as planResolved,
  type NatsConsumerPlan,
  type NatsGroupTopics,
  type NatsTopology,
} from './topology.js';

const MS = 1_000_000;

/**
 * The topology EventFabric would declare for these contexts and groups, with these
 * options. Pure: nothing is sent to a server.
 *
 * @example
 * planNatsTopology({ partitions: 4 }, { groups: [{ group: 'billing.ledger', topics: ['billing.*'] }] })
 */
export function planNatsTopology(
  options: Omit<NatsTransportOptions, 'servers'> & { servers?: NatsTransportOptions['servers'] },
  plan: { contexts?: readonly string[]; groups?: readonly NatsGroupTopics[] },
): NatsTopology {
  const resolved = resolveNatsOptions({ servers: 'nats://127.0.0.1:4222', ...options });
  return planResolved(resolved, plan);
}

/**
 * The topology EventFabric has declared on a server, read back from it: every stream whose
 * description marks it as EventFabric's (events and dead letters, with their message counts)
 * and every durable consumer of the event streams. Declares nothing.
 * @throws TransportUnavailableError when no server answers
 */
export async function inspectNatsTopology(
  options: Pick<NatsTransportOptions, 'servers' | 'namePrefix'>,
): Promise<NatsTopologyReport> {
  const resolved = resolveNatsOptions({ servers: options.servers, namePrefix: options.namePrefix });
  let nc;
  try {
    nc = await connect({ servers: resolved.servers, name: 'eventfabric topology' });
  } catch (error) {
    throw new TransportUnavailableError(
      `cannot connect to NATS at ${resolved.servers.join(', ')}: ${(error as Error).message}`,
      { retryable: true, servers: resolved.servers },
      { cause: error },
    );
  }
  try {
    return await read(await jetstreamManager(nc), resolved.namePrefix);
  } finally {
    await nc.close();
  }
}

/** {@link NatsTopology} as read from a server, with what each stream holds. */
export interface NatsTopologyReport extends NatsTopology {
  /** Messages per stream (server name): events, or dead letters. */
  messages: Record<string, number>;
}

async function read(jsm: JetStreamManager, namePrefix: string): Promise<NatsTopologyReport> {
  const report: NatsTopologyReport = { streams: [], consumers: [], deadLetters: [], messages: {} };
  for await (const info of jsm.streams.list()) {
    const { config } = info;
    if (!config.name.startsWith(namePrefix)) continue;
    const description = /^eventfabric (\S+)(?: partitions=(\d+))?$/.exec(config.description ?? '');
    if (!description) continue;
    const label = description[1]!;
    const storage = config.storage === 'memory' ? 'memory' : 'file';
    report.messages[config.name] = info.state.messages;
    if (label.endsWith('.dlq')) {
      report.deadLetters.push({
        group: label.slice(0, -'.dlq'.length),
        label,
        name: config.name,
        subjects: config.subjects,
        storage,
        replicas: config.num_replicas,
      });
      continue;
    }
    report.streams.push({
      label,
      name: config.name,
      context: label.slice(0, -'.events'.length),
      subjects: config.subjects,
      storage,
      replicas: config.num_replicas,
      maxAgeMs: config.max_age / MS,
      maxBytes: config.max_bytes,
      duplicateWindowMs: config.duplicate_window / MS,
      partitions: Number(description[2] ?? 0),
    });
    for await (const consumer of jsm.consumers.list(config.name)) {
      const group = /^eventfabric (\S+) partition (\d+)$/.exec(consumer.config.description ?? '');
      if (!group) continue;
      const plan: NatsConsumerPlan = {
        group: group[1]!,
        stream: config.name,
        streamLabel: label,
        name: consumer.name,
        partition: Number(group[2]),
        filterSubject: consumer.config.filter_subject ?? '',
        exactFilter: true,
        ackWaitMs: (consumer.config.ack_wait ?? 0) / MS,
        maxDeliver: consumer.config.max_deliver ?? -1,
        maxAckPending: consumer.config.max_ack_pending ?? -1,
      };
      report.consumers.push(plan);
    }
  }
  return report;
}

/** A topology as text, one block per stream, for a person to read. */
export function formatNatsTopology(topology: NatsTopology | NatsTopologyReport): string {
  const messages = 'messages' in topology ? topology.messages : undefined;
  const count = (name: string): string =>
    messages?.[name] === undefined ? '' : `, ${messages[name]} messages`;
  const lines: string[] = [];
  for (const stream of topology.streams) {
    lines.push(`stream ${stream.label} (${stream.name}${count(stream.name)})`);
    lines.push(`  subjects   ${stream.subjects.join(' ')}`);
    lines.push(
      `  storage    ${stream.storage}, replicas ${stream.replicas}, max age ${duration(stream.maxAgeMs)}, max bytes ${stream.maxBytes < 0 ? 'unlimited' : stream.maxBytes}, duplicate window ${duration(stream.duplicateWindowMs)}, ${stream.partitions} partitions`,
    );
    const groups = new Map<string, NatsConsumerPlan[]>();
    for (const consumer of topology.consumers.filter((c) => c.stream === stream.name)) {
      groups.set(consumer.group, [...(groups.get(consumer.group) ?? []), consumer]);
    }
    for (const [group, consumers] of groups) {
      const first = consumers[0]!;
      lines.push(
        `  group ${group}: ${consumers.length} pull consumers ${first.name.replace(/_p\d+$/, '_p*')}, ack wait ${duration(first.ackWaitMs)}, max deliver ${first.maxDeliver}, max ack pending ${first.maxAckPending}`,
      );
      lines.push(`    filter   ${first.filterSubject.replace(/\.events\.\d+\./, '.events.<p>.')}`);
    }
  }
  for (const dlq of topology.deadLetters) {
    lines.push(`dead letters ${dlq.label} (${dlq.name}${count(dlq.name)})`);
    lines.push(`  subjects   ${dlq.subjects[0] ?? ''} + ${dlq.subjects.length - 1} advisories`);
  }
  return lines.length === 0 ? 'no EventFabric streams\n' : `${lines.join('\n')}\n`;
}

function duration(ms: number): string {
  if (ms === 0) return 'unlimited';
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
