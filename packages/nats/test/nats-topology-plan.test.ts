import { describe, expect, it } from 'vitest';
import { formatNatsTopology, planNatsTopology } from '../src/index.js';

describe('NATS topology plan', () => {
  it('maps contexts, groups and patterns to streams, partition consumers and dead-letter streams', () => {
    const topology = planNatsTopology(
      { partitions: 2, stream: { maxAgeMs: 86_400_000 } },
      {
        contexts: ['people'],
        groups: [
          { group: 'treasury.ledger', topics: ['treasury.contribution.*', 'treasury.*.paid.v1'] },
          { group: 'treasury.mailer', topics: ['treasury.contribution.approved.v1'] },
        ],
      },
    );

    expect(topology.streams.map((s) => [s.label, s.name, s.subjects])).toEqual([
      [
        'people.events',
        'people_events',
        ['eventfabric.events.*.people', 'eventfabric.events.*.people.>'],
      ],
      [
        'treasury.events',
        'treasury_events',
        ['eventfabric.events.*.treasury', 'eventfabric.events.*.treasury.>'],
      ],
    ]);
    expect(topology.consumers.map((c) => [c.name, c.filterSubject, c.exactFilter])).toEqual([
      ['treasury_ledger_p00', 'eventfabric.events.0.treasury.>', false],
      ['treasury_ledger_p01', 'eventfabric.events.1.treasury.>', false],
      ['treasury_mailer_p00', 'eventfabric.events.0.treasury.contribution.approved.v1', true],
      ['treasury_mailer_p01', 'eventfabric.events.1.treasury.contribution.approved.v1', true],
    ]);
    expect(topology.deadLetters.map((d) => [d.label, d.name, d.subjects])).toEqual([
      [
        'treasury.ledger.dlq',
        'treasury_ledger_dlq',
        [
          'eventfabric.dlq.treasury.ledger',
          '$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.treasury_events.treasury_ledger_p00',
          '$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.treasury_events.treasury_ledger_p01',
        ],
      ],
      [
        'treasury.mailer.dlq',
        'treasury_mailer_dlq',
        [
          'eventfabric.dlq.treasury.mailer',
          '$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.treasury_events.treasury_mailer_p00',
          '$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.treasury_events.treasury_mailer_p01',
        ],
      ],
    ]);
  });

  it('maps a trailing * to >, a middle * to *, and a bare context to its single token', () => {
    const filters = (topics: string[]) =>
      planNatsTopology({ partitions: 1 }, { groups: [{ group: 'a.b', topics }] }).consumers.map(
        (c) => c.filterSubject,
      );

    expect(filters(['treasury.*'])).toEqual(['eventfabric.events.0.treasury.>']);
    expect(filters(['treasury.*.approved.v1'])).toEqual([
      'eventfabric.events.0.treasury.*.approved.v1',
    ]);
    expect(filters(['treasury.contribution.*.v2'])).toEqual([
      'eventfabric.events.0.treasury.contribution.*.v2',
    ]);
    expect(filters(['ping'])).toEqual(['eventfabric.events.0.ping']);
    expect(filters(['people.x.y.v1', 'treasury.*'])).toEqual([
      'eventfabric.events.0.people.x.y.v1',
      'eventfabric.events.0.treasury.>',
    ]);
  });

  it('formats a plan for a person to read', () => {
    const topology = planNatsTopology(
      { partitions: 2 },
      { groups: [{ group: 'treasury.ledger', topics: ['treasury.*'] }] },
    );

    expect(formatNatsTopology(topology)).toBe(
      [
        'stream treasury.events (treasury_events)',
        '  subjects   eventfabric.events.*.treasury eventfabric.events.*.treasury.>',
        '  storage    file, replicas 1, max age 7d, max bytes unlimited, duplicate window 2m, 2 partitions',
        '  group treasury.ledger: 2 pull consumers treasury_ledger_p*, ack wait 30s, max deliver 10, max ack pending 1',
        '    filter   eventfabric.events.<p>.treasury.>',
        'dead letters treasury.ledger.dlq (treasury_ledger_dlq)',
        '  subjects   eventfabric.dlq.treasury.ledger + 2 advisories',
        '',
      ].join('\n'),
    );
    expect(formatNatsTopology({ streams: [], consumers: [], deadLetters: [] })).toBe(
      'no EventFabric streams\n',
    );
  });

  it('rejects malformed options and patterns without a context', () => {
    expect(() => planNatsTopology({ partitions: 0 }, {})).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG' }),
    );
    expect(() => planNatsTopology({}, { groups: [{ group: 'a.b', topics: ['*.x'] }] })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => planNatsTopology({}, { groups: [{ group: 'a.b', topics: ['a..x'] }] })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});
