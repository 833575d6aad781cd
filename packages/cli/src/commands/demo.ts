import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import {
  createEvent,
  EventFabricError,
  type CloudEvent,
  type EventParent,
  type StoredEvent,
} from '@eventfabric/core';
import { parseStoreUrl } from '../config.js';
import type { ActionRunner, CommandContext } from '../context.js';
import { formatError, formatEvent } from '../output.js';
import { openStore, type OpenedStore } from '../store.js';

/** Where the demo writes unless `--store` names a store: never the project's own store. */
export const DEMO_STORE_URL = 'sqlite:.eventfabric/demo.db';

/** The demo's schemas, one per event type it appends. */
export const DEMO_SCHEMAS: Record<string, Record<string, unknown>> = {
  'people.member.registered.v1': {
    type: 'object',
    required: ['memberId', 'name'],
    properties: {
      memberId: { type: 'string', minLength: 1 },
      name: { type: 'string', minLength: 1, 'x-pii': true },
    },
  },
  'agreements.contribution.submitted.v1': {
    type: 'object',
    required: ['contributionId', 'memberId', 'amount'],
    properties: {
      contributionId: { type: 'string', minLength: 1 },
      memberId: { type: 'string', minLength: 1 },
      amount: { type: 'number', exclusiveMinimum: 0 },
    },
  },
  'agreements.contribution.approved.v1': {
    type: 'object',
    required: ['contributionId', 'approvedBy'],
    properties: {
      contributionId: { type: 'string', minLength: 1 },
      approvedBy: { type: 'string', minLength: 1 },
    },
  },
};

const SOURCE = '/eventfabric/demo';

export function registerDemoCommand(program: Command, run: ActionRunner): void {
  program
    .command('demo')
    .summary('a guided tour on a scratch store')
    .description(
      'a guided tour on the embedded store: register schemas, append to streams with ' +
        'correlation and causation, read a stream back, see a version conflict and a ' +
        'schema violation rejected, and tail $all',
    )
    .addHelpText(
      'after',
      `
Writes to ${DEMO_STORE_URL} unless --store is given (EVENTFABRIC_STORE and the config file
are ignored, so the demo never touches your project's store). Each run uses new stream ids,
so it is safe to run again.

Examples:
  $ eventfabric demo
  $ eventfabric demo --store sqlite::memory:`,
    )
    .action(run(async (ctx) => runDemo(ctx)));
}

