import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  eventLine,
  inspectStore,
  jsonParseMessage,
  runCli,
  seedStore,
  storedSchemaTypes,
  tempDir,
  writeSchemas,
} from './cli-harness.js';

// Guarantee 5: bad input gets a clear error with a code, and changes nothing.

const { dir, remove } = tempDir();
const storePath = join(dir, 'x.db');
const store = ['--store', `sqlite:${storePath}`];
const valid = eventLine({ id: 'ok-1' });
const broken = '{"specversion":"1.0","id":"b-1",';

beforeAll(async () => {
  writeSchemas(dir);
  await seedStore(storePath, 'contribution-42', [eventLine({ id: 'seed-1' })]);
});
afterAll(remove);

interface BadInputCase {
  name: string;
  args: string[];
  input?: string;
  code: number;
  stderr: string;
}

const appendCases: BadInputCase[] = [
  {
    name: 'malformed JSON, reported with its line number',
    args: ['append', 'contribution-42', ...store],
    input: `${valid}\n${broken}\n`,
    code: 1,
    stderr: [
      `error [INVALID_EVENT]: line 3: not valid JSON: ${jsonParseMessage(broken)}`,
      '  line: 3',
      '  issues:',
      `    - /: not valid JSON: ${jsonParseMessage(broken)}`,
    ].join('\n'),
  },
  {
    name: 'a missing required attribute',
    args: ['append', 'contribution-42', ...store],
    input: valid + eventLine({ id: 'no-source', source: undefined }),
    code: 1,
    stderr: [
      "error [INVALID_EVENT]: line 2: invalid event no-source: /source must have required property 'source'",
      '  line: 2',
      '  eventId: no-source',
      '  issues:',
      "    - /source: must have required property 'source'",
    ].join('\n'),
  },
  {
    name: 'a type that breaks the naming rule',
    args: ['append', 'contribution-42', ...store],
    input: eventLine({ id: 'bad-type', type: 'ContributionSubmitted' }),
    code: 1,
    stderr: [
      'error [INVALID_EVENT]: line 1: invalid event bad-type: /type must look like <context>.<entity>.<verb>.v<N> (lower-case), got "ContributionSubmitted"',
      '  line: 1',
      '  eventId: bad-type',
      '  issues:',
      '    - /type: must look like <context>.<entity>.<verb>.v<N> (lower-case), got "ContributionSubmitted"',
    ].join('\n'),
  },
  {
    name: 'a subject that is not the stream',
    args: ['append', 'contribution-42', ...store],
    input: eventLine({ id: 'other-subject', subject: 'contribution-43' }),
    code: 1,
    stderr: [
      'error [INVALID_EVENT]: line 1: invalid event other-subject: /subject must equal the stream id "contribution-42"',
      '  line: 1',
      '  eventId: other-subject',
      '  issues:',
      '    - /subject: must equal the stream id "contribution-42"',
    ].join('\n'),
  },
  {
    name: 'a schema violation',
    args: ['append', 'contribution-42', ...store],
    input: valid + eventLine({ id: 'bad-data', data: { contributionId: 42, memberId: 'm-7' } }),
    code: 1,
    stderr: [
      'error [VALIDATION_FAILED]: line 2: event bad-data (agreements.contribution.submitted.v1) has invalid data: ' +
        "/data/amount must have required property 'amount'; /data/contributionId must be string",
      '  line: 2',
      '  eventId: bad-data',
      '  type: agreements.contribution.submitted.v1',
      '  dataschema: urn:eventfabric:schema:agreements.contribution.submitted:v1',
      '  issues:',
      "    - /data/amount: must have required property 'amount'",
      '    - /data/contributionId: must be string',
    ].join('\n'),
  },
  {
    name: 'a type without a schema, once the project has schemas',
    args: ['append', 'contribution-42', ...store],
    input: eventLine({ id: 'typo', type: 'agreements.contribution.submited.v1' }),
    code: 1,
    stderr: [
      'error [SCHEMA_NOT_FOUND]: line 1: no schema registered for agreements.contribution.submited.v1',
      '  line: 1',
      '  type: agreements.contribution.submited.v1',
      '  eventId: typo',
    ].join('\n'),
  },
  {
    name: 'the same event id twice in the input',
    args: ['append', 'contribution-42', ...store],
    input: valid + valid,
    code: 1,
    stderr: [
      'error [DUPLICATE_EVENT_ID]: line 2: event id ok-1 is already used by a different event',
      '  line: 2',
      '  eventId: ok-1',
      '  reason: repeats line 1',
    ].join('\n'),
  },
  {
    name: 'a wrong expected version',
    args: ['append', 'contribution-42', '--expected-version', '5', ...store],
    input: valid,
    code: 1,
    stderr: [
      'error [WRONG_EXPECTED_VERSION]: stream contribution-42: expected version 5, actual 0',
      '  streamId: contribution-42',
      '  expected: 5',
      '  actual: 0',
    ].join('\n'),
  },
  {
    name: 'an event over the 1 MiB limit',
    args: ['append', 'contribution-42', ...store],
    input: eventLine({
      id: 'huge',
      data: { contributionId: 'x'.repeat(1024 * 1024), memberId: 'm-7', amount: 1 },
    }),
    code: 1,
    // The stored form: the input plus the defaults the store fills and the schema id.
    stderr: [
      'error [EVENT_TOO_LARGE]: line 1: event huge is 1049036 bytes; the limit is 1048576',
      '  line: 1',
      '  eventId: huge',
      '  size: 1049036',
      '  limit: 1048576',
    ].join('\n'),
  },
  {
    name: 'no events at all',
    args: ['append', 'contribution-42', ...store],
    input: '\n  \n',
    code: 1,
    stderr:
      'error [INVALID_ARGUMENT]: the input holds no events (expected one JSON event per line)',
  },
  {
    name: 'an input file that does not exist',
    args: ['append', 'contribution-42', '--file', 'missing.ndjson', ...store],
    code: 1,
    stderr: [
      'error [INVALID_ARGUMENT]: cannot read missing.ndjson: ENOENT',
      '  file: missing.ndjson',
    ].join('\n'),
  },
  {
    name: 'a reserved stream id',
    args: ['append', '$all', ...store],
    input: valid,
    code: 1,
    stderr: [
      'error [INVALID_ARGUMENT]: line 1: stream id "$all" is reserved or has control characters',
      '  line: 1',
      '  streamId: $all',
    ].join('\n'),
  },
  {
    name: 'an unknown store URL',
    args: ['append', 'contribution-42', '--store', 'foo:bar'],
    input: valid,
    code: 1,
    stderr: [
      'error [INVALID_CONFIG]: unknown store URL "foo:bar"; expected sqlite:<path>, sqlite::memory: or postgres://user@host:port/database[?schema=name]',
      '  store: foo:bar',
      '  source: flag',
    ].join('\n'),
  },
  {
    name: 'a malformed PostgreSQL store URL',
    args: ['append', 'contribution-42', '--store', 'postgres://app:secret@localhost'],
    input: valid,
    code: 1,
    stderr: [
      'error [INVALID_CONFIG]: malformed PostgreSQL store URL "postgres://app:***@localhost": it must name one database; expected postgres://user@host:port/database[?schema=name]',
      '  store: postgres://app:***@localhost',
      '  source: flag',
    ].join('\n'),
  },
  {
    name: 'a store path that cannot be created',
    args: ['append', 'contribution-42', '--store', 'sqlite:/proc/nope/x.db'],
    input: valid,
    code: 1,
    stderr: [
      'error [STORE_UNAVAILABLE]: cannot create the store directory /proc/nope: ENOENT',
      '  path: /proc/nope',
    ].join('\n'),
  },
  {
    name: 'a bad --expected-version value (usage)',
    args: ['append', 'contribution-42', '--expected-version', 'latest', ...store],
    input: valid,
    code: 2,
    stderr: [
      "error [INVALID_ARGUMENT]: option '-e, --expected-version <version>' argument 'latest' is invalid. " +
        'expected a version number, any, no_stream or stream_exists',
      '  help: eventfabric append --help',
    ].join('\n'),
  },
  {
    name: 'an unknown option (usage)',
    args: ['append', 'contribution-42', '--expected', '1', ...store],
    input: valid,
    code: 2,
    stderr: [
      "error [INVALID_ARGUMENT]: unknown option '--expected'",
      '  help: eventfabric append --help',
    ].join('\n'),
  },
  {
    name: 'a missing stream argument (usage)',
    args: ['append', ...store],
    input: valid,
    code: 2,
    stderr: [
      "error [INVALID_ARGUMENT]: missing required argument 'stream'",
      '  help: eventfabric append --help',
    ].join('\n'),
  },
  {
    name: 'an unknown command (usage)',
    args: ['apend', 'contribution-42', ...store],
    input: valid,
    code: 2,
    stderr: [
      "error [INVALID_ARGUMENT]: unknown command 'apend'\n(Did you mean append?)",
      '  help: eventfabric --help',
    ].join('\n'),
  },
];

