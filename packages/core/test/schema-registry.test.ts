import { describe, expect, it } from 'vitest';
import {
  InMemoryEventStore,
  InvalidArgumentError,
  InvalidSchemaError,
  SchemaNotFoundError,
  SchemaRegistry,
  ValidationFailedError,
  createEvent,
  createSchemaRegistry,
  normalizeEvent,
  type CloudEvent,
  type SchemaStorage,
  type StoredSchemaRecord,
} from '../src/index.js';

const APPROVED = 'treasury.contribution.approved';
const V1 = `${APPROVED}.v1`;
const V2 = `${APPROVED}.v2`;

const approvedV1 = {
  type: 'object',
  properties: {
    amount: { type: 'integer', minimum: 1 },
    memberId: { type: 'string', 'x-pii': true },
  },
  required: ['amount', 'memberId'],
  additionalProperties: false,
};

const approvedV2 = {
  ...approvedV1,
  properties: { ...approvedV1.properties, note: { type: 'string' } },
};

function approvedEvent(data: unknown, type = V1): CloudEvent {
  return createEvent({ type, source: '/habitat/treasury', subject: 'contribution-42', data });
}

/** The error a promise rejects with, or a function throws. */
async function failure(action: () => unknown): Promise<unknown> {
  try {
    await action();
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

describe('SchemaRegistry.create', () => {
  it('defaults to BACKWARD and rejects unknown types', async () => {
    const registry = await SchemaRegistry.create();
    expect(registry.getCompatibility(APPROVED)).toBe('BACKWARD');
    const error = await failure(() => registry.validate(approvedEvent({ amount: 1 })));
    expect(error).toBeInstanceOf(SchemaNotFoundError);
    expect((error as SchemaNotFoundError).code).toBe('SCHEMA_NOT_FOUND');
  });

  it.each([
    [
      { strict: true },
      'unknown schema registry option "strict"; known options are storage, defaultCompatibility, unknownTypes',
    ],
    [
      { defaultCompatibility: 'backward' },
      'defaultCompatibility must be one of NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE; got "backward"',
    ],
    [{ unknownTypes: 'maybe' }, 'unknownTypes must be "reject" or "allow"; got "maybe"'],
    [
      { storage: {} },
      'storage must implement SchemaStorage (loadSchemas() and saveSchema(record))',
    ],
    [42, 'schema registry options must be an object'],
  ])('rejects the options %j', async (options, message) => {
    const error = await failure(() => createSchemaRegistry(options as never));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).message).toBe(message);
  });
});

