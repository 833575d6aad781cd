import { describe, expect, it } from 'vitest';
import {
  COMPATIBILITY_MODES,
  IncompatibleSchemaError,
  compatibilityChanges,
  createSchemaRegistry,
  readerCanRead,
  type JsonSchema,
} from '../src/index.js';

/** v1 of the running example: a contribution with an amount and a member. */
const contribution = {
  type: 'object',
  properties: {
    amount: { type: 'integer' },
    memberId: { type: 'string' },
    note: { type: 'string' },
  },
  required: ['amount', 'memberId'],
} as const;

/** `contribution` with some properties replaced, added or (given `undefined`) removed. */
function withProperties(
  properties: Record<string, JsonSchema | undefined>,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const merged: Record<string, JsonSchema> = { ...contribution.properties };
  for (const [name, schema] of Object.entries(properties)) {
    if (schema === undefined) delete merged[name];
    else merged[name] = schema;
  }
  return { ...contribution, properties: merged, ...extra };
}

/** The BACKWARD verdict: can the new schema read the old one's data? */
const backward = (newer: JsonSchema, older: JsonSchema) => readerCanRead(newer, older, 'newer');
/** The FORWARD verdict: can the old schema read the new one's data? */
const forward = (newer: JsonSchema, older: JsonSchema) => readerCanRead(older, newer, 'older');

