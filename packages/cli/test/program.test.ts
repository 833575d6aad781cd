import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main, type CliIo } from '../src/index.js';
import { eventLine } from './cli-harness.js';

/** Run the CLI in-process with in-memory streams. */
async function runInProcess(args: string[], input = '') {
  const io: CliIo = {
    stdin: new PassThrough(),
    stdout: new PassThrough(),
    stderr: new PassThrough(),
  };
  (io.stdin as PassThrough).end(input);
  const code = await main(['node', 'eventfabric', ...args], io);
  const text = (stream: unknown) =>
    ((stream as PassThrough).read() as Buffer | null)?.toString() ?? '';
  return { code, stdout: text(io.stdout), stderr: text(io.stderr) };
}

describe('main (in-process)', () => {
  it('given stdin and output streams, when appending to a memory store, then it reports through them', async () => {
    const result = await runInProcess(
      ['append', 'contribution-1', '--store', 'sqlite::memory:'],
      eventLine({ id: 'm-1' }) + eventLine({ id: 'm-2' }),
    );

    expect(result).toEqual({
      code: 0,
      stdout: 'appended 2 events to contribution-1; stream version 1, position 2\n',
      stderr: '',
    });
  });

  it('given --help, then the help goes to stdout and the code is 0', async () => {
    const result = await runInProcess(['read', '--help']);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: eventfabric read \[options\] <stream>\n/);
    expect(result.stderr).toBe('');
  });

  it('given a usage error, then the code is 2 and nothing is thrown', async () => {
    const result = await runInProcess(['read', '--limit', '0', 'x']);

    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr:
        "error [INVALID_ARGUMENT]: option '-n, --limit <n>' argument '0' is invalid. expected an integer ≥ 1\n" +
        '  help: eventfabric read --help\n',
    });
  });
});
