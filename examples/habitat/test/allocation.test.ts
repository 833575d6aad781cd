import { describe, expect, it } from 'vitest';
import { allocatePatronage } from '@eventfabric/habitat';

describe('allocatePatronage', () => {
  it('gives the left-over cents to the largest remainders, so the surplus is allocated to the cent', () => {
    const result = allocatePatronage({
      surplusCents: 100_001,
      retainedBps: 2_500,
      patronage: new Map([
        ['m-cy', 100_000],
        ['m-ada', 150_000],
        ['m-bo', 50_000],
      ]),
    });
    expect(result).toEqual([
      {
        memberId: 'm-ada',
        patronageCents: 150_000,
        allocatedCents: 50_000,
        retainedCents: 12_500,
        cashCents: 37_500,
      },
      {
        memberId: 'm-bo',
        patronageCents: 50_000,
        allocatedCents: 16_667,
        retainedCents: 4_166,
        cashCents: 12_501,
      },
      {
        memberId: 'm-cy',
        patronageCents: 100_000,
        allocatedCents: 33_334,
        retainedCents: 8_333,
        cashCents: 25_001,
      },
    ]);
  });

  it('breaks equal remainders by member id and never allocates more than the surplus', () => {
    const result = allocatePatronage({
      surplusCents: 2,
      retainedBps: 0,
      patronage: new Map([
        ['m-c', 1],
        ['m-b', 1],
        ['m-a', 1],
      ]),
    });
    expect(result.map((a) => [a.memberId, a.allocatedCents, a.cashCents])).toEqual([
      ['m-a', 1, 1],
      ['m-b', 1, 1],
      ['m-c', 0, 0],
    ]);
  });

  it('stays exact beyond 2^53 intermediate products and skips members without patronage', () => {
    const result = allocatePatronage({
      surplusCents: 9_000_000_000_000,
      retainedBps: 10_000,
      patronage: new Map([
        ['m-a', 3_000_000_000_000],
        ['m-b', 0],
        ['m-c', 6_000_000_000_000],
      ]),
    });
    expect(result).toEqual([
      {
        memberId: 'm-a',
        patronageCents: 3e12,
        allocatedCents: 3e12,
        retainedCents: 3e12,
        cashCents: 0,
      },
      {
        memberId: 'm-c',
        patronageCents: 6e12,
        allocatedCents: 6e12,
        retainedCents: 6e12,
        cashCents: 0,
      },
    ]);
    expect(allocatePatronage({ surplusCents: 5, retainedBps: 0, patronage: new Map() })).toEqual(
      [],
    );
  });
});
