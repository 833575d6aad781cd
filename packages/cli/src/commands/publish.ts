import type { Command } from 'commander';
import { checkEvents } from '../check-events.js';
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
Events are appended in input order with expected version any, all of them in one
transaction (SQLite and PostgreSQL): a failure writes nothing.
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
          const streams = new Set(checked.map((event) => event.streamId));
          // One transaction for every stream: a failure (a disk error, an id stored for a
          // different event) writes nothing at all.
          const { positions } = await opened.backend.store.appendMany(
            checked.map(({ input }) => input),
          );
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
