import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteEventStore } from '@eventfabric/sqlite';
import { eventLine, inspectStore, runCli, tempDir, writeSchemas } from './cli-harness.js';

describe('eventfabric append', () => {
  const { dir, remove } = tempDir();
  const storePath = join(dir, 'x.db');
  const store = ['--store', `sqlite:${storePath}`];
  beforeAll(() => writeSchemas(dir));
  afterAll(remove);

  it('given NDJSON on stdin, when appending, then all events land in one append and the new version is printed', async () => {
    const input =
      eventLine({ id: 'a-1' }) + '\n   \n' + eventLine({ id: 'a-2' }) + eventLine({ id: 'a-3' });

    const result = await runCli(['append', 'contribution-42', ...store], { cwd: dir, input });

    expect(result).toEqual({
      code: 0,
      stdout: 'appended 3 events to contribution-42; stream version 2, position 3\n',
      stderr: '',
    });
    const reader = createSqliteEventStore({ path: storePath });
    const events = await reader.readStream('contribution-42');
    await reader.close();
    expect(events.map((e) => [e.id, e.subject, e.streamversion, e.position])).toEqual([
      ['a-1', 'contribution-42', 0, '1'],
      ['a-2', 'contribution-42', 1, '2'],
      ['a-3', 'contribution-42', 2, '3'],
    ]);
    expect(events[0]!.dataschema).toBe(
      'urn:eventfabric:schema:agreements.contribution.submitted:v1',
    );
  });

  it('given --json and --file, when appending with an exact expected version, then it prints exactly {streamVersion, position}', async () => {
    const file = join(dir, 'events.ndjson');
    writeFileSync(file, eventLine({ id: 'b-1' }) + eventLine({ id: 'b-2' }));

    const result = await runCli(
      ['append', 'contribution-42', '--expected-version', '2', '--file', file, '--json', ...store],
      { cwd: dir },
    );

    expect(result).toEqual({ code: 0, stdout: '{"streamVersion":4,"position":"5"}\n', stderr: '' });
  });

  it('given the same events again (a client retry), when appending, then nothing is written twice', async () => {
    const file = join(dir, 'events.ndjson');

    const result = await runCli(['append', 'contribution-42', '--file', file, ...store], {
      cwd: dir,
    });

    expect(result).toEqual({
      code: 0,
      stdout:
        'already appended: 2 events in contribution-42, nothing written; stream version 4, position 5\n',
      stderr: '',
    });
    expect(await inspectStore(storePath)).toEqual({ head: '5', streamVersion: undefined });
  });

  it('given no_stream and stream_exists, when appending, then each is checked against the stream', async () => {
    const first = await runCli(
      ['append', 'member-7', '--expected-version', 'no_stream', '--json', ...store],
      { cwd: dir, input: eventLine({ id: 'c-1' }) },
    );
    const second = await runCli(
      ['append', 'member-7', '--expected-version', 'stream_exists', '--json', ...store],
      { cwd: dir, input: eventLine({ id: 'c-2' }) },
    );

    expect(first).toEqual({ code: 0, stdout: '{"streamVersion":0,"position":"6"}\n', stderr: '' });
    expect(second).toEqual({ code: 0, stdout: '{"streamVersion":1,"position":"7"}\n', stderr: '' });
  });

  it('given 200 events piped slowly in several chunks, when appending, then all 200 are appended', async () => {
    const lines = Array.from({ length: 200 }, (_, i) => eventLine({ id: `pipe-${i}` }));
    const text = lines.join('');
    // Cut mid-line, so a reader that acts on a partial read would see a broken event.
    const cut = (i: number) => Math.floor((i * text.length) / 5);
    const chunks = [0, 1, 2, 3, 4].map((i) => text.slice(cut(i), cut(i + 1)));

    const result = await runCli(['append', 'contribution-pipe', '--json', ...store], {
      cwd: dir,
      input: chunks,
      chunkDelayMs: 60,
    });

    expect(result).toEqual({
      code: 0,
      stdout: '{"streamVersion":199,"position":"207"}\n',
      stderr: '',
    });
    expect(await inspectStore(storePath, 'contribution-pipe')).toEqual({
      head: '207',
      streamVersion: 199,
    });
  });
});