describe('SchemaRegistry.register', () => {
  it('registers v1 and exposes its record', async () => {
    const registry = await createSchemaRegistry();
    const result = await registry.register(V1, approvedV1);
    expect(result).toEqual({
      base: APPROVED,
      version: 1,
      type: V1,
      id: 'urn:eventfabric:schema:treasury.contribution.approved:v1',
      created: true,
    });
    const record = registry.get(V1)!;
    expect({ ...record, registeredAt: typeof record.registeredAt }).toEqual({
      type: V1,
      base: APPROVED,
      version: 1,
      id: 'urn:eventfabric:schema:treasury.contribution.approved:v1',
      schema: approvedV1,
      piiPaths: ['/memberId'],
      compatibility: 'BACKWARD',
      registeredAt: 'string',
    });
    expect(Object.isFrozen(record.schema)).toBe(true);
    expect(registry.latestVersion(APPROVED)).toBe(1);
  });

  it('keeps its own copy: changing the argument later changes nothing', async () => {
    const registry = await createSchemaRegistry();
    const schema = structuredClone(approvedV1);
    await registry.register(V1, schema);
    schema.properties.amount.type = 'string';
    expect(registry.get(V1)!.schema).toEqual(approvedV1);
  });

  it('registering the same schema again is a no-op, whatever the key order', async () => {
    const registry = await createSchemaRegistry();
    await registry.register(V1, approvedV1);
    const reordered = Object.fromEntries(Object.entries(approvedV1).reverse());
    const again = await registry.register(V1, reordered);
    expect(again.created).toBe(false);
    expect(registry.list().length).toBe(1);
  });

  it('refuses a different schema under a registered version', async () => {
    const registry = await createSchemaRegistry();
    await registry.register(V1, approvedV1);
    const error = await failure(() => registry.register(V1, approvedV2));
    expect(error).toBeInstanceOf(InvalidSchemaError);
    expect((error as InvalidSchemaError).message).toBe(
      'treasury.contribution.approved.v1 is already registered with a different schema; registered versions are immutable, so register the change as a new version',
    );
  });

  it('requires versions in order, from v1', async () => {
    const registry = await createSchemaRegistry();
    const first = await failure(() => registry.register(V2, approvedV2));
    expect(first).toBeInstanceOf(InvalidArgumentError);
    expect((first as Error).message).toBe(
      'cannot register treasury.contribution.approved.v2: treasury.contribution.approved has no versions yet, so the first must be treasury.contribution.approved.v1',
    );
    await registry.register(V1, approvedV1);
    const gap = await failure(() => registry.register(`${APPROVED}.v3`, approvedV2));
    expect((gap as Error).message).toBe(
      'cannot register treasury.contribution.approved.v3: the latest version of treasury.contribution.approved is v1, so the next must be treasury.contribution.approved.v2',
    );
  });

  it.each([
    ['com.github.push'],
    ['Treasury.contribution.approved.v1'],
    [APPROVED],
    [`${APPROVED}.v0`],
    [42],
    [undefined],
  ])('refuses the type name %j with INVALID_ARGUMENT', async (type) => {
    const registry = await createSchemaRegistry();
    const error = await failure(() => registry.register(type as string, approvedV1));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).code).toBe('INVALID_ARGUMENT');
  });

  it.each([
    ['not JSON Schema', { type: 'object', properties: { amount: { type: 'int' } } }],
    ['an unknown keyword', { type: 'object', colour: 'red' }],
    ['a bad keyword value', { type: 'string', minLength: -1 }],
    ['a string', 'object'],
    ['an array', [{ type: 'object' }]],
    ['null', null],
  ])('refuses %s with INVALID_SCHEMA and registers nothing', async (_what, schema) => {
    const registry = await createSchemaRegistry();
    const error = await failure(() => registry.register(V1, schema as never));
    expect(error).toBeInstanceOf(InvalidSchemaError);
    expect((error as InvalidSchemaError).code).toBe('INVALID_SCHEMA');
    expect(registry.latestVersion(APPROVED)).toBe(undefined);
  });

  it('names the Ajv problem in an invalid schema error', async () => {
    const registry = await createSchemaRegistry();
    const error = await failure(() => registry.register(V1, { type: 'object', colour: 'red' }));
    expect((error as Error).message).toBe(
      'treasury.contribution.approved.v1: not a valid JSON Schema 2020-12 document: strict mode: unknown keyword: "colour"',
    );
  });

  it('refuses a mode it does not know', async () => {
    const registry = await createSchemaRegistry();
    const error = await failure(() =>
      registry.register(V1, approvedV1, { compatibility: 'SIDEWAYS' as never }),
    );
    expect(error).toBeInstanceOf(InvalidArgumentError);
  });

  it('refuses a $id another version uses, and frees a $id after a failed registration', async () => {
    const registry = await createSchemaRegistry();
    const $id = 'https://example.org/approved.json';
    await registry.register(V1, { ...approvedV1, $id });
    const clash = await failure(() => registry.register(V2, { ...approvedV2, $id }));
    expect((clash as Error).message).toBe(
      'treasury.contribution.approved.v2: $id https://example.org/approved.json is already used by another registered schema; give each version its own $id, or none',
    );
    const other = 'https://example.org/approved-2.json';
    const incompatible = { ...approvedV2, $id: other, required: ['amount', 'memberId', 'note'] };
    await failure(() => registry.register(V2, incompatible));
    const result = await registry.register(V2, { ...approvedV2, $id: other });
    expect(result.created).toBe(true);
  });

  it('serialises concurrent registrations', async () => {
    const registry = await createSchemaRegistry();
    const results = await Promise.all([
      registry.register(V1, approvedV1),
      registry.register(V1, approvedV1),
      registry.register(V2, approvedV2),
    ]);
    expect(results.map((r) => [r.version, r.created])).toEqual([
      [1, true],
      [1, false],
      [2, true],
    ]);
  });

  it('lists every version sorted by base, then version', async () => {
    const registry = await createSchemaRegistry();
    await registry.register(V1, approvedV1);
    await registry.register('membership.member.joined.v1', { type: 'object' });
    await registry.register(V2, approvedV2);
    expect(registry.list().map((r) => r.type)).toEqual(['membership.member.joined.v1', V1, V2]);
    expect(registry.latestVersion('membership.member.joined')).toBe(1);
    expect(registry.get(`${APPROVED}.v3`)).toBe(undefined);
  });
});

