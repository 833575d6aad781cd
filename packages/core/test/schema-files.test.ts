import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  IncompatibleSchemaError,
  InvalidArgumentError,
  InvalidSchemaError,
  checkSchemaFiles,
  createSchemaRegistry,
  loadSchemaFiles,
} from '../src/index.js';

const v1 = {
  type: 'object',
  properties: { amount: { type: 'integer' }, memberId: { type: 'string' } },
  required: ['amount', 'memberId'],
};
const v2 = { ...v1, properties: { ...v1.properties, note: { type: 'string' } } };
/** Breaks BACKWARD against v2: `note` becomes required. */
const v3Breaking = { ...v2, required: ['amount', 'memberId', 'note'] };
const joined = { type: 'object', properties: { email: { type: 'string', 'x-pii': true } } };

const dirs: string[] = [];

/** A schemas directory holding the given files (path → JSON value, or raw text). */
async function schemasDir(files: Record<string, unknown>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'eventfabric-schemas-'));
  dirs.push(dir);
  for (const [path, content] of Object.entries(files)) {
    const file = join(dir, path);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content));
  }
  return dir;
}

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('loadSchemaFiles', () => {
  it('registers every file in version order per base and returns the types', async () => {
    // given files whose directory order is not version order
    const dir = await schemasDir({
      'treasury/contribution.approved.v2.json': v2,
      'treasury/contribution.approved.v1.json': v1,
      'membership/member.joined.v1.json': joined,
      'README.md': '# not a schema',
    });
    const registry = await createSchemaRegistry();
    // when they are loaded
    const registered = await loadSchemaFiles(registry, dir);
    // then each is registered, v1 before v2
    expect(registered).toEqual([
      'membership.member.joined.v1',
      'treasury.contribution.approved.v1',
      'treasury.contribution.approved.v2',
    ]);
    expect(registry.get('treasury.contribution.approved.v2')?.schema).toEqual(v2);
    expect(registry.piiPaths('membership.member.joined.v1')).toEqual(['/email']);
  });

  it('loading the same files again registers nothing', async () => {
    const dir = await schemasDir({ 'treasury/contribution.approved.v1.json': v1 });
    const registry = await createSchemaRegistry();
    await loadSchemaFiles(registry, dir);
    expect(await loadSchemaFiles(registry, dir)).toEqual([]);
  });

  it('a malformed JSON file fails with INVALID_SCHEMA naming it, and nothing is registered', async () => {
    const dir = await schemasDir({
      'treasury/contribution.approved.v1.json': v1,
      'treasury/contribution.approved.v2.json': '{ "type": "object", ',
    });
    const registry = await createSchemaRegistry();
    const error = await loadSchemaFiles(registry, dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidSchemaError);
    const file = join(dir, 'treasury', 'contribution.approved.v2.json');
    expect((error as InvalidSchemaError).message.startsWith(`${file}: not valid JSON: `)).toBe(
      true,
    );
    expect((error as InvalidSchemaError).details).toEqual({ file });
    expect(registry.list()).toEqual([]);
  });

  it.each([
    ['a file outside a context folder', 'contribution.approved.v1.json'],
    ['a file nested too deep', 'treasury/sub/contribution.approved.v1.json'],
    ['a name without version', 'treasury/contribution.approved.json'],
    ['an upper-case name', 'treasury/Contribution.approved.v1.json'],
  ])('refuses %s', async (_what, path) => {
    const dir = await schemasDir({ [path]: v1 });
    const error = await loadSchemaFiles(await createSchemaRegistry(), dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidSchemaError);
    expect((error as InvalidSchemaError).message).toBe(
      `${join(dir, path)}: a schema file must be at <context>/<entity>.<verb>.v<N>.json under the schema directory (lower-case)`,
    );
  });

  it('refuses a file that is JSON but not an object', async () => {
    const dir = await schemasDir({ 'treasury/contribution.approved.v1.json': [v1] });
    const error = await loadSchemaFiles(await createSchemaRegistry(), dir).catch((e: unknown) => e);
    expect((error as Error).message).toBe(
      `${join(dir, 'treasury', 'contribution.approved.v1.json')}: a data schema must be a JSON object`,
    );
  });

  it('refuses a file that is not valid JSON Schema, naming it', async () => {
    const dir = await schemasDir({ 'treasury/contribution.approved.v1.json': { type: 'strin' } });
    const error = await loadSchemaFiles(await createSchemaRegistry(), dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidSchemaError);
    const file = join(dir, 'treasury', 'contribution.approved.v1.json');
    expect(
      (error as Error).message.startsWith(
        `${file}: treasury.contribution.approved.v1: not a valid JSON Schema 2020-12 document`,
      ),
    ).toBe(true);
  });

  it('refuses a skipped version, naming the file', async () => {
    const dir = await schemasDir({
      'treasury/contribution.approved.v1.json': v1,
      'treasury/contribution.approved.v3.json': v2,
    });
    const registry = await createSchemaRegistry();
    const error = await loadSchemaFiles(registry, dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidSchemaError);
    expect((error as Error).message).toBe(
      `${join(dir, 'treasury', 'contribution.approved.v3.json')}: cannot register treasury.contribution.approved.v3: the latest version of treasury.contribution.approved is v1, so the next must be treasury.contribution.approved.v2`,
    );
    expect(registry.list()).toEqual([]);
  });

  it('an incompatible file fails with INCOMPATIBLE_SCHEMA, and nothing is registered', async () => {
    const dir = await schemasDir({
      'treasury/contribution.approved.v1.json': v1,
      'treasury/contribution.approved.v2.json': v2,
      'treasury/contribution.approved.v3.json': v3Breaking,
    });
    const registry = await createSchemaRegistry();
    const error = await loadSchemaFiles(registry, dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IncompatibleSchemaError);
    expect((error as IncompatibleSchemaError).changes).toEqual([
      {
        path: '/note',
        kind: 'property-made-required',
        message: 'property /note: changed from optional to required',
        against: 2,
      },
    ]);
    expect(registry.list()).toEqual([]);
  });

  it('refuses a file that changes a registered version', async () => {
    const registry = await createSchemaRegistry();
    await registry.register('treasury.contribution.approved.v1', v1);
    const dir = await schemasDir({ 'treasury/contribution.approved.v1.json': v2 });
    const error = await loadSchemaFiles(registry, dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidSchemaError);
    expect((error as Error).message).toBe(
      `${join(dir, 'treasury', 'contribution.approved.v1.json')}: treasury.contribution.approved.v1 is already registered with a different schema; registered versions are immutable, so add the change as a new version`,
    );
  });

  it('refuses a directory that does not exist', async () => {
    const missing = join(tmpdir(), 'eventfabric-no-such-dir');
    const error = await loadSchemaFiles(await createSchemaRegistry(), missing).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(
      (error as Error).message.startsWith(`cannot read the schema directory ${missing}: `),
    ).toBe(true);
  });
});