describe('readerCanRead, one change at a time', () => {
  it('an identical schema breaks nothing either way', () => {
    expect(backward(contribution, contribution)).toEqual([]);
    expect(forward(contribution, contribution)).toEqual([]);
  });

  it('adding an optional field is backward and forward compatible when the old schema is open', () => {
    // given v2 adds an optional `memo`, and v1 leaves additionalProperties unset
    const v2 = withProperties({ memo: { type: 'string' } });
    // then the new reader ignores its absence, and the open old reader ignores its presence
    expect(backward(v2, contribution)).toEqual([]);
    expect(forward(v2, contribution)).toEqual([]);
  });

  it('adding an optional field breaks forward when the old schema is closed', () => {
    const v1 = { ...contribution, additionalProperties: false };
    const v2 = withProperties({ memo: { type: 'string' } }, { additionalProperties: false });
    expect(backward(v2, v1)).toEqual([]);
    expect(forward(v2, v1)).toEqual([
      {
        path: '/memo',
        kind: 'property-added',
        message: 'property /memo: added, but the old schema does not allow it',
      },
    ]);
  });

  it('adding a required field breaks backward only', () => {
    const v2 = withProperties(
      { memo: { type: 'string' } },
      { required: ['amount', 'memberId', 'memo'] },
    );
    expect(backward(v2, contribution)).toEqual([
      {
        path: '/memo',
        kind: 'property-added-required',
        message: 'property /memo: added as required',
      },
    ]);
    expect(forward(v2, contribution)).toEqual([]);
  });

  it('making an optional field required breaks backward; the reverse breaks forward', () => {
    const v2 = { ...contribution, required: ['amount', 'memberId', 'note'] };
    expect(backward(v2, contribution)).toEqual([
      {
        path: '/note',
        kind: 'property-made-required',
        message: 'property /note: changed from optional to required',
      },
    ]);
    expect(forward(contribution, v2)).toEqual([
      {
        path: '/note',
        kind: 'property-made-optional',
        message: 'property /note: changed from required to optional',
      },
    ]);
  });

  it('removing a required field breaks forward, not backward', () => {
    const v2 = withProperties({ memberId: undefined }, { required: ['amount'] });
    expect(backward(v2, contribution)).toEqual([]);
    expect(forward(v2, contribution)).toEqual([
      {
        path: '/memberId',
        kind: 'property-removed',
        message: 'property /memberId: removed, but the old schema requires it',
      },
    ]);
  });

  it('removing an optional field breaks nothing when the new schema is open', () => {
    const v2 = withProperties({ note: undefined });
    expect(backward(v2, contribution)).toEqual([]);
    expect(forward(v2, contribution)).toEqual([]);
  });

  it('removing a field breaks backward when the new schema is closed', () => {
    const v2 = withProperties({ note: undefined }, { additionalProperties: false });
    expect(backward(v2, contribution)).toEqual([
      {
        path: '/note',
        kind: 'property-removed',
        message: 'property /note: removed, and the new schema does not allow it',
      },
    ]);
    expect(forward(v2, contribution)).toEqual([]);
  });

  it('changing a type breaks both ways', () => {
    const v2 = withProperties({ amount: { type: 'string' } });
    const change = {
      path: '/amount',
      kind: 'type-changed',
      message: 'property /amount: type changed from integer to string',
    };
    expect(backward(v2, contribution)).toEqual([change]);
    expect(forward(v2, contribution)).toEqual([change]);
  });

  it('widening integer to number breaks forward only; narrowing it back breaks backward only', () => {
    const wide = withProperties({ amount: { type: 'number' } });
    expect(backward(wide, contribution)).toEqual([]);
    expect(forward(wide, contribution)).toEqual([
      {
        path: '/amount',
        kind: 'type-widened',
        message: 'property /amount: type widened from integer to number',
      },
    ]);
    expect(backward(contribution, wide)).toEqual([
      {
        path: '/amount',
        kind: 'type-narrowed',
        message: 'property /amount: type narrowed from number to integer',
      },
    ]);
    expect(forward(contribution, wide)).toEqual([]);
  });

  it('making a field nullable breaks forward only', () => {
    const v2 = withProperties({ note: { type: ['string', 'null'] } });
    expect(backward(v2, contribution)).toEqual([]);
    expect(forward(v2, contribution)).toEqual([
      {
        path: '/note',
        kind: 'type-widened',
        message: 'property /note: type widened from string to string | null',
      },
    ]);
  });

  const status = (values: string[]) => withProperties({ status: { type: 'string', enum: values } });

  it('narrowing an enum breaks backward: the new reader rejects old values', () => {
    const v1 = status(['pending', 'approved', 'rejected']);
    const v2 = status(['pending', 'approved']);
    expect(backward(v2, v1)).toEqual([
      {
        path: '/status',
        kind: 'enum-narrowed',
        message: 'property /status: enum narrowed: "rejected" no longer allowed',
      },
    ]);
    expect(forward(v2, v1)).toEqual([]);
  });

  it('widening an enum breaks forward: the old reader rejects new values', () => {
    const v1 = status(['pending', 'approved']);
    const v2 = status(['pending', 'approved', 'cancelled']);
    expect(backward(v2, v1)).toEqual([]);
    expect(forward(v2, v1)).toEqual([
      {
        path: '/status',
        kind: 'enum-widened',
        message: 'property /status: enum widened: "cancelled" added',
      },
    ]);
  });

  it('replacing an enum value breaks both ways with one readable change', () => {
    const v1 = status(['pending', 'approved']);
    const v2 = status(['pending', 'accepted']);
    const change = {
      path: '/status',
      kind: 'enum-changed',
      message: 'property /status: enum changed: "approved" removed, "accepted" added',
    };
    expect(backward(v2, v1)).toEqual([change]);
    expect(forward(v2, v1)).toEqual([change]);
  });

  it('adding an enum to a free string breaks backward; const counts as a one-value enum', () => {
    const v1 = withProperties({ currency: { type: 'string' } });
    const v2 = withProperties({ currency: { const: 'EUR' } });
    expect(backward(v2, v1)).toEqual([
      {
        path: '/currency',
        kind: 'enum-added',
        message: 'property /currency: enum added: only "EUR" allowed',
      },
    ]);
    expect(forward(v2, v1)).toEqual([]);
  });

  it('removing an enum, or another constraint, breaks forward only', () => {
    const v1 = withProperties({
      currency: { type: 'string', enum: ['EUR'], pattern: '^[A-Z]{3}$' },
    });
    const v2 = withProperties({ currency: { type: 'string' } });
    expect(backward(v2, v1)).toEqual([]);
    expect(forward(v2, v1)).toEqual([
      {
        path: '/currency',
        kind: 'enum-removed',
        message: 'property /currency: enum removed: "EUR" no longer enforced',
      },
      {
        path: '/currency',
        kind: 'constraint-removed',
        message: 'property /currency: pattern "^[A-Z]{3}$" removed',
      },
    ]);
  });

  it('descends into nested objects and array items, with * for any item', () => {
    const order = (sku: JsonSchema, city: JsonSchema) => ({
      type: 'object',
      properties: {
        lines: {
          type: 'array',
          items: { type: 'object', properties: { sku }, required: ['sku'] },
        },
        address: { type: 'object', properties: { city } },
      },
    });
    const v1 = order({ type: 'string' }, { type: 'string' });
    const v2 = order({ type: 'integer' }, { type: 'string', maxLength: 40 });
    expect(backward(v2, v1)).toEqual([
      {
        path: '/lines/*/sku',
        kind: 'type-changed',
        message: 'property /lines/*/sku: type changed from string to integer',
      },
      {
        path: '/address/city',
        kind: 'bound-narrowed',
        message: 'property /address/city: maxLength 40 added',
      },
    ]);
  });

  it('compares the item schema of arrays', () => {
    const v1 = {
      type: 'object',
      properties: { tags: { type: 'array', items: { type: 'string' } } },
    };
    const v2 = {
      type: 'object',
      properties: { tags: { type: 'array', items: { type: 'integer' } } },
    };
    expect(backward(v2, v1)).toEqual([
      {
        path: '/tags/*',
        kind: 'type-changed',
        message: 'items /tags/*: type changed from string to integer',
      },
    ]);
  });

  it('compares map values declared with an additionalProperties schema', () => {
    const map = (value: JsonSchema) => ({
      type: 'object',
      properties: { meta: { type: 'object', additionalProperties: value } },
    });
    expect(backward(map({ type: 'integer' }), map({ type: 'string' }))).toEqual([
      {
        path: '/meta/*',
        kind: 'type-changed',
        message: 'values /meta/*: type changed from string to integer',
      },
    ]);
    expect(forward(map({ type: 'string' }), map(false))).toEqual([
      {
        path: '/meta',
        kind: 'additional-properties-allowed',
        message:
          'property /meta: additional properties allowed, but the old schema does not allow them',
      },
    ]);
    expect(backward(map(false), map({ type: 'string' }))).toEqual([
      {
        path: '/meta',
        kind: 'additional-properties-disallowed',
        message: 'property /meta: additional properties no longer allowed',
      },
    ]);
  });

  it('tightening a bound breaks backward; loosening it breaks forward', () => {
    const v1 = withProperties({ memberId: { type: 'string', maxLength: 64 } });
    const v2 = withProperties({ memberId: { type: 'string', maxLength: 32 } });
    expect(backward(v2, v1)).toEqual([
      {
        path: '/memberId',
        kind: 'bound-narrowed',
        message: 'property /memberId: maxLength lowered from 64 to 32',
      },
    ]);
    expect(forward(v1, v2)).toEqual([
      {
        path: '/memberId',
        kind: 'bound-widened',
        message: 'property /memberId: maxLength raised from 32 to 64',
      },
    ]);
  });

  it('treats minimum and exclusiveMinimum as one limit', () => {
    const v1 = withProperties({ amount: { type: 'integer', minimum: 0 } });
    const v2 = withProperties({ amount: { type: 'integer', exclusiveMinimum: 0 } });
    expect(backward(v2, v1)).toEqual([
      {
        path: '/amount',
        kind: 'bound-narrowed',
        message: 'property /amount: minimum 0 replaced by exclusiveMinimum 0',
      },
    ]);
    expect(backward(v1, v2)).toEqual([]);
  });

  it('reports any other constraint the reader adds or changes, and ignores annotations', () => {
    const v1 = withProperties({ memberId: { type: 'string', description: 'who paid' } });
    const v2 = withProperties({
      memberId: { type: 'string', description: 'the member who paid', pattern: '^m-' },
    });
    expect(backward(v2, v1)).toEqual([
      {
        path: '/memberId',
        kind: 'constraint-added',
        message: 'property /memberId: pattern "^m-" added',
      },
    ]);
    expect(forward(v2, v1)).toEqual([]);
    const v3 = withProperties({ memberId: { type: 'string', pattern: '^member-' } });
    expect(backward(v3, v2)).toEqual([
      {
        path: '/memberId',
        kind: 'constraint-changed',
        message: 'property /memberId: pattern changed from "^m-" to "^member-"',
      },
    ]);
  });

  it('handles boolean schemas: true reads anything, false reads nothing', () => {
    expect(readerCanRead(true, contribution)).toEqual([]);
    expect(readerCanRead(contribution, false)).toEqual([]);
    expect(readerCanRead(false, contribution)).toEqual([
      { path: '/', kind: 'type-narrowed', message: 'data: no value is allowed any more' },
    ]);
  });

  it('reports a change of the root type against the data itself', () => {
    expect(backward({ type: 'array' }, contribution)).toEqual([
      { path: '/', kind: 'type-changed', message: 'data: type changed from object to array' },
    ]);
  });
});

