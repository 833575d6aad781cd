import type { Command } from 'commander';
import { parseNonNegativeInteger, parsePositiveInteger } from '../arguments.js';
import type { ActionRunner } from '../context.js';
import { openStore } from '../store.js';

interface ReadCommandOptions {
  backwards?: boolean;
  fromVersion?: number;
  limit?: number;
  raw?: boolean;
}

export function registerReadCommand(program: Command, run: ActionRunner): void {
  program
    .command('read')
    .summary('read a stream')
    .description(
      'read a stream: one line per event (position, stream@version, type, id, time), or ' +
        'with --json one stored event per line (NDJSON, with streamversion and position)',
    )
    .argument('<stream>', 'stream id, e.g. contribution-42')
    .option('-b, --backwards', 'newest first')
    .option(
      '--from-version <n>',
      'first version to read (default: 0, or the last one with --backwards)',
      parseNonNegativeInteger,
    )
    .option('-n, --limit <n>', 'read at most n events', parsePositiveInteger)
    .option('--raw', 'events as stored, without upcasting to the latest schema version')
    .addHelpText(
      'after',
      `
A stream that does not exist reads as empty (exit 0).

Examples:
  $ eventfabric read contribution-42
  $ eventfabric read contribution-42 --json --backwards --limit 1 | jq .data`,
    )
    .action(
      run(async (ctx, command) => {
        const [streamId] = command.processedArgs as [string];
        const options = command.opts<ReadCommandOptions>();
        const opened = await openStore(ctx.config(), { loadSchemaFiles: false });
        try {
          const events = await opened.store.readStream(streamId, {
            direction: options.backwards ? 'backwards' : 'forwards',
            fromVersion: options.fromVersion,
            limit: options.limit,
            raw: options.raw,
          });
          for (const event of events) ctx.out.event(event);
          if (events.length === 0) ctx.out.say(`stream ${streamId} has no events`);
        } finally {
          await opened.close();
        }
      }),
    );
}