describe('SchemaRegistry compatibility settings', () => {
  it('sets and reads a subject mode', async () => {
    const registry = await createSchemaRegistry({ defaultCompatibility: 'FULL' });
    expect(registry.getCompatibility(APPROVED)).toBe('FULL');
    registry.setCompatibility(APPROVED, 'NONE');
    expect(registry.getCompatibility(APPROVED)).toBe('NONE');
    expect(registry.getCompatibility('membership.member.joined')).toBe('FULL');
  });

  it.each([[V1], ['com.github'], [7]])('refuses the base %j', async (base) => {
    const registry = await createSchemaRegistry();
    expect(() => registry.setCompatibility(base as string, 'NONE')).toThrow(InvalidArgumentError);
    expect(() => registry.getCompatibility(base as string)).toThrow(InvalidArgumentError);
  });

  it('refuses an unknown mode', async () => {
    const registry = await createSchemaRegistry();
    expect(() => registry.setCompatibility(APPROVED, 'full' as never)).toThrow(
      'mode must be one of NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE; got "full"',
    );
  });

  it('checkCompatibility reports a modified version instead of throwing', async () => {
    const registry = await createSchemaRegistry();
    await registry.register(V1, approvedV1);
    expect(registry.checkCompatibility(V1, approvedV1)).toEqual({
      compatible: true,
      changes: [],
      mode: 'BACKWARD',
      new: false,
    });
    expect(registry.checkCompatibility(V1, approvedV2)).toEqual({
      compatible: false,
      changes: [
        {
          path: '/',
          kind: 'version-modified',
          message:
            'data: treasury.contribution.approved.v1 is already registered with a different schema; registered versions are immutable',
          against: 1,
        },
      ],
      mode: 'BACKWARD',
      new: false,
    });
    expect(() => registry.checkCompatibility(V2, { type: 'strin' })).toThrow(InvalidSchemaError);
    expect(registry.latestVersion(APPROVED)).toBe(1);
  });
});