describe('compatibilityChanges: the seven modes', () => {
  const v1 = withProperties({ status: { type: 'string', enum: ['pending', 'approved'] } });
  const narrowed = withProperties({ status: { type: 'string', enum: ['pending'] } });
  const widened = withProperties({
    status: { type: 'string', enum: ['pending', 'approved', 'cancelled'] },
  });
  const previous = [{ version: 1, schema: v1 }];

  it('lists the modes in Confluent order', () => {
    expect(COMPATIBILITY_MODES).toEqual([
      'NONE',
      'BACKWARD',
      'BACKWARD_TRANSITIVE',
      'FORWARD',
      'FORWARD_TRANSITIVE',
      'FULL',
      'FULL_TRANSITIVE',
    ]);
  });

  it('NONE accepts anything', () => {
    expect(compatibilityChanges('NONE', { type: 'string' }, previous)).toEqual([]);
  });

  it('BACKWARD rejects a narrowed enum and accepts a widened one; FORWARD the opposite', () => {
    expect(compatibilityChanges('BACKWARD', narrowed, previous).map((c) => c.kind)).toEqual([
      'enum-narrowed',
    ]);
    expect(compatibilityChanges('BACKWARD', widened, previous)).toEqual([]);
    expect(compatibilityChanges('FORWARD', widened, previous).map((c) => c.kind)).toEqual([
      'enum-widened',
    ]);
    expect(compatibilityChanges('FORWARD', narrowed, previous)).toEqual([]);
  });

  it('FULL rejects both, and lists a change found both ways once, with the version it breaks', () => {
    expect(compatibilityChanges('FULL', narrowed, previous)).toEqual([
      {
        path: '/status',
        kind: 'enum-narrowed',
        message: 'property /status: enum narrowed: "approved" no longer allowed',
        against: 1,
      },
    ]);
    const retyped = withProperties({ amount: { type: 'string' } });
    expect(compatibilityChanges('FULL', retyped, previous)).toEqual([
      {
        path: '/amount',
        kind: 'type-changed',
        message: 'property /amount: type changed from integer to string',
        against: 1,
      },
    ]);
  });

  it('a non-transitive mode checks the latest version only; a transitive one checks all', () => {
    const history = [
      { version: 1, schema: withProperties({ amount: { type: 'string' } }) },
      { version: 2, schema: contribution },
    ];
    expect(compatibilityChanges('FORWARD', contribution, history)).toEqual([]);
    expect(compatibilityChanges('FORWARD_TRANSITIVE', contribution, history)).toEqual([
      {
        path: '/amount',
        kind: 'type-changed',
        message: 'property /amount: type changed from string to integer',
        against: 1,
      },
    ]);
    expect(compatibilityChanges('FULL_TRANSITIVE', contribution, history).length).toBe(1);
  });
});

