import { describe, expect, it } from 'vitest';
import {
  InvalidEventError,
  createEvent,
  isTraceparent,
  normalizeEvent,
  parseEventType,
  streamCategory,
} from '../src/index.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function issuesOf(fn: () => unknown): { path: string; keyword?: string }[] {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidEventError);
    expect((error as InvalidEventError).code).toBe('INVALID_EVENT');
    return (error as InvalidEventError).issues.map(({ path, keyword }) => ({ path, keyword }));
  }
  throw new Error('expected INVALID_EVENT');
}

describe('createEvent', () => {
  it('builds a CloudEvents 1.0 event with every EventFabric attribute', () => {
    const event = createEvent({
      type: 'treasury.contribution.approved.v1',
      source: '/habitat/treasury',
      subject: 'contribution-42',
      data: { amount: 10 },
      time: new Date('2026-11-23T10:00:00Z'),
      tenantid: 'coop-1',
    });
    expect(event).toEqual({
      specversion: '1.0',
      id: expect.stringMatching(UUID_V7),
      type: 'treasury.contribution.approved.v1',
      source: '/habitat/treasury',
      time: '2026-11-23T10:00:00.000Z',
      subject: 'contribution-42',
      datacontenttype: 'application/json',
      data: { amount: 10 },
      correlationid: event.id,
      traceparent: expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/),
      partitionkey: 'contribution-42',
      tenantid: 'coop-1',
    });
    expect(event.causationid).toBeUndefined();
  });

  it('gives time-ordered UUIDv7 ids', () => {
    const ids = Array.from(
      { length: 50 },
      () => createEvent({ type: 'a.b.created.v1', source: '/t', subject: 's-1', data: null }).id,
    );
    expect(new Set(ids).size).toBe(50);
    expect([...ids].sort()).toEqual(ids);
  });

  it('from a parent, copies correlation, sets causation, continues the trace and the tenant', () => {
    const root = createEvent({
      type: 'a.b.created.v1',
      source: '/t',
      subject: 's-1',
      data: {},
      tenantid: 't1',
    });
    const child = createEvent({
      type: 'a.b.approved.v1',
      source: '/t',
      subject: 's-1',
      data: {},
      parent: root,
    });
    const grandchild = createEvent({
      type: 'a.c.opened.v1',
      source: '/t',
      subject: 'c-1',
      data: {},
      parent: child,
    });
    expect(child.correlationid).toBe(root.id);
    expect(child.causationid).toBe(root.id);
    expect(grandchild.correlationid).toBe(root.id);
    expect(grandchild.causationid).toBe(child.id);
    expect(child.traceparent.slice(3, 35)).toBe(root.traceparent.slice(3, 35));
    expect(child.traceparent.slice(36, 52)).not.toBe(root.traceparent.slice(36, 52));
    expect(grandchild.tenantid).toBe('t1');
  });

  it('enforces the type naming rule unless foreign types are allowed', () => {
    for (const type of [
      'Treasury.Approved',
      'treasury.contribution.approved',
      'treasury.approved.v1',
      'a.b.c.v0',
    ]) {
      expect(issuesOf(() => createEvent({ type, source: '/t', subject: 's-1', data: {} }))).toEqual(
        [{ path: '/type', keyword: 'pattern' }],
      );
    }
    const foreign = createEvent({
      type: 'com.github.push',
      source: '/gh',
      subject: 'repo-1',
      data: {},
      allowForeignTypes: true,
    });
    expect(foreign.type).toBe('com.github.push');
  });
});

describe('normalizeEvent', () => {
  const minimal = { specversion: '1.0', id: 'evt-1', type: 'a.b.created.v1', source: '/t' };

  it('fills defaults for an outside producer’s event and keeps its id', () => {
    const event = normalizeEvent({ ...minimal, data: { x: 1 } }, { subject: 'order-9' });
    expect(event).toMatchObject({
      id: 'evt-1',
      subject: 'order-9',
      datacontenttype: 'application/json',
      correlationid: 'evt-1',
      partitionkey: 'order-9',
      data: { x: 1 },
    });
    expect(isTraceparent(event.traceparent)).toBe(true);
    expect(Number.isNaN(Date.parse(event.time))).toBe(false);
  });

  it('lists every problem of a malformed envelope', () => {
    expect(
      issuesOf(() =>
        normalizeEvent(
          { specversion: '0.3', type: 'Bad', time: 'yesterday', Weird: 1 },
          { subject: 's-1' },
        ),
      ),
    ).toEqual([
      { path: '/id', keyword: 'required' },
      { path: '/source', keyword: 'required' },
      { path: '/Weird', keyword: 'propertyNames' },
      { path: '/specversion', keyword: 'const' },
      { path: '/time', keyword: 'format' },
      { path: '/type', keyword: 'pattern' },
    ]);
  });

  it('rejects a subject that is not the stream, a bad traceparent and non-objects', () => {
    expect(
      issuesOf(() => normalizeEvent({ ...minimal, subject: 'other-1' }, { subject: 's-1' })),
    ).toEqual([{ path: '/subject', keyword: 'const' }]);
    expect(
      issuesOf(() => normalizeEvent({ ...minimal, traceparent: '00-abc' }, { subject: 's-1' })),
    ).toEqual([{ path: '/traceparent', keyword: 'format' }]);
    expect(issuesOf(() => normalizeEvent([1, 2]))).toEqual([{ path: '/', keyword: undefined }]);
    expect(issuesOf(() => normalizeEvent(minimal))).toEqual([
      { path: '/subject', keyword: 'required' },
    ]);
  });

  it('checks a created event again once any envelope attribute changed', () => {
    const created = createEvent({ type: 'a.b.created.v1', source: '/t', subject: 's-1', data: {} });
    expect(normalizeEvent(created, { subject: 's-1' }).id).toBe(created.id);
    const mutable = created as unknown as Record<string, unknown>;
    mutable.time = 'yesterday';
    mutable.Weird = 1;
    expect(issuesOf(() => normalizeEvent(created, { subject: 's-1' }))).toEqual([
      { path: '/Weird', keyword: 'propertyNames' },
      { path: '/time', keyword: 'format' },
    ]);
    delete mutable.Weird;
    mutable.time = new Date().toISOString();
    mutable.traceparent = '00-abc';
    expect(issuesOf(() => normalizeEvent(created, { subject: 's-1' }))).toEqual([
      { path: '/traceparent', keyword: 'format' },
    ]);
    // The options are checked every time, whatever the event.
    mutable.traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    expect(issuesOf(() => normalizeEvent(created, { subject: 's-2' }))).toEqual([
      { path: '/subject', keyword: 'const' },
    ]);
  });

  it('drops store-assigned attributes from a re-appended read', () => {
    const event = normalizeEvent(
      { ...minimal, streamversion: 3, position: '99' },
      { subject: 's-1' },
    );
    expect('streamversion' in event).toBe(false);
    expect('position' in event).toBe(false);
  });
});

describe('names', () => {
  it('parses types and stream categories', () => {
    expect(parseEventType('treasury.contribution.approved.v12')).toEqual({
      base: 'treasury.contribution.approved',
      context: 'treasury',
      version: 12,
    });
    expect(parseEventType('com.github.push')).toBeUndefined();
    expect(streamCategory('contribution-42-b')).toBe('contribution');
    expect(streamCategory('single')).toBe('single');
  });
});