describe('eventfabric append, given bad input', () => {
  // No case writes anything, so the cases can run side by side.
  it.concurrent.for(appendCases)(
    'rejects $name, and writes nothing',
    async ({ args, input, code, stderr }, { expect }) => {
      const result = await runCli(args, { cwd: dir, input });

      expect(result).toEqual({ code, stdout: '', stderr: `${stderr}\n` });
      expect(await inspectStore(storePath, 'contribution-42')).toEqual({
        head: '1',
        streamVersion: 0,
      });
    },
  );

  it('given --json, when the input is rejected, then the error is one JSON document on stderr', async () => {
    const result = await runCli(
      ['append', 'contribution-42', '--expected-version', 'no_stream', '--json', ...store],
      { cwd: dir, input: valid },
    );

    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(JSON.parse(result.stderr)).toEqual({
      error: {
        code: 'WRONG_EXPECTED_VERSION',
        message: 'stream contribution-42: expected version no_stream, actual 0',
        details: { streamId: 'contribution-42', expected: 'no_stream', actual: 0 },
      },
    });
  });

  it('given a malformed line, when the store does not exist yet, then not even the store file is created', async () => {
    const fresh = join(dir, 'never.db');

    const result = await runCli(['append', 'contribution-1', '--store', `sqlite:${fresh}`], {
      cwd: dir,
      input: broken,
    });

    expect(result.code).toBe(1);
    expect(existsSync(fresh)).toBe(false);
  });
});