describe('SchemaRegistry compatibility on register', () => {
  const type = (v: number) => `treasury.contribution.approved.v${v}`;
  // v2 drops the optional `note`; v3 brings it back as an integer. Each step reads the one
  // before it, but v3 cannot read v1's string notes.
  const v2 = withProperties({ note: undefined });
  const v3 = withProperties({ note: { type: 'integer' } });

  it('BACKWARD accepts a three-version chain where v3 only breaks v1', async () => {
    const registry = await createSchemaRegistry();
    await registry.register(type(1), contribution);
    await registry.register(type(2), v2);
    const result = await registry.register(type(3), v3);
    expect(result).toEqual({
      base: 'treasury.contribution.approved',
      version: 3,
      type: type(3),
      id: 'urn:eventfabric:schema:treasury.contribution.approved:v3',
      created: true,
    });
  });

  it('BACKWARD_TRANSITIVE rejects the same chain at v3, naming v1', async () => {
    const registry = await createSchemaRegistry({ defaultCompatibility: 'BACKWARD_TRANSITIVE' });
    await registry.register(type(1), contribution);
    await registry.register(type(2), v2);
    const error = await registry.register(type(3), v3).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IncompatibleSchemaError);
    const incompatible = error as IncompatibleSchemaError;
    expect(incompatible.code).toBe('INCOMPATIBLE_SCHEMA');
    expect(incompatible.changes).toEqual([
      {
        path: '/note',
        kind: 'type-changed',
        message: 'property /note: type changed from string to integer',
        against: 1,
      },
    ]);
    expect(incompatible.details).toMatchObject({ type: type(3), mode: 'BACKWARD_TRANSITIVE' });
    expect(registry.latestVersion('treasury.contribution.approved')).toBe(2);
  });

  it('lists every breaking change of one registration', async () => {
    const registry = await createSchemaRegistry();
    await registry.register(type(1), contribution);
    const v2Bad = withProperties(
      { amount: { type: 'string' }, memo: { type: 'string' } },
      { required: ['amount', 'memberId', 'memo'] },
    );
    const error = (await registry
      .register(type(2), v2Bad)
      .catch((e: unknown) => e)) as IncompatibleSchemaError;
    expect(error.changes.map((c) => [c.path, c.kind])).toEqual([
      ['/amount', 'type-changed'],
      ['/memo', 'property-added-required'],
    ]);
    expect(error.message).toContain(
      'property /amount: type changed from integer to string (vs v1)',
    );
    expect(error.message).toContain('property /memo: added as required (vs v1)');
  });

  it('a mode given to register is used for the check and kept for the subject', async () => {
    const registry = await createSchemaRegistry();
    await registry.register(type(1), contribution);
    await registry.register(type(2), withProperties({ amount: { type: 'string' } }), {
      compatibility: 'NONE',
    });
    expect(registry.getCompatibility('treasury.contribution.approved')).toBe('NONE');
    expect(registry.get(type(2))?.compatibility).toBe('NONE');
  });

  it('setCompatibility changes the check of the next registration', async () => {
    const registry = await createSchemaRegistry();
    await registry.register(type(1), contribution);
    registry.setCompatibility('treasury.contribution.approved', 'FORWARD');
    const required = withProperties({}, { required: ['amount', 'memberId', 'note'] });
    expect(registry.checkCompatibility(type(2), required)).toEqual({
      compatible: true,
      changes: [],
      mode: 'FORWARD',
      new: true,
    });
    expect(registry.checkCompatibility(type(2), required, { compatibility: 'FULL' })).toEqual({
      compatible: false,
      changes: [
        {
          path: '/note',
          kind: 'property-made-required',
          message: 'property /note: changed from optional to required',
          against: 1,
        },
      ],
      mode: 'FULL',
      new: true,
    });
  });
});
