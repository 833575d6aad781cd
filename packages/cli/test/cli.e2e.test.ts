import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteEventStore } from '@eventfabric/sqlite';
import {
  collect,
  eventLine,
  inspectStore,
  runCli,
  seedStore,
  sleep,
  spawnCli,
  tempDir,
} from './cli-harness.js';

const { dir, remove } = tempDir();
afterAll(remove);

describe('eventfabric --help and usage', () => {
  it('given --help on any command, then it describes the command with an example and exits 0', async () => {
    const commands = [
      [],
      ['init'],
      ['append'],
      ['read'],
      ['tail'],
      ['publish'],
      ['schema'],
      ['schema', 'register'],
      ['schema', 'list'],
      ['schema', 'check'],
      ['demo'],
    ];

    const results = await Promise.all(commands.map((c) => runCli([...c, '--help'], { cwd: dir })));

    results.forEach((result, i) => {
      const name = ['eventfabric', ...commands[i]!].join(' ');
      expect(result.code, name).toBe(0);
      expect(result.stderr, name).toBe('');
      expect(result.stdout, name).toMatch(new RegExp(`^Usage: ${name} `));
      expect(result.stdout, name).toMatch(/\nExamples?:\n {2}\$ eventfabric /);
    });
  });

  it('given --version, then it prints the version', async () => {
    expect(await runCli(['--version'], { cwd: dir })).toEqual({
      code: 0,
      stdout: '0.1.0\n',
      stderr: '',
    });
  });

  it('given no command, then the help goes to stderr and it exits 2', async () => {
    const result = await runCli([], { cwd: dir });

    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^Usage: eventfabric \[options\] \[command\]\n/);
    expect(result.stderr).toMatch(
      /\nerror \[INVALID_ARGUMENT\]: missing command\n {2}help: eventfabric --help\n$/,
    );
  });
});

describe('eventfabric init', () => {
  it('given an empty directory, when run twice, then it creates the project once and keeps it after', async () => {
    const project = join(dir, 'project');

    const first = await runCli(['init', project], { cwd: dir });
    const second = await runCli(['init', project, '--json'], { cwd: dir });

    expect(first).toEqual({
      code: 0,
      stdout: [
        'created schemas/agreements/contribution.submitted.v1.json',
        'created eventfabric.config.json',
        'created .eventfabric/eventfabric.db',
        '',
      ].join('\n'),
      stderr: '',
    });
    expect(JSON.parse(second.stdout)).toEqual({
      dir: project,
      created: [],
      kept: ['schemas/', 'eventfabric.config.json', '.eventfabric/eventfabric.db'],
    });
    expect(JSON.parse(readFileSync(join(project, 'eventfabric.config.json'), 'utf8'))).toEqual({
      store: 'sqlite:.eventfabric/eventfabric.db',
      schemas: 'schemas',
    });
    expect(await inspectStore(join(project, '.eventfabric/eventfabric.db'))).toEqual({
      head: '0',
      streamVersion: undefined,
    });
  });

  it('given an initialised project, when appending without --store, then the config file and example schema apply', async () => {
    const project = join(dir, 'project');
    const good = eventLine({ id: 'i-1' });
    const bad = eventLine({ id: 'i-2', data: { contributionId: '1', memberId: 'm', amount: -5 } });

    const ok = await runCli(['append', 'contribution-1'], { cwd: project, input: good });
    const rejected = await runCli(['append', 'contribution-1', '--json'], {
      cwd: project,
      input: bad,
    });
    const fromEnv = await runCli(['append', 'contribution-1', '--json'], {
      cwd: project,
      input: good,
      env: { EVENTFABRIC_STORE: `sqlite:${join(dir, 'env.db')}` },
    });

    expect(ok.stdout).toBe('appended 1 event to contribution-1; stream version 0, position 1\n');
    expect(JSON.parse(rejected.stderr).error.code).toBe('VALIDATION_FAILED');
    expect(fromEnv.stdout).toBe('{"streamVersion":0,"position":"1"}\n');
    expect(existsSync(join(dir, 'env.db'))).toBe(true);
  });
});

describe('eventfabric read', () => {
  const storePath = join(dir, 'read.db');
  const store = ['--store', `sqlite:${storePath}`];
  beforeAll(() =>
    seedStore(storePath, 'contribution-42', [
      eventLine({ id: 'r-0', time: '2025-01-01T00:00:00.000Z' }),
      eventLine({ id: 'r-1', time: '2025-01-01T00:00:01.000Z' }),
      eventLine({ id: 'r-2', time: '2025-01-01T00:00:02.000Z' }),
    ]),
  );

  it('given --json, then it prints each stored event as one JSON line', async () => {
    const result = await runCli(['read', 'contribution-42', '--json', ...store], { cwd: dir });

    const reader = createSqliteEventStore({ path: storePath });
    const stored = await reader.readStream('contribution-42');
    await reader.close();
    expect(result).toEqual({
      code: 0,
      stdout: stored.map((e) => `${JSON.stringify(e)}\n`).join(''),
      stderr: '',
    });
  });

  it('given --backwards, --from-version and --limit, then it reads that window', async () => {
    const backwards = await runCli(
      ['read', 'contribution-42', '--json', '--backwards', '--limit', '2', ...store],
      { cwd: dir },
    );
    const from = await runCli(['read', 'contribution-42', '--from-version', '1', ...store], {
      cwd: dir,
    });

    expect(
      backwards.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).id),
    ).toEqual(['r-2', 'r-1']);
    expect(from).toEqual({
      code: 0,
      stdout: [
        '     2  contribution-42@1  agreements.contribution.submitted.v1  r-1  2025-01-01T00:00:01.000Z',
        '     3  contribution-42@2  agreements.contribution.submitted.v1  r-2  2025-01-01T00:00:02.000Z',
        '',
      ].join('\n'),
      stderr: '',
    });
  });

  it('given a stream that does not exist, then it reads as empty', async () => {
    expect(await runCli(['read', 'contribution-0', ...store], { cwd: dir })).toEqual({
      code: 0,
      stdout: 'stream contribution-0 has no events\n',
      stderr: '',
    });
    expect(await runCli(['read', 'contribution-0', '--json', ...store], { cwd: dir })).toEqual({
      code: 0,
      stdout: '',
      stderr: '',
    });
  });
});

