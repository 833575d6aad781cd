import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eventLine, runCli, storedSchemaTypes, tempDir } from './cli-harness.js';

describe('eventfabric schema', () => {
  const { dir, remove } = tempDir();
  const storePath = join(dir, 'x.db');
  const store = ['--store', `sqlite:${storePath}`];
  afterAll(remove);

  const v1 = {
    type: 'object',
    required: ['memberId'],
    properties: { memberId: { type: 'string' }, name: { type: 'string' } },
  };
  const write = (path: string, schema: unknown) => {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), JSON.stringify(schema));
    return path;
  };

  it('given a schema file, when registering it twice, then the first registers v1 and the second changes nothing', async () => {
    const file = write('schemas/people/member.registered.v1.json', v1);

    const first = await runCli(['schema', 'register', file, ...store], { cwd: dir });
    const again = await runCli(['schema', 'register', file, '--json', ...store], { cwd: dir });

    expect(first).toEqual({
      code: 0,
      stdout:
        'registered people.member.registered.v1 (urn:eventfabric:schema:people.member.registered:v1)\n',
      stderr: '',
    });
    expect(again).toEqual({
      code: 0,
      stdout:
        '{"base":"people.member.registered","version":1,"type":"people.member.registered.v1",' +
        '"id":"urn:eventfabric:schema:people.member.registered:v1","created":false}\n',
      stderr: '',
    });
  });

  it('given registered schemas, when listing them, then each version is shown', async () => {
    const human = await runCli(['schema', 'list', ...store], { cwd: dir });
    const json = await runCli(['schema', 'list', '--json', ...store], { cwd: dir });

    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(
      /^people\.member\.registered\.v1 +BACKWARD +\d{4}-\d\d-\d\dT.*Z\n$/,
    );
    const records = JSON.parse(json.stdout) as Record<string, unknown>[];
    expect(records.map(({ registeredAt: _, ...rest }) => rest)).toEqual([
      {
        type: 'people.member.registered.v1',
        base: 'people.member.registered',
        version: 1,
        id: 'urn:eventfabric:schema:people.member.registered:v1',
        schema: v1,
        piiPaths: [],
        compatibility: 'BACKWARD',
      },
    ]);
  });

  it('given a compatible v2 file, when checking, then it exits 0 and registers nothing', async () => {
    write('schemas/people/member.registered.v2.json', {
      ...v1,
      properties: { ...v1.properties, email: { type: 'string' } },
    });

    const result = await runCli(['schema', 'check', ...store], { cwd: dir });

    expect(result).toEqual({
      code: 0,
      stdout: [
        'unchanged people.member.registered.v1 (BACKWARD)  people/member.registered.v1.json',
        'new       people.member.registered.v2 (BACKWARD)  people/member.registered.v2.json',
        '2 schema files checked: no breaking change',
        '',
      ].join('\n'),
      stderr: '',
    });
    expect(await storedSchemaTypes(storePath)).toEqual(['people.member.registered.v1']);
  });

  it('given a breaking v2 file, when checking, then it prints each breaking change and exits 1', async () => {
    write('schemas/people/member.registered.v2.json', {
      ...v1,
      required: ['memberId', 'email'],
      properties: { memberId: { type: 'number' }, email: { type: 'string' } },
    });

    const human = await runCli(['schema', 'check', 'schemas', ...store], { cwd: dir });
    const json = await runCli(['schema', 'check', 'schemas', '--json', ...store], { cwd: dir });

    expect(human).toEqual({
      code: 1,
      stdout: [
        'unchanged people.member.registered.v1 (BACKWARD)  people/member.registered.v1.json',
        'BREAKING  people.member.registered.v2 (BACKWARD)  people/member.registered.v2.json',
        '  - property /memberId: type changed from string to number (vs v1)',
        '  - property /email: added as required (vs v1)',
        '2 breaking changes in 1 file',
        '',
      ].join('\n'),
      stderr: '',
    });
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout) as {
      compatible: boolean;
      files: { type: string; compatible: boolean; changes: { path: string; kind: string }[] }[];
    };
    expect(report.compatible).toBe(false);
    expect(report.files.map((f) => [f.type, f.compatible])).toEqual([
      ['people.member.registered.v1', true],
      ['people.member.registered.v2', false],
    ]);
    expect(report.files[1]!.changes.map((c) => [c.path, c.kind])).toEqual([
      ['/memberId', 'type-changed'],
      ['/email', 'property-added-required'],
    ]);
    expect(await storedSchemaTypes(storePath)).toEqual(['people.member.registered.v1']);
  });

  it('given a breaking v2 file, when registering it, then INCOMPATIBLE_SCHEMA lists the changes and nothing is registered', async () => {
    const result = await runCli(
      ['schema', 'register', 'schemas/people/member.registered.v2.json', ...store],
      { cwd: dir },
    );

    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: [
        'error [INCOMPATIBLE_SCHEMA]: people.member.registered.v2 is not BACKWARD-compatible:',
        '  - property /memberId: type changed from string to number (vs v1)',
        '  - property /email: added as required (vs v1)',
        '  type: people.member.registered.v2',
        '  mode: BACKWARD',
        '',
      ].join('\n'),
    });
    expect(await storedSchemaTypes(storePath)).toEqual(['people.member.registered.v1']);
  });

  it('given --compatibility NONE and --type, when registering the breaking file, then it is registered', async () => {
    const result = await runCli(
      [
        'schema',
        'register',
        'schemas/people/member.registered.v2.json',
        '--type',
        'people.member.registered.v2',
        '--compatibility',
        'NONE',
        '--json',
        ...store,
      ],
      { cwd: dir },
    );

    expect(result).toEqual({
      code: 0,
      stdout:
        '{"base":"people.member.registered","version":2,"type":"people.member.registered.v2",' +
        '"id":"urn:eventfabric:schema:people.member.registered:v2","created":true}\n',
      stderr: '',
    });
  });

  it('given registered schemas, when appending, then events are validated against them', async () => {
    const good = eventLine({
      type: 'people.member.registered.v2',
      data: { memberId: 7, email: 'a@b' },
    });
    const bad = eventLine({
      id: 'bad',
      type: 'people.member.registered.v2',
      data: { memberId: 7 },
    });

    const ok = await runCli(['append', 'member-7', '--json', ...store], { cwd: dir, input: good });
    const rejected = await runCli(['append', 'member-7', '--json', ...store], {
      cwd: dir,
      input: bad,
    });

    expect(ok).toEqual({ code: 0, stdout: '{"streamVersion":0,"position":"1"}\n', stderr: '' });
    expect(rejected.code).toBe(1);
    expect(JSON.parse(rejected.stderr)).toEqual({
      error: {
        code: 'VALIDATION_FAILED',
        message:
          "line 1: event bad (people.member.registered.v2) has invalid data: /data/email must have required property 'email'",
        details: {
          line: 1,
          eventId: 'bad',
          type: 'people.member.registered.v2',
          dataschema: 'urn:eventfabric:schema:people.member.registered:v2',
          issues: [
            {
              path: '/data/email',
              message: "must have required property 'email'",
              keyword: 'required',
            },
          ],
        },
      },
    });
  });
});
