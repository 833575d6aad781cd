import type { Command } from 'commander';
import type { ExpectedVersion } from '@eventfabric/core';
import { parseExpectedVersion } from '../arguments.js';
import { checkEvents } from '../check-events.js';
import type { ActionRunner } from '../context.js';
import { parseNdjson, readInput } from '../ndjson.js';
import { plural } from '../output.js';
import { openStore } from '../store.js';

interface AppendCommandOptions {
  expectedVersion: ExpectedVersion;
  file?: string;
}

export function registerAppendCommand(program: Command, run: ActionRunner): void {
  program
    .command('append')
    .summary('append events to a stream, all or nothing')
    .description(
      'append CloudEvents (NDJSON: one JSON event per line, from --file or stdin) to a ' +
        'stream, all or nothing. Events without a subject get the stream id',
    )
    .argument('<stream>', 'stream id, e.g. contribution-42')
    .option(
      '-e, --expected-version <version>',
      'the version the stream must be at: a number, any, no_stream or stream_exists',
      parseExpectedVersion,
      'any',
    )
    .option('-f, --file <path>', 'read the events from this file instead of stdin')
    .addHelpText(
      'after',
      `
Prints the stream's new version and the last event's global position
(--json: {"streamVersion":n,"position":"p"}).

Examples:
  $ eventfabric append contribution-42 --expected-version no_stream --file events.ndjson
  $ echo '{"specversion":"1.0","id":"e-1","type":"agreements.contribution.submitted.v1",` +
        `"source":"/cli","data":{"contributionId":"42","memberId":"m-7","amount":25}}' \\
      | eventfabric append contribution-42`,
    )
    .action(
      run(async (ctx, command) => {
        const [streamId] = command.processedArgs as [string];
        const options = command.opts<AppendCommandOptions>();
        const config = ctx.config();
        // Read all of the input before touching the store: a half-read pipe must not append.
        const records = parseNdjson(await readInput(options.file, ctx.io));
        const opened = await openStore(config, {
          loadSchemaFiles: true,
          allowForeignTypes: ctx.globals.allowForeignTypes,
        });
        try {
          const checked = checkEvents(records, {
            streamId,
            schemas: opened.schemas,
            allowForeignTypes: ctx.globals.allowForeignTypes,
          });
          const result = await opened.store.appendToStream(
            streamId,
            checked.map((c) => c.input),
            { expectedVersion: options.expectedVersion },
          );
          const count = checked.length;
          const what = result.deduplicated
            ? `already appended: ${count} ${plural(count, 'event')} in ${streamId}, nothing written`
            : `appended ${count} ${plural(count, 'event')} to ${streamId}`;
          ctx.out.result(
            `${what}; stream version ${result.streamVersion}, position ${result.position}`,
            { streamVersion: result.streamVersion, position: result.position },
          );
        } finally {
          await opened.close();
        }
      }),
    );
}