describe('SchemaRegistry.validate', () => {
  async function registryWithV1(): Promise<SchemaRegistry> {
    const registry = await createSchemaRegistry();
    await registry.register(V1, approvedV1);
    return registry;
  }

  it('returns a new event with dataschema set, leaving the input alone', async () => {
    const registry = await registryWithV1();
    const event = approvedEvent({ amount: 5, memberId: 'm-1' });
    const validated = registry.validate(event);
    expect(validated).not.toBe(event);
    expect(validated).toEqual({
      ...event,
      dataschema: 'urn:eventfabric:schema:treasury.contribution.approved:v1',
    });
    expect(event.dataschema).toBe(undefined);
  });

  it('sets a dataschema that passes the envelope rules (an absolute URI)', async () => {
    const registry = await registryWithV1();
    const validated = registry.validate(approvedEvent({ amount: 5, memberId: 'm-1' }));
    expect(normalizeEvent(validated).dataschema).toBe(
      'urn:eventfabric:schema:treasury.contribution.approved:v1',
    );
  });

  it('lists every failing path of the data', async () => {
    const registry = await registryWithV1();
    const event = approvedEvent({ amount: 'five' });
    const error = await failure(() => registry.validate(event));
    expect(error).toBeInstanceOf(ValidationFailedError);
    const failed = error as ValidationFailedError;
    expect(failed.code).toBe('VALIDATION_FAILED');
    expect(failed.issues).toEqual([
      {
        path: '/data/memberId',
        message: "must have required property 'memberId'",
        keyword: 'required',
      },
      { path: '/data/amount', message: 'must be integer', keyword: 'type' },
    ]);
    expect(failed.details).toMatchObject({
      eventId: event.id,
      type: V1,
      dataschema: 'urn:eventfabric:schema:treasury.contribution.approved:v1',
    });
  });

  it('reports unexpected properties and nested paths', async () => {
    const registry = await createSchemaRegistry();
    await registry.register('sales.order.placed.v1', {
      type: 'object',
      properties: {
        lines: {
          type: 'array',
          items: { type: 'object', properties: { sku: { type: 'string' } } },
        },
      },
      additionalProperties: false,
    });
    const event = createEvent({
      type: 'sales.order.placed.v1',
      source: '/shop',
      subject: 'order-1',
      data: { lines: [{ sku: 'a' }, { sku: 2 }], coupon: 'X' },
    });
    const error = (await failure(() => registry.validate(event))) as ValidationFailedError;
    expect(error.issues.map((i) => i.path)).toEqual(['/data/coupon', '/data/lines/1/sku']);
  });

  it('passes unknown and foreign types through untouched when they are allowed', async () => {
    const registry = await createSchemaRegistry({ unknownTypes: 'allow' });
    const unknown = approvedEvent({ anything: true });
    expect(registry.validate(unknown)).toBe(unknown);
    const foreign = createEvent({
      type: 'com.github.push',
      source: '/github',
      subject: 'repo-1',
      data: {},
      allowForeignTypes: true,
    });
    expect(registry.validate(foreign)).toBe(foreign);
  });

  it('rejects an unregistered version of a known base', async () => {
    const registry = await registryWithV1();
    const error = await failure(() =>
      registry.validate(approvedEvent({ amount: 1, memberId: 'm' }, V2)),
    );
    expect(error).toBeInstanceOf(SchemaNotFoundError);
    expect((error as Error).message).toBe(
      'no schema registered for treasury.contribution.approved.v2',
    );
  });
});

describe('SchemaRegistry.piiPaths', () => {
  it('finds x-pii in nested objects and arrays; a marked object covers its children', async () => {
    const registry = await createSchemaRegistry();
    await registry.register('membership.member.joined.v1', {
      type: 'object',
      properties: {
        email: { type: 'string', 'x-pii': true },
        address: {
          type: 'object',
          'x-pii': true,
          properties: { city: { type: 'string', 'x-pii': true } },
        },
        guardians: {
          type: 'array',
          items: {
            type: 'object',
            properties: { name: { type: 'string', 'x-pii': true }, role: { type: 'string' } },
          },
        },
        plan: { type: 'string', 'x-pii': false },
      },
    });
    expect(registry.piiPaths('membership.member.joined.v1')).toEqual([
      '/address',
      '/email',
      '/guardians/*/name',
    ]);
  });

  it('is empty for a type without a schema', async () => {
    const registry = await createSchemaRegistry();
    expect(registry.piiPaths(V1)).toEqual([]);
  });
});

