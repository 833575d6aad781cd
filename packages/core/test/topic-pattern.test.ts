import { describe, expect, it } from 'vitest';
import {
  compileTopicPattern,
  compileTopics,
  EventFabricError,
  topicPrefixes,
} from '../src/index.js';

function expectInvalid(action: () => unknown, details?: unknown): void {
  let failure: unknown;
  try {
    action();
  } catch (error) {
    failure = error;
  }
  expect(failure).toBeInstanceOf(EventFabricError);
  expect((failure as EventFabricError).code).toBe('INVALID_ARGUMENT');
  if (details !== undefined) expect((failure as EventFabricError).details).toEqual(details);
}

/** Which of `types` the pattern matches. */
function matching(pattern: string, types: string[]): string[] {
  const matches = compileTopicPattern(pattern);
  return types.filter((type) => matches(type));
}

const types = [
  'treasury.contribution.approved.v1',
  'treasury.contribution.approved.v2',
  'treasury.contribution.rejected.v1',
  'treasury.payout.approved.v1',
  'treasuryx.contribution.approved.v1',
  'people.member.joined.v1',
  'treasury',
];

describe('compileTopicPattern', () => {
  it('an exact type matches that type only', () => {
    expect(matching('treasury.contribution.approved.v1', types)).toEqual([
      'treasury.contribution.approved.v1',
    ]);
  });

  it('a trailing * matches every type under the prefix, whatever its depth, and not the prefix itself', () => {
    expect(matching('treasury.*', types)).toEqual([
      'treasury.contribution.approved.v1',
      'treasury.contribution.approved.v2',
      'treasury.contribution.rejected.v1',
      'treasury.payout.approved.v1',
    ]);
    expect(matching('treasury.contribution.*', types)).toEqual([
      'treasury.contribution.approved.v1',
      'treasury.contribution.approved.v2',
      'treasury.contribution.rejected.v1',
    ]);
  });

  it('a * between dots matches exactly one segment', () => {
    expect(matching('treasury.*.approved.v1', types)).toEqual([
      'treasury.contribution.approved.v1',
      'treasury.payout.approved.v1',
    ]);
    expect(matching('*.contribution.approved.v1', types)).toEqual([
      'treasury.contribution.approved.v1',
      'treasuryx.contribution.approved.v1',
    ]);
    expect(matching('treasury.*.v1', types)).toEqual([]);
  });

  it('a * between dots and a trailing * combine', () => {
    expect(matching('*.contribution.*', types)).toEqual([
      'treasury.contribution.approved.v1',
      'treasury.contribution.approved.v2',
      'treasury.contribution.rejected.v1',
      'treasuryx.contribution.approved.v1',
    ]);
  });

  it('* alone matches every type', () => {
    expect(matching('*', types)).toEqual(types);
  });

  it('segments with digits, dashes and underscores match literally', () => {
    expect(matching('a-b.c_d.*', ['a-b.c_d.e.v1', 'aXb.c_d.e.v1', 'a-b.cXd.e.v1'])).toEqual([
      'a-b.c_d.e.v1',
    ]);
    expect(matching('a-b.*.e.v1', ['a-b.c_d.e.v1', 'a\\-b.c.e.v1'])).toEqual(['a-b.c_d.e.v1']);
  });

  it.each([
    ['an empty pattern', ''],
    ['an empty segment', 'treasury..approved'],
    ['a leading dot', '.treasury'],
    ['a trailing dot', 'treasury.'],
    ['a * inside a segment', 'treasury.contri*'],
    ['**', 'treasury.**'],
    ['a space', 'treasury.contribution approved'],
    ['a regular expression', 'treasury.(a|b)'],
    ['a slash', 'treasury/contribution'],
  ])('%s is rejected with INVALID_ARGUMENT', (_, pattern) => {
    expectInvalid(() => compileTopicPattern(pattern), { pattern });
  });

  it('a pattern that is not a string is rejected with INVALID_ARGUMENT', () => {
    for (const pattern of [undefined, null, 42, ['treasury.*']]) {
      expectInvalid(() => compileTopicPattern(pattern as unknown as string));
    }
  });
});

describe('compileTopics', () => {
  it('matches a type that any of its patterns matches', () => {
    const matches = compileTopics(['treasury.payout.*', 'people.member.joined.v1']);

    expect(types.filter((type) => matches(type))).toEqual([
      'treasury.payout.approved.v1',
      'people.member.joined.v1',
    ]);
  });

  it('rejects no patterns, a non-array and one malformed pattern among good ones with INVALID_ARGUMENT', () => {
    expectInvalid(() => compileTopics([]));
    expectInvalid(() => compileTopics('treasury.*' as unknown as string[]));
    expectInvalid(() => compileTopics(['treasury.*', 'treasury..x']), { pattern: 'treasury..x' });
  });
});

describe('topicPrefixes', () => {
  it('covers exact types and patterns up to their first wildcard, or everything', () => {
    expect(topicPrefixes(['treasury.payout.*', 'people.member.joined.v1'])).toEqual([
      'treasury.payout.',
      'people.member.joined.v1',
    ]);
    expect(topicPrefixes(['*.member.joined.v1'])).toBeUndefined();
  });

  it('with anyVersion, covers every stored version of an exact type (upcast on read)', () => {
    expect(
      topicPrefixes(['people.member.joined.v2', 'treasury.*', 'com.github.push'], {
        anyVersion: true,
      }),
    ).toEqual(['people.member.joined.v', 'treasury.', 'com.github.push']);
  });
});