describe('eventfabric publish', () => {
  it('given events for two streams, then each goes to the stream its subject names', async () => {
    const storePath = join(dir, 'publish.db');
    const file = join(dir, 'publish.ndjson');
    writeFileSync(
      file,
      eventLine({ id: 'p-1', subject: 'contribution-1' }) +
        eventLine({ id: 'p-2', subject: 'member-1', type: 'people.member.registered.v1' }) +
        eventLine({ id: 'p-3', subject: 'contribution-1' }),
    );

    const human = await runCli(['publish', '--file', file, '--store', `sqlite:${storePath}`], {
      cwd: dir,
    });
    const json = await runCli(['publish', '--json', '--store', `sqlite:${storePath}`], {
      cwd: dir,
      input: eventLine({ id: 'p-4', subject: 'member-1' }),
    });

    expect(human).toEqual({ code: 0, stdout: 'published 3 events to 2 streams\n', stderr: '' });
    expect(json).toEqual({ code: 0, stdout: '{"published":1,"positions":["4"]}\n', stderr: '' });
    const reader = createSqliteEventStore({ path: storePath });
    const all = await reader.readAll();
    await reader.close();
    expect(all.map((e) => [e.position, e.subject, e.streamversion, e.id])).toEqual([
      // In input order, in one transaction: positions follow the input, not the grouping.
      ['1', 'contribution-1', 0, 'p-1'],
      ['2', 'member-1', 0, 'p-2'],
      ['3', 'contribution-1', 1, 'p-3'],
      ['4', 'member-1', 1, 'p-4'],
    ]);
  });
});

describe('eventfabric tail', () => {
  const storePath = join(dir, 'tail.db');
  const store = ['--store', `sqlite:${storePath}`];
  beforeAll(() => seedStore(storePath, 'contribution-1', [eventLine({ id: 't-0' })]));

  it('given --count, when another process appends, then it prints those events and exits', async () => {
    const tail = spawnCli(['tail', '--from', '1', '--count', '2', '--json', ...store], {
      cwd: dir,
    });
    const tailed = collect(tail);
    await sleep(300);

    const appended = await runCli(['append', 'contribution-2', ...store], {
      cwd: dir,
      input: eventLine({ id: 't-1' }) + eventLine({ id: 't-2' }) + eventLine({ id: 't-3' }),
    });
    const result = await tailed;

    expect(appended.code).toBe(0);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(
      result.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    ).toMatchObject([
      { id: 't-1', subject: 'contribution-2', streamversion: 0, position: '2' },
      { id: 't-2', subject: 'contribution-2', streamversion: 1, position: '3' },
    ]);
  });

  it('given --type and --category filters, then only matching events are printed', async () => {
    await seedStore(storePath, 'member-9', [
      eventLine({ id: 't-4', type: 'people.member.registered.v1' }),
    ]);

    const byCategory = await runCli(['tail', '--category', 'member', '--count', '1', ...store], {
      cwd: dir,
    });
    const byType = await runCli(
      ['tail', '--type', 'people.', '--type', 'nope.', '--count', '1', '--json', ...store],
      { cwd: dir },
    );

    expect(byCategory.code).toBe(0);
    expect(byCategory.stdout).toMatch(
      /^ {5}5 {2}member-9@0 {2}people\.member\.registered\.v1 {2}t-4 {2}\S+Z\n$/,
    );
    expect(JSON.parse(byType.stdout)).toMatchObject({ id: 't-4', position: '5' });
  });

  it('given SIGTERM, then it stops cleanly with exit 0', async () => {
    const tail = spawnCli(['tail', '--json', ...store], { cwd: dir });
    const tailed = collect(tail);
    // Wait until it has caught up with the events already stored.
    await new Promise((resolve) => tail.stdout.once('data', resolve));
    await sleep(100);

    tail.kill('SIGTERM');
    const result = await tailed;

    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(
      result.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).id),
    ).toEqual(['t-0', 't-1', 't-2', 't-3', 't-4']);
  });
});

describe('eventfabric demo', () => {
  it('given a fresh directory, when run twice, then both runs exit 0 and show the rejections', async () => {
    const first = await runCli(['demo'], { cwd: dir });
    const second = await runCli(['demo'], { cwd: dir });

    for (const result of [first, second]) {
      expect(result.code).toBe(0);
      expect(result.stderr).toBe('');
      expect(result.stdout).toContain('rejected, nothing written: error [WRONG_EXPECTED_VERSION]');
      expect(result.stdout).toContain('rejected, nothing written: error [VALIDATION_FAILED]');
      expect(result.stdout).toContain('\nDone.\n');
    }
    expect(first.stdout).toContain('people.member.registered.v1              registered\n');
    expect(second.stdout).toContain(
      'people.member.registered.v1              already registered\n',
    );
    expect(await inspectStore(join(dir, '.eventfabric/demo.db'))).toEqual({
      head: '8',
      streamVersion: undefined,
    });
  });
});