describe('eventfabric publish, given bad input', () => {
  const publishCases: BadInputCase[] = [
    {
      name: 'malformed JSON',
      args: ['publish', ...store],
      input: eventLine({ id: 'p-1', subject: 'contribution-50' }) + '[1, 2\n',
      code: 1,
      stderr: [
        `error [INVALID_EVENT]: line 2: not valid JSON: ${jsonParseMessage('[1, 2')}`,
        '  line: 2',
        '  issues:',
        `    - /: not valid JSON: ${jsonParseMessage('[1, 2')}`,
      ].join('\n'),
    },
    {
      name: 'an event that is not an object',
      args: ['publish', ...store],
      input: '"contribution-50"\n',
      code: 1,
      stderr: [
        'error [INVALID_EVENT]: line 1: an event must be a JSON object',
        '  line: 1',
        '  issues:',
        '    - /: must be object',
      ].join('\n'),
    },
    {
      name: 'data of the wrong type, in the second stream only',
      args: ['publish', ...store],
      input:
        eventLine({ id: 'p-2', subject: 'contribution-50' }) +
        eventLine({ id: 'p-3', subject: 'contribution-51', data: 'twenty-five' }),
      code: 1,
      stderr: [
        'error [VALIDATION_FAILED]: line 2: event p-3 (agreements.contribution.submitted.v1) has invalid data: /data must be object',
        '  line: 2',
        '  eventId: p-3',
        '  type: agreements.contribution.submitted.v1',
        '  dataschema: urn:eventfabric:schema:agreements.contribution.submitted:v1',
        '  issues:',
        '    - /data: must be object',
      ].join('\n'),
    },
    {
      name: 'an attribute of the wrong type',
      args: ['publish', ...store],
      input: eventLine({ id: 'p-4', subject: 'contribution-50', time: 1700000000 }),
      code: 1,
      stderr: [
        'error [INVALID_EVENT]: line 1: invalid event p-4: /time must be string',
        '  line: 1',
        '  eventId: p-4',
        '  issues:',
        '    - /time: must be string',
      ].join('\n'),
    },
    {
      name: 'an event without a subject',
      args: ['publish', ...store],
      input: eventLine({ id: 'p-5', subject: 'contribution-50' }) + eventLine({ id: 'p-6' }),
      code: 1,
      stderr: [
        'error [INVALID_EVENT]: line 2: invalid event p-6: /subject must have required property subject',
        '  line: 2',
        '  eventId: p-6',
        '  issues:',
        '    - /subject: must have required property subject',
      ].join('\n'),
    },
    {
      name: 'an unknown event type',
      args: ['publish', ...store],
      input: eventLine({ id: 'p-7', subject: 'member-1', type: 'people.member.registered.v1' }),
      code: 1,
      stderr: [
        'error [SCHEMA_NOT_FOUND]: line 1: no schema registered for people.member.registered.v1',
        '  line: 1',
        '  type: people.member.registered.v1',
        '  eventId: p-7',
      ].join('\n'),
    },
    {
      name: 'an unknown attribute name (extensions are lower-case letters and digits)',
      args: ['publish', ...store],
      input: eventLine({ id: 'p-8', subject: 'contribution-50', tenant_id: 't-1' }),
      code: 1,
      stderr: [
        'error [INVALID_EVENT]: line 1: invalid event p-8: /tenant_id property name must match pattern "^[a-z0-9]+$"',
        '  line: 1',
        '  eventId: p-8',
        '  issues:',
        '    - /tenant_id: property name must match pattern "^[a-z0-9]+$"',
      ].join('\n'),
    },
  ];

  it.concurrent.for(publishCases)(
    'rejects $name, and publishes nothing',
    async ({ args, input, code, stderr }, { expect }) => {
      const result = await runCli(args, { cwd: dir, input });

      expect(result).toEqual({ code, stdout: '', stderr: `${stderr}\n` });
      expect(await inspectStore(storePath, 'contribution-50')).toEqual({
        head: '1',
        streamVersion: -1,
      });
    },
  );
});

