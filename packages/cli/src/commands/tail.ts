import { once } from 'node:events';
import type { Command } from 'commander';
import { collect, parsePositionArgument, parsePositiveInteger } from '../arguments.js';
import type { ActionRunner } from '../context.js';
import { openStore } from '../store.js';
import { untilSignal } from '../until-signal.js';

interface TailCommandOptions {
  from: string;
  type?: string[];
  category?: string[];
  count?: number;
  raw?: boolean;
}

export function registerTailCommand(program: Command, run: ActionRunner): void {
  program
    .command('tail')
    .summary('follow $all live')
    .description(
      'follow $all: print every event after a position, then each new one as it commits ' +
        '(from any process), until Ctrl-C or --count events',
    )
    .option(
      '--from <position>',
      'print events after this global position; start or end of the log',
      parsePositionArgument,
      'start',
    )
    .option('-t, --type <prefix>', 'only types starting with prefix (repeatable)', collect)
    .option('-c, --category <category>', 'only streams of this category (repeatable)', collect)
    .option('-n, --count <n>', 'exit after n events', parsePositiveInteger)
    .option('--raw', 'events as stored, without upcasting to the latest schema version')
    .addHelpText(
      'after',
      `
Type prefixes are OR-ed, categories are OR-ed, and the two filters are AND-ed.
A stream's category is its id before the first "-" (contribution-42 → contribution).

Examples:
  $ eventfabric tail --from end --type agreements.
  $ eventfabric tail --json --category contribution --count 10 > ten.ndjson`,
    )
    .action(
      run(async (ctx, command) => {
        const options = command.opts<TailCommandOptions>();
        const opened = await openStore(ctx.config(), { loadSchemaFiles: false });
        const { stdout } = ctx.io;
        const limit = options.count ?? Infinity;
        let printed = 0;
        const { finished, finish, dispose } = untilSignal();
        try {
          const after =
            options.from === 'start'
              ? undefined
              : options.from === 'end'
                ? await opened.store.headPosition()
                : options.from;
          const subscription = opened.store.subscribe({
            after,
            typePrefixes: options.type,
            categories: options.category,
            raw: options.raw,
            handler: async (event) => {
              if (printed >= limit) return;
              ctx.out.event(event);
              if (++printed >= limit) finish();
              else if (stdout.writableNeedDrain) await once(stdout, 'drain');
            },
          });
          try {
            await Promise.race([finished, subscription.done]);
          } finally {
            await subscription.stop();
          }
        } finally {
          dispose();
          await opened.close();
        }
      }),
    );
}
