import { describe, expect, it } from 'vitest';
import {
  InMemoryEventStore,
  InvalidArgumentError,
  SchemaNotFoundError,
  UpcasterFailedError,
  ValidationFailedError,
  createEvent,
  createSchemaRegistry,
  type SchemaRegistry,
  type StoredEvent,
} from '../src/index.js';

const BASE = 'treasury.contribution.approved';
const V1 = `${BASE}.v1`;
const V2 = `${BASE}.v2`;
const V3 = `${BASE}.v3`;

interface DataV1 {
  amount: number;
  memberId: string;
}
interface DataV2 {
  amount: number;
  member: { id: string };
}

const schemaV1 = {
  type: 'object',
  properties: { amount: { type: 'integer' }, memberId: { type: 'string' } },
  required: ['amount', 'memberId'],
};
// v2 moves the member id into an object: a breaking change, which is what upcasters are for.
const schemaV2 = {
  type: 'object',
  properties: {
    amount: { type: 'integer' },
    member: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
  },
  required: ['amount', 'member'],
};
// v3 adds a required currency.
const schemaV3 = {
  ...schemaV2,
  properties: { ...schemaV2.properties, currency: { type: 'string' } },
  required: ['amount', 'member', 'currency'],
};

async function threeVersions(): Promise<SchemaRegistry> {
  const registry = await createSchemaRegistry({ defaultCompatibility: 'NONE' });
  await registry.register(V1, schemaV1);
  await registry.register(V2, schemaV2);
  await registry.register(V3, schemaV3);
  return registry;
}

const v1ToV2 = (data: DataV1): DataV2 => ({ amount: data.amount, member: { id: data.memberId } });
const v2ToV3 = (data: DataV2) => ({ ...data, currency: 'EUR' });

function stored(type: string, data: unknown): StoredEvent {
  const event = createEvent({
    type,
    source: '/habitat/treasury',
    subject: 'contribution-42',
    data,
  });
  return { ...event, streamversion: 0, position: '1' };
}