describe('SchemaRegistry persistence', () => {
  it('a second registry on the same storage sees the schemas and their modes', async () => {
    const store = new InMemoryEventStore();
    const first = await createSchemaRegistry({ storage: store });
    await first.register(V1, approvedV1);
    await first.register(V2, approvedV2, { compatibility: 'BACKWARD_TRANSITIVE' });

    const second = await createSchemaRegistry({ storage: store });
    expect(second.list()).toEqual(first.list());
    expect(second.getCompatibility(APPROVED)).toBe('BACKWARD_TRANSITIVE');
    expect(second.validate(approvedEvent({ amount: 2, memberId: 'm-2' }, V2)).dataschema).toBe(
      'urn:eventfabric:schema:treasury.contribution.approved:v2',
    );
  });

  it('saves records in the StoredSchemaRecord shape', async () => {
    const store = new InMemoryEventStore();
    const registry = await createSchemaRegistry({ storage: store });
    await registry.register(V1, approvedV1);
    const [record] = await store.loadSchemas();
    expect(record).toEqual({
      base: APPROVED,
      version: 1,
      schema: approvedV1,
      compatibility: 'BACKWARD',
      registeredAt: registry.get(V1)!.registeredAt,
    });
  });

  it('a failed registration persists nothing', async () => {
    const store = new InMemoryEventStore();
    const registry = await createSchemaRegistry({ storage: store });
    await registry.register(V1, approvedV1);
    const breaking = { ...approvedV2, required: ['amount', 'memberId', 'note'] };
    await failure(() => registry.register(V2, breaking));
    await failure(() => registry.register(V2, { type: 'strin' }));
    await failure(() => registry.register(`${APPROVED}.v3`, approvedV2));
    expect((await store.loadSchemas()).map((r) => r.version)).toEqual([1]);
    expect(registry.latestVersion(APPROVED)).toBe(1);
  });

  it('when saving fails, the version is not registered and can be retried', async () => {
    const store = new InMemoryEventStore();
    let failNext = true;
    const flaky: SchemaStorage = {
      loadSchemas: () => store.loadSchemas(),
      saveSchema: async (record: StoredSchemaRecord) => {
        if (failNext) {
          failNext = false;
          throw new Error('disk full');
        }
        await store.saveSchema(record);
      },
    };
    const registry = await createSchemaRegistry({ storage: flaky });
    const error = await failure(() => registry.register(V1, { ...approvedV1, $id: 'urn:x:1' }));
    expect((error as Error).message).toBe('disk full');
    expect(registry.get(V1)).toBe(undefined);
    expect(await store.loadSchemas()).toEqual([]);
    expect((await registry.register(V1, { ...approvedV1, $id: 'urn:x:1' })).created).toBe(true);
  });

  it('refuses to start on a malformed stored record', async () => {
    const storage: SchemaStorage = {
      loadSchemas: async () => [
        {
          base: APPROVED,
          version: 1,
          schema: approvedV1,
          compatibility: 'SOMETIMES',
          registeredAt: '',
        },
      ],
      saveSchema: async () => undefined,
    };
    const error = await failure(() => createSchemaRegistry({ storage }));
    expect(error).toBeInstanceOf(InvalidSchemaError);
    expect((error as Error).message).toBe(
      'stored schema treasury.contribution.approved v1: compatibility is not a known mode',
    );
  });

  it('refuses to start on stored versions with a gap', async () => {
    const storage: SchemaStorage = {
      loadSchemas: async () => [
        {
          base: APPROVED,
          version: 2,
          schema: approvedV2,
          compatibility: 'BACKWARD',
          registeredAt: '',
        },
      ],
      saveSchema: async () => undefined,
    };
    const error = await failure(() => createSchemaRegistry({ storage }));
    expect((error as Error).message).toBe(
      'stored schema treasury.contribution.approved.v2 follows a version that is not stored',
    );
  });
});

describe('SchemaRegistry as the schemas of an event store', () => {
  it('validates on append: an invalid event stores nothing, a valid one carries its dataschema', async () => {
    const registry = await createSchemaRegistry();
    await registry.register(V1, approvedV1);
    const store = new InMemoryEventStore({ schemas: registry });
    const bad = await failure(() =>
      store.appendToStream('contribution-42', [approvedEvent({ amount: 0, memberId: 'm' })]),
    );
    expect((bad as ValidationFailedError).issues.map((i) => i.path)).toEqual(['/data/amount']);
    expect(await store.streamVersion('contribution-42')).toBe(-1);

    await store.appendToStream('contribution-42', [approvedEvent({ amount: 3, memberId: 'm' })]);
    const [stored] = await store.readStream('contribution-42');
    expect(stored!.dataschema).toBe('urn:eventfabric:schema:treasury.contribution.approved:v1');
  });
});