async function runDemo(ctx: CommandContext): Promise<void> {
  const url = ctx.globals.store ?? DEMO_STORE_URL;
  const opened = await openStore({
    storeUrl: url,
    store: parseStoreUrl(url),
    storeSource: ctx.globals.store === undefined ? 'default' : 'flag',
    schemasDir: undefined,
  });
  const say = (text = '') => ctx.out.say(text);
  try {
    say(`EventFabric demo on ${url}`);
    const run = randomBytes(3).toString('hex');
    const startedAfter = await opened.store.headPosition();

    say('\n1. Register a schema for each event type (JSON Schema 2020-12, BACKWARD compatible)');
    for (const [type, schema] of Object.entries(DEMO_SCHEMAS)) {
      const result = await opened.registry.register(type, schema);
      say(`   ${type.padEnd(40)} ${result.created ? 'registered' : 'already registered'}`);
    }

    say(`\n2. Append events to three streams (this run's ids end in ${run})`);
    const member = `member-${run}`;
    const first = `contribution-${run}a`;
    const second = `contribution-${run}b`;
    const registered = await append(ctx, opened, member, 'no_stream', {
      type: 'people.member.registered.v1',
      data: { memberId: member, name: 'Ada Lovelace' },
    });
    const submitted = await append(ctx, opened, first, 'no_stream', {
      type: 'agreements.contribution.submitted.v1',
      data: { contributionId: first, memberId: member, amount: 25 },
      parent: registered,
    });
    await append(ctx, opened, first, 0, {
      type: 'agreements.contribution.approved.v1',
      data: { contributionId: first, approvedBy: 'treasurer-1' },
      parent: submitted,
    });
    await append(ctx, opened, second, 'no_stream', {
      type: 'agreements.contribution.submitted.v1',
      data: { contributionId: second, memberId: member, amount: 10 },
      parent: registered,
    });

    say(`\n3. Read ${first} back`);
    for (const event of await opened.store.readStream(first)) {
      say(`   ${formatEvent(event)}`);
    }
    say(`   Every event of the flow carries correlationid ${registered.id} (the`);
    say('   registration); causationid names the event that caused each one. The whole flow:');
    for (const event of await opened.store.readByCorrelation(registered.id)) {
      const cause =
        event.causationid === undefined ? 'starts the flow' : `caused by ${event.causationid}`;
      say(`   ${event.type.padEnd(38)} ${event.id}  ${cause}`);
    }

    say(`\n4. Optimistic concurrency: append to ${first} expecting version 0 (it is at 1)`);
    await expectRejection(ctx, () =>
      opened.store.appendToStream(
        first,
        [
          demoEvent(first, 'agreements.contribution.approved.v1', {
            contributionId: first,
            approvedBy: 'treasurer-2',
          }),
        ],
        { expectedVersion: 0 },
      ),
    );

    say('\n5. Schema validation: submit a contribution whose amount is a string');
    const bad = `contribution-${run}c`;
    await expectRejection(ctx, () =>
      opened.store.appendToStream(bad, [
        demoEvent(bad, 'agreements.contribution.submitted.v1', {
          contributionId: bad,
          memberId: member,
          amount: 'lots',
        }),
      ]),
    );

    say(
      `\n6. Tail $all after position ${startedAfter}: this run's events, as a subscriber sees them`,
    );
    const seen = await tail(opened, startedAfter, 4);
    for (const event of seen) say(`   ${formatEvent(event)}`);

    say('\nDone.');
    if (url !== 'sqlite::memory:') {
      say('Look around:');
      say(`   eventfabric read ${first} --store ${url}`);
      say(`   eventfabric tail --store ${url} --json --count 4`);
    }
    ctx.out.data({ store: url, streams: [member, first, second], events: seen.length });
  } finally {
    await opened.close();
  }
}

interface DemoAppend {
  type: string;
  data: Record<string, unknown>;
  parent?: EventParent;
}

async function append(
  ctx: CommandContext,
  opened: OpenedStore,
  streamId: string,
  expectedVersion: 'no_stream' | number,
  spec: DemoAppend,
): Promise<CloudEvent> {
  const event = createEvent({ ...spec, source: SOURCE, subject: streamId });
  const result = await opened.store.appendToStream(streamId, [event], { expectedVersion });
  ctx.out.say(
    `   ${streamId.padEnd(22)} ${spec.type.padEnd(38)} version ${result.streamVersion}, position ${result.position}`,
  );
  return event;
}

function demoEvent(streamId: string, type: string, data: Record<string, unknown>): CloudEvent {
  return createEvent({ type, source: SOURCE, subject: streamId, data });
}

/** Run an append that must fail with an EventFabricError, and show the error. */
async function expectRejection(ctx: CommandContext, attempt: () => Promise<unknown>) {
  try {
    await attempt();
  } catch (error) {
    if (!(error instanceof EventFabricError)) throw error;
    ctx.out.say(formatError(error).map((line) => `   rejected, nothing written: ${line}`)[0]!);
    for (const line of formatError(error).slice(1)) ctx.out.say(`   ${line}`);
    return;
  }
  throw new Error('the demo expected this append to be rejected, and it was accepted');
}

/** Subscribe to $all after `after` and collect `count` events, within five seconds. */
async function tail(opened: OpenedStore, after: string, count: number): Promise<StoredEvent[]> {
  const seen: StoredEvent[] = [];
  let done: () => void = () => undefined;
  const enough = new Promise<void>((resolve) => (done = resolve));
  const subscription = opened.store.subscribe({
    after: after === '0' ? undefined : after,
    handler: (event) => {
      if (seen.length < count) seen.push(event);
      if (seen.length === count) done();
    },
  });
  const timer = setTimeout(done, 5000);
  try {
    await Promise.race([enough, subscription.done]);
  } finally {
    clearTimeout(timer);
    await subscription.stop();
  }
  if (seen.length < count) throw new Error(`the demo's tail saw ${seen.length} of ${count} events`);
  return seen;
}