/** The error a function throws. */
function failure(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

describe('SchemaRegistry.upcast', () => {
  it('chains v1 → v2 → v3 into a new event, leaving the stored one as it was', async () => {
    // given upcasters for each step
    const registry = await threeVersions();
    registry.registerUpcaster(V1, v1ToV2);
    registry.registerUpcaster(V2, v2ToV3);
    const event = stored(V1, { amount: 5, memberId: 'm-1' });
    const before = structuredClone(event);
    // when a v1 event is read
    const upcast = registry.upcast(event);
    // then it arrives as v3
    expect(upcast).toEqual({
      ...before,
      type: V3,
      dataschema: 'urn:eventfabric:schema:treasury.contribution.approved:v3',
      data: { amount: 5, member: { id: 'm-1' }, currency: 'EUR' },
    });
    expect(event).toEqual(before);
  });

  it('returns the same object for the latest version, a type without upcasters, and foreign types', async () => {
    const registry = await threeVersions();
    registry.registerUpcaster(V1, v1ToV2);
    const latest = stored(V3, { amount: 1, member: { id: 'm' }, currency: 'EUR' });
    expect(registry.upcast(latest)).toBe(latest);
    const noUpcaster = stored(V2, { amount: 1, member: { id: 'm' } });
    expect(registry.upcast(noUpcaster)).toBe(noUpcaster);
    const foreign = { ...stored(V1, {}), type: 'com.github.push' };
    expect(registry.upcast(foreign)).toBe(foreign);
  });

  it('stops at the highest version reachable when a link is missing', async () => {
    const registry = await threeVersions();
    registry.registerUpcaster(V1, v1ToV2);
    const upcast = registry.upcast(stored(V1, { amount: 5, memberId: 'm-1' }));
    expect([upcast.type, upcast.dataschema, upcast.data]).toEqual([
      V2,
      'urn:eventfabric:schema:treasury.contribution.approved:v2',
      { amount: 5, member: { id: 'm-1' } },
    ]);
  });

  it('gives each upcaster its own copy of the data, and the stored event as read', async () => {
    const registry = await threeVersions();
    const seen: StoredEvent[] = [];
    registry.registerUpcaster(V1, (data: Record<string, unknown>, event) => {
      seen.push(event);
      data.member = { id: data.memberId };
      delete data.memberId;
      return data;
    });
    const event = stored(V1, { amount: 5, memberId: 'm-1' });
    registry.upcast(event);
    expect(event.data).toEqual({ amount: 5, memberId: 'm-1' });
    expect(seen).toEqual([event]);
  });

  it('wraps an upcaster that throws in UpcasterFailedError, with the cause', async () => {
    const registry = await threeVersions();
    const boom = new Error('boom');
    registry.registerUpcaster(V1, () => {
      throw boom;
    });
    const event = stored(V1, { amount: 5, memberId: 'm-1' });
    const error = failure(() => registry.upcast(event)) as UpcasterFailedError;
    expect(error).toBeInstanceOf(UpcasterFailedError);
    expect([error.code, error.message, error.cause]).toEqual([
      'UPCASTER_FAILED',
      `upcasting ${V1} failed for event ${event.id}`,
      boom,
    ]);
  });

  it('fails when an upcaster produces data the next version rejects', async () => {
    const registry = await threeVersions();
    registry.registerUpcaster(V1, (data: DataV1) => ({ amount: String(data.amount) }));
    const error = failure(() =>
      registry.upcast(stored(V1, { amount: 5, memberId: 'm-1' })),
    ) as UpcasterFailedError;
    expect(error).toBeInstanceOf(UpcasterFailedError);
    const cause = error.cause as ValidationFailedError;
    expect(cause).toBeInstanceOf(ValidationFailedError);
    expect(cause.issues.map((i) => i.path)).toEqual(['/data/member', '/data/amount']);
  });
});

describe('SchemaRegistry.registerUpcaster', () => {
  it('requires the next version to be registered first', async () => {
    const registry = await createSchemaRegistry();
    await registry.register(V1, schemaV1);
    const error = failure(() => registry.registerUpcaster(V1, v1ToV2));
    expect(error).toBeInstanceOf(SchemaNotFoundError);
    expect((error as Error).message).toBe(`no schema registered for ${V2}`);
  });

  it('requires the source version to be registered', async () => {
    const registry = await createSchemaRegistry();
    const error = failure(() => registry.registerUpcaster(V1, v1ToV2));
    expect((error as Error).message).toBe(`no schema registered for ${V1}`);
  });

  it('refuses a second upcaster from the same type', async () => {
    const registry = await threeVersions();
    registry.registerUpcaster(V1, v1ToV2);
    expect(() => registry.registerUpcaster(V1, v1ToV2)).toThrow(
      `an upcaster from ${V1} is already registered`,
    );
  });

  it.each([
    ['a foreign type', 'com.github.push', v1ToV2],
    ['a base without version', BASE, v1ToV2],
    ['a non-function', V1, 'v2'],
  ])('refuses %s with INVALID_ARGUMENT', async (_what, type, upcaster) => {
    const registry = await threeVersions();
    const error = failure(() => registry.registerUpcaster(type, upcaster as never));
    expect(error).toBeInstanceOf(InvalidArgumentError);
  });
});

describe('upcasting on read from a store', () => {
  it('readers get the latest version unless they ask for the raw form', async () => {
    const registry = await threeVersions();
    registry.registerUpcaster(V1, v1ToV2);
    registry.registerUpcaster(V2, v2ToV3);
    const store = new InMemoryEventStore({ schemas: registry });
    const event = createEvent({
      type: V1,
      source: '/habitat/treasury',
      subject: 'contribution-42',
      data: { amount: 5, memberId: 'm-1' },
    });
    await store.appendToStream('contribution-42', [event]);

    const [read] = await store.readStream('contribution-42');
    expect([read!.type, read!.data]).toEqual([
      V3,
      { amount: 5, member: { id: 'm-1' }, currency: 'EUR' },
    ]);
    const [raw] = await store.readStream('contribution-42', { raw: true });
    expect([raw!.type, raw!.dataschema, raw!.data]).toEqual([
      V1,
      'urn:eventfabric:schema:treasury.contribution.approved:v1',
      { amount: 5, memberId: 'm-1' },
    ]);
  });
});
