import type { Command } from 'commander';
import { checkEvents, type CheckedEvent } from '../check-events.js';
import type { ActionRunner } from '../context.js';
import { parseNdjson, readInput } from '../ndjson.js';
import { plural } from '../output.js';
import { openStore } from '../store.js';

interface PublishCommandOptions {
  file?: string;
}

export function registerPublishCommand(program: Command, run: ActionRunner): void {
  program
    .command('publish')
    .summary('publish events to the streams their subjects name')
    .description(
      'publish CloudEvents (NDJSON from --file or stdin): each event is appended to the ' +
        'stream its subject names and notified to subscribers. Every event is checked first; ' +
        'one bad event and nothing is published',
    )
    .option('-f, --file <path>', 'read the events from this file instead of stdin')
    .addHelpText(
      'after',
      `
Events are appended in input order with expected version any: on SQLite all of them in one
transaction; on PostgreSQL one transaction per stream.
Prints the count (--json: {"published":n,"positions":["p", ...]} in input order).

Example:
  $ eventfabric publish --file events.ndjson`,
    )
    .action(
      run(async (ctx, command) => {
        const options = command.opts<PublishCommandOptions>();
        const config = ctx.config();
        const records = parseNdjson(await readInput(options.file, ctx.io));
        const allowForeignTypes = ctx.globals.allowForeignTypes;
        const opened = await openStore(config, { loadSchemaFiles: true, allowForeignTypes });
        try {
          const checked = checkEvents(records, { schemas: opened.schemas, allowForeignTypes });
          const positions: string[] = new Array<string>(checked.length);
          const streams = groupByStream(checked);
          if (opened.backend.kind === 'sqlite') {
            // One transaction for every stream: a failure (a disk error, an id stored for a
            // different event) writes nothing at all.
            const result = await opened.backend.store.appendMany(checked.map(({ input }) => input));
            result.positions.forEach((position, i) => (positions[i] = position));
          } else
            for (const [streamId, group] of streams) {
              const result = await opened.store.appendToStream(
                streamId,
                group.map(({ event }) => event.input),
                { expectedVersion: 'any' },
              );
              group.forEach(({ index }, i) => (positions[index] = result.positions[i]!));
            }
          const n = checked.length;
          ctx.out.result(
            `published ${n} ${plural(n, 'event')} to ${streams.size} ${plural(streams.size, 'stream')}`,
            { published: n, positions },
          );
        } finally {
          await opened.close();
        }
      }),
    );
}

/** Events per stream, streams in order of first appearance, each with its input index. */
function groupByStream(
  checked: CheckedEvent[],
): Map<string, { event: CheckedEvent; index: number }[]> {
  const streams = new Map<string, { event: CheckedEvent; index: number }[]>();
  checked.forEach((event, index) => {
    const group = streams.get(event.streamId) ?? [];
    group.push({ event, index });
    streams.set(event.streamId, group);
  });
  return streams;
}