describe('eventfabric publish, atomic across streams on SQLite', () => {
  it('writes nothing when a later event’s id is already stored for another event', async () => {
    const path = join(dir, 'atomic.db');
    await seedStore(path, 'contribution-1', [
      eventLine({ id: 'taken', subject: 'contribution-1' }),
    ]);
    const input =
      eventLine({ id: 'fresh-1', subject: 'contribution-60' }) +
      eventLine({ id: 'taken', subject: 'contribution-61' });
    const result = await runCli(['publish', '--store', `sqlite:${path}`], { cwd: dir, input });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('error [DUPLICATE_EVENT_ID]');
    expect(await inspectStore(path, 'contribution-60')).toEqual({ head: '1', streamVersion: -1 });
    expect(await inspectStore(path, 'contribution-61')).toEqual({ head: '1', streamVersion: -1 });
  });
});

describe('eventfabric schema register, given bad input', () => {
  const schemaDir = join(dir, 'incoming', 'people');
  const file = (name: string, text: string) => {
    mkdirSync(schemaDir, { recursive: true });
    writeFileSync(join(schemaDir, name), text);
    return join('incoming', 'people', name);
  };

  const schemaCases = (): BadInputCase[] => [
    {
      name: 'malformed JSON',
      args: [
        'schema',
        'register',
        file('member.registered.v1.json', '{"type": "object",'),
        ...store,
      ],
      code: 1,
      stderr: [
        `error [INVALID_SCHEMA]: incoming/people/member.registered.v1.json: not valid JSON: ${jsonParseMessage('{"type": "object",')}`,
        '  file: incoming/people/member.registered.v1.json',
      ].join('\n'),
    },
    {
      name: 'a schema that is not an object',
      args: ['schema', 'register', file('member.renamed.v1.json', '["object"]'), ...store],
      code: 1,
      stderr: [
        'error [INVALID_SCHEMA]: incoming/people/member.renamed.v1.json: a data schema must be a JSON object',
        '  file: incoming/people/member.renamed.v1.json',
      ].join('\n'),
    },
    {
      name: 'a keyword value of the wrong type',
      args: ['schema', 'register', file('member.left.v1.json', '{"type": "objekt"}'), ...store],
      code: 1,
      stderr: [
        'error [INVALID_SCHEMA]: people.member.left.v1: not a valid JSON Schema 2020-12 document: schema is invalid: ' +
          'data/type must be equal to one of the allowed values, data/type must be array, data/type must match a schema in anyOf',
        '  type: people.member.left.v1',
      ].join('\n'),
    },
    {
      name: 'an unknown keyword',
      args: [
        'schema',
        'register',
        file('member.joined.v1.json', '{"type": "object", "propertys": {}}'),
        ...store,
      ],
      code: 1,
      stderr: [
        'error [INVALID_SCHEMA]: people.member.joined.v1: not a valid JSON Schema 2020-12 document: strict mode: unknown keyword: "propertys"',
        '  type: people.member.joined.v1',
      ].join('\n'),
    },
    {
      name: 'a file name that names no event type',
      args: ['schema', 'register', file('Member.json', '{"type": "object"}'), ...store],
      code: 1,
      stderr: [
        'error [INVALID_ARGUMENT]: cannot tell the event type from incoming/people/Member.json: ' +
          'name the file <context>/<entity>.<verb>.v<N>.json (lower-case), or pass --type',
        '  file: incoming/people/Member.json',
      ].join('\n'),
    },
    {
      name: 'a --type that breaks the naming rule',
      args: [
        'schema',
        'register',
        file('member.json', '{"type": "object"}'),
        '--type',
        'MemberRegistered',
        ...store,
      ],
      code: 1,
      stderr: [
        'error [INVALID_ARGUMENT]: schema type must look like <context>.<entity>.<verb>.v<N> (lower-case), got "MemberRegistered"',
        '  type: MemberRegistered',
      ].join('\n'),
    },
    {
      name: 'a version that skips v1',
      args: [
        'schema',
        'register',
        file('member.registered.v2.json', '{"type": "object"}'),
        ...store,
      ],
      code: 1,
      stderr: [
        'error [INVALID_ARGUMENT]: cannot register people.member.registered.v2: people.member.registered has no versions yet, so the first must be people.member.registered.v1',
        '  type: people.member.registered.v2',
        '  latestVersion: 0',
      ].join('\n'),
    },
    {
      name: 'an unknown compatibility mode (usage)',
      args: [
        'schema',
        'register',
        file('member.suspended.v1.json', '{"type": "object"}'),
        '--compatibility',
        'SOMETIMES',
        ...store,
      ],
      code: 2,
      stderr: [
        "error [INVALID_ARGUMENT]: option '--compatibility <mode>' argument 'SOMETIMES' is invalid. " +
          'Allowed choices are NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE.',
        '  help: eventfabric schema register --help',
      ].join('\n'),
    },
    {
      name: 'a file that does not exist',
      args: ['schema', 'register', 'schemas/people/member.registered.v1.json', ...store],
      code: 1,
      stderr: [
        'error [INVALID_ARGUMENT]: cannot read schemas/people/member.registered.v1.json: ENOENT',
        '  file: schemas/people/member.registered.v1.json',
      ].join('\n'),
    },
  ];

  it('rejects each bad schema, and registers nothing', async () => {
    const before = await storedSchemaTypes(storePath);

    for (const { name, args, code, stderr } of schemaCases()) {
      const result = await runCli(args, { cwd: dir });

      expect(result, name).toEqual({ code, stdout: '', stderr: `${stderr}\n` });
    }
    expect(before).toEqual(['agreements.contribution.submitted.v1']);
    expect(await storedSchemaTypes(storePath)).toEqual(before);
  });
});