describe('checkSchemaFiles', () => {
  it('reports one verdict per file, checking new versions against earlier new ones', async () => {
    // given v1 is registered, and the files add v2 (compatible) and v3 (breaks v2)
    const registry = await createSchemaRegistry();
    await registry.register('treasury.contribution.approved.v1', v1);
    const dir = await schemasDir({
      'treasury/contribution.approved.v1.json': v1,
      'treasury/contribution.approved.v2.json': v2,
      'treasury/contribution.approved.v3.json': v3Breaking,
      'membership/member.joined.v1.json': joined,
    });
    // when they are checked
    const checks = await checkSchemaFiles(registry, dir);
    // then
    const file = (path: string) => join(dir, path);
    expect(checks).toEqual([
      {
        file: file('membership/member.joined.v1.json'),
        type: 'membership.member.joined.v1',
        compatible: true,
        changes: [],
        mode: 'BACKWARD',
        new: true,
      },
      {
        file: file('treasury/contribution.approved.v1.json'),
        type: 'treasury.contribution.approved.v1',
        compatible: true,
        changes: [],
        mode: 'BACKWARD',
        new: false,
      },
      {
        file: file('treasury/contribution.approved.v2.json'),
        type: 'treasury.contribution.approved.v2',
        compatible: true,
        changes: [],
        mode: 'BACKWARD',
        new: true,
      },
      {
        file: file('treasury/contribution.approved.v3.json'),
        type: 'treasury.contribution.approved.v3',
        compatible: false,
        changes: [
          {
            path: '/note',
            kind: 'property-made-required',
            message: 'property /note: changed from optional to required',
            against: 2,
          },
        ],
        mode: 'BACKWARD',
        new: true,
      },
    ]);
    // and nothing was registered
    expect(registry.list().map((r) => r.type)).toEqual(['treasury.contribution.approved.v1']);
  });

  it("uses each subject's own mode", async () => {
    const registry = await createSchemaRegistry();
    await registry.register('treasury.contribution.approved.v1', v1);
    registry.setCompatibility('treasury.contribution.approved', 'FORWARD');
    const dir = await schemasDir({
      'treasury/contribution.approved.v2.json': { ...v1, required: ['amount'] },
    });
    const [check] = await checkSchemaFiles(registry, dir);
    expect([check!.mode, check!.compatible, check!.changes.map((c) => c.kind)]).toEqual([
      'FORWARD',
      false,
      ['property-made-optional'],
    ]);
  });

  it('reports a file that changes a registered version', async () => {
    const registry = await createSchemaRegistry();
    await registry.register('treasury.contribution.approved.v1', v1);
    const dir = await schemasDir({ 'treasury/contribution.approved.v1.json': v2 });
    const [check] = await checkSchemaFiles(registry, dir);
    expect([check!.compatible, check!.new, check!.changes.map((c) => c.kind)]).toEqual([
      false,
      false,
      ['version-modified'],
    ]);
  });
});
