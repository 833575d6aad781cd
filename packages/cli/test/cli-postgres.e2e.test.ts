import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { afterAll, afterEach, expect, it } from 'vitest';
import { createPostgresEventStore, migrations, withTransaction } from '@eventfabric/postgres';
import { collect, eventLine, runCli, spawnCli, tempDir, until } from './cli-harness.js';
import { treasuryEvent, type TreasuryEventSpec } from './fixtures/ledger.js';
import {
  TEST_PG_URL,
  describeWithPostgres,
  dropSchemas,
  schemaExists,
  storeUrl,
  testSchemaName,
} from './pg-available.js';

const PG_LEDGER_CONFIG = fileURLToPath(
  new URL('./fixtures/pg-handlers.config.mjs', import.meta.url),
);

interface DoctorReport {
  ok: boolean;
  checks: { check: string; status: string; message: string; [detail: string]: unknown }[];
}

describeWithPostgres('eventfabric on PostgreSQL (--store postgres://…)', () => {
  const { dir, remove } = tempDir();
  const created = new Set<string>();
  afterAll(remove);
  afterEach(async () => {
    await dropSchemas(created);
    created.clear();
  });

  /** A fresh schema for one test, dropped after it, and the `--store` flag naming it. */
  const freshStore = (): { schema: string; store: string[] } => {
    const schema = testSchemaName('ef_cli');
    created.add(schema);
    return { schema, store: ['--store', storeUrl(schema)] };
  };
  const doctorJson = (stdout: string) => JSON.parse(stdout) as DoctorReport;
  const check = (report: DoctorReport, name: string) => report.checks.find((c) => c.check === name);

  it('given events appended to a stream, when reading it and tailing $all with --count, then both show them in order', async () => {
    const { store } = freshStore();
    const input = eventLine({ id: 'p-1' }) + eventLine({ id: 'p-2' }) + eventLine({ id: 'p-3' });

    const appended = await runCli(['append', 'contribution-42', '--json', ...store], {
      cwd: dir,
      input,
    });
    const read = await runCli(['read', 'contribution-42', '--json', ...store], { cwd: dir });
    const tail = await runCli(['tail', '--count', '2', '--json', ...store], { cwd: dir });
    const human = await runCli(['read', 'contribution-42', '--limit', '1', ...store], { cwd: dir });

    expect(appended).toEqual({
      code: 0,
      stdout: '{"streamVersion":2,"position":"3"}\n',
      stderr: '',
    });
    expect(read.code).toBe(0);
    const events = read.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(events.map((e) => [e.id, e.subject, e.streamversion, e.position])).toEqual([
      ['p-1', 'contribution-42', 0, '1'],
      ['p-2', 'contribution-42', 1, '2'],
      ['p-3', 'contribution-42', 2, '3'],
    ]);
    expect(tail.code).toBe(0);
    expect(
      tail.stdout
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { id: string }).id),
    ).toEqual(['p-1', 'p-2']);
    expect(human).toMatchObject({ code: 0, stderr: '' });
    expect(human.stdout).toMatch(
      /^ *1 +contribution-42@0 +agreements\.contribution\.submitted\.v1 +p-1 /,
    );
  });

  it('given a schema registered in the PostgreSQL store, when appending, then a valid event is stored and an invalid one is rejected with nothing written', async () => {
    const { store } = freshStore();
    const file = join(dir, 'schemas-pg', 'people', 'member.registered.v1.json');
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(
      file,
      JSON.stringify({
        type: 'object',
        required: ['memberId'],
        properties: { memberId: { type: 'string' } },
      }),
    );
    const type = 'people.member.registered.v1';

    const registered = await runCli(['schema', 'register', file, ...store], { cwd: dir });
    const listed = await runCli(['schema', 'list', '--json', ...store], { cwd: dir });
    const good = await runCli(['append', 'member-7', '--json', ...store], {
      cwd: dir,
      input: eventLine({ id: 'good', type, data: { memberId: 'm-7' } }),
    });
    const bad = await runCli(['append', 'member-7', '--json', ...store], {
      cwd: dir,
      input: eventLine({ id: 'bad', type, data: { memberId: 7 } }),
    });
    const read = await runCli(['read', 'member-7', '--json', ...store], { cwd: dir });

    expect(registered).toEqual({
      code: 0,
      stdout: `registered ${type} (urn:eventfabric:schema:people.member.registered:v1)\n`,
      stderr: '',
    });
    expect((JSON.parse(listed.stdout) as { type: string }[]).map((r) => r.type)).toEqual([type]);
    expect(good).toEqual({ code: 0, stdout: '{"streamVersion":0,"position":"1"}\n', stderr: '' });
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stderr)).toMatchObject({
      error: {
        code: 'VALIDATION_FAILED',
        details: { eventId: 'bad', issues: [{ path: '/data/memberId', keyword: 'type' }] },
      },
    });
    expect(read.stdout.trim().split('\n')).toHaveLength(1);
  });

  it('given a new schema, when migrating twice, then the first run applies every migration and the second none', async () => {
    const { schema, store } = freshStore();
    const versions = migrations.map((m) => m.version);
    const last = versions[versions.length - 1]!;

    const first = await runCli(['migrate', '--json', ...store], { cwd: dir });
    const second = await runCli(['migrate', ...store], { cwd: dir });

    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(first.stdout)).toEqual({
      store: `${TEST_PG_URL} (schema ${schema})`,
      kind: 'postgres',
      applied: versions,
      migrations: migrations.map(({ version, name }) => ({ version, name })),
    });
    expect(second).toEqual({
      code: 0,
      stdout: `${TEST_PG_URL} (schema ${schema}) is up to date: migration ${last} is the latest\n`,
      stderr: '',
    });
  });

  it('given a healthy migrated store, when running doctor, then every check passes and it exits 0', async () => {
    const { store } = freshStore();
    await runCli(['append', 'order-1', ...store], { cwd: dir, input: eventLine() });

    const json = await runCli(['doctor', '--json', ...store], { cwd: dir });
    const human = await runCli(['doctor', ...store], { cwd: dir });

    expect(json).toMatchObject({ code: 0, stderr: '' });
    const report = doctorJson(json.stdout);
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => [c.check, c.status])).toEqual([
      ['store', 'ok'],
      ['migrations', 'ok'],
      ['head', 'ok'],
      ['dead-letters', 'ok'],
      ['horizon', 'ok'],
      ['transport', 'ok'],
    ]);
    expect(check(report, 'head')).toMatchObject({ position: '1' });
    expect(check(report, 'horizon')).toMatchObject({ blockedBy: [] });
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/horizon +OK +clear/);
    expect(human.stdout).toMatch(/healthy\n$/);
  });

  it('given a transaction that appended and stays open, when running doctor with --max-hold-ms 0, then it names the blocking pid and exits 1', async () => {
    const { schema, store } = freshStore();
    const writer = await createPostgresEventStore({ connectionString: TEST_PG_URL, schema });
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let holding!: (pid: number) => void;
    const held = new Promise<number>((resolve) => (holding = resolve));
    const transaction = withTransaction(writer, async (tx) => {
      await tx.appendToStream('order-9', [JSON.parse(eventLine({ id: 'held' })) as unknown]);
      const { rows } = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      holding(rows[0]!.pid);
      await released;
    });
    try {
      const pid = await held;

      const json = await runCli(['doctor', '--max-hold-ms', '0', '--json', ...store], { cwd: dir });
      const human = await runCli(['doctor', '--max-hold-ms', '0', ...store], { cwd: dir });
      const lenient = await runCli(['doctor', '--json', ...store], { cwd: dir });

      expect(json.code).toBe(1);
      const report = doctorJson(json.stdout);
      expect(report.ok).toBe(false);
      const horizon = check(report, 'horizon')!;
      expect(horizon).toMatchObject({ status: 'fail', maxHoldMs: 0 });
      expect(horizon.blockedBy).toEqual([
        {
          pid,
          heldMs: expect.any(Number) as number,
          since: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as string,
          heldAt: expect.any(String) as string,
          query: 'SELECT pg_backend_pid() AS pid',
        },
      ]);
      expect(human.code).toBe(1);
      expect(human.stdout).toContain(`horizon`);
      expect(human.stdout).toMatch(new RegExp(`held by pid ${pid} for \\d+ ms`));
      expect(human.stdout).toContain(`  pid ${pid}: SELECT pg_backend_pid() AS pid`);
      // Under the default limit (60 s) a short hold is a warning, not a failure.
      expect(lenient.code).toBe(0);
      expect(check(doctorJson(lenient.stdout), 'horizon')).toMatchObject({ status: 'warn' });
    } finally {
      release();
      await transaction;
      await writer.close();
    }
    const after = await runCli(['doctor', '--max-hold-ms', '0', '--json', ...store], { cwd: dir });
    expect(after.code).toBe(0);
  });

  it('given an unreachable server, when reading or running doctor, then STORE_UNAVAILABLE and exit 1', async () => {
    const store = ['--store', 'postgres://root@127.0.0.1:1/test'];

    const read = await runCli(['read', 'order-1', '--json', ...store], { cwd: dir });
    const doctor = await runCli(['doctor', '--json', ...store], { cwd: dir });

    expect(read.code).toBe(1);
    expect(read.stdout).toBe('');
    expect(JSON.parse(read.stderr)).toMatchObject({ error: { code: 'STORE_UNAVAILABLE' } });
    expect(doctor.code).toBe(1);
    const report = doctorJson(doctor.stdout);
    expect(report.ok).toBe(false);
    expect(check(report, 'store')).toMatchObject({ status: 'fail', code: 'STORE_UNAVAILABLE' });
    expect(check(report, 'horizon')).toMatchObject({ status: 'skipped' });
  });

  it.each([
    ['an unknown scheme', 'mysql://root@127.0.0.1:5432/test', 'unknown store URL'],
    ['no database', 'postgres://root@127.0.0.1:5432', 'it must name one database'],
    [
      'a bad schema name',
      'postgres://root@127.0.0.1:5432/test?schema=Bad-Name',
      'schema "Bad-Name"',
    ],
    [
      'the schema twice',
      'postgres://root@127.0.0.1:5432/test?schema=SCHEMA&schema=x',
      'given twice',
    ],
  ])(
    'given a store URL with %s, when appending, then INVALID_CONFIG, exit 1, and nothing is created',
    async (_, url, message) => {
      const schema = testSchemaName('ef_cli');
      created.add(schema);
      const cwd = join(dir, schema);
      mkdirSync(cwd);

      const result = await runCli(
        ['append', 'order-1', '--json', '--store', url.replace('SCHEMA', schema)],
        { cwd, input: eventLine() },
      );
      const doctor = await runCli(['doctor', '--store', url.replace('SCHEMA', schema)], { cwd });

      expect(result.code).toBe(1);
      const { error } = JSON.parse(result.stderr) as { error: { code: string; message: string } };
      expect(error.code).toBe('INVALID_CONFIG');
      expect(error.message).toContain(message);
      expect(doctor.code).toBe(1);
      expect(doctor.stderr).toMatch(/^error \[INVALID_CONFIG\]/);
      expect(readdirSync(cwd)).toEqual([]);
      expect(await schemaExists(schema)).toBe(false);
    },
  );

  it('given a PostgreSQL store, when consuming, then the log and live events are handled once each through the group queues, and SIGTERM drains', async () => {
    const { schema, store } = freshStore();
    const cwd = join(dir, `consume-${schema}`);
    mkdirSync(cwd, { recursive: true });
    copyFileSync(PG_LEDGER_CONFIG, join(cwd, 'eventfabric.config.mjs'));
    const env = { LEDGER_SCHEMA: schema };
    const pg = await createPostgresEventStore({ connectionString: TEST_PG_URL, schema });
    try {
      await pg.pool.query(
        `CREATE TABLE "${schema}".balances (member text PRIMARY KEY, cents integer NOT NULL)`,
      );
      const append = (specs: TreasuryEventSpec[]) =>
        Promise.all(
          specs.map((spec) => pg.appendToStream(`member-${spec.member}`, [treasuryEvent(spec)])),
        );
      await append([
        { id: 'c-1', member: 1, cents: 100 },
        { id: 'c-2', member: 2, cents: 200 },
        { id: 'r-1', member: 1, cents: 30, type: 'treasury.refund.issued.v1' },
      ]);
      const processed = async () =>
        (
          await pg.pool.query<{ p: string }>(
            `SELECT handler || ' ' || event_id AS p FROM "${schema}".processed_events ORDER BY 1`,
          )
        ).rows.map((r) => r.p);
      const child = spawnCli(['consume', '--concurrency', '2', ...store], { cwd, env });
      const result = collect(child);
      let stdout = '';
      child.stdout.on('data', (d: string) => (stdout += d));
      await until(
        async () => stdout,
        (s) => s.includes('consuming'),
        'the consumer to start',
      );
      await until(processed, (p) => p.length === 5, 'the backlog');
      await append([{ id: 'c-3', member: 2, cents: 5 }]);
      expect(await until(processed, (p) => p.length === 7, 'the live event')).toEqual([
        'balances c-1',
        'balances c-2',
        'balances c-3',
        'balances r-1',
        'receipts c-1',
        'receipts c-2',
        'receipts c-3',
      ]);
      const balances = await pg.pool.query<{ member: string; cents: number }>(
        `SELECT member, cents FROM "${schema}".balances ORDER BY member`,
      );
      expect(balances.rows).toEqual([
        { member: 'm-1', cents: 70 },
        { member: 'm-2', cents: 205 },
      ]);
      const receipts = await until(
        async () =>
          (await pg.readAll({ typePrefixes: ['treasury.receipt.'] }))
            .map((e) => e.causationid)
            .sort(),
        (r) => r.length === 3,
        'three receipts',
      );
      expect(receipts).toEqual(['c-1', 'c-2', 'c-3']);
      child.kill('SIGTERM');
      const { code, stderr } = await result;
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      expect(stdout).toBe(
        'consuming as ledger.balances, ledger.receipts; SIGINT or SIGTERM stops\nstopped: in-flight handlings drained\n',
      );
      // Each group's relay released its lease and kept its checkpoint.
      const relays = await pg.pool.query<{ name: string; owner: string | null }>(
        `SELECT name, owner FROM "${schema}".relay_checkpoints ORDER BY name`,
      );
      expect(relays.rows).toEqual([
        { name: 'group:ledger.balances', owner: null },
        { name: 'group:ledger.receipts', owner: null },
      ]);
    } finally {
      await pg.close();
    }
  });

  it('given a PostgreSQL store, when listing dead letters, then the empty queue is read from it', async () => {
    const { store } = freshStore();

    const result = await runCli(['dlq', 'list', ...store], { cwd: dir });

    expect(result).toEqual({ code: 0, stdout: 'no dead letters\n', stderr: '' });
  });
});
