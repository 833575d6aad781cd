import {
  EventFabricError,
  type CloudEvent,
  type DeliveryHandler,
  type Transport,
  type TransportSubscribeOptions,
} from '@eventfabric/core';
import { describe, expect } from 'vitest';
import { expectError } from '../expectations.js';
import { idsOf, keyedEvent, keys, newGroup, newTopic } from './fixtures.js';
import { Ledger } from './ledger.js';
import type { TransportSuite } from './suite.js';

/** What a bad subscribe call may use. */
interface SubscribeContext {
  transport: Transport;
  /** The type the test publishes; a witness group receives it. */
  topic: string;
  /** The witness group, which exists and has one running member. */
  group: string;
  /** A handler that must never be called. */
  handler: DeliveryHandler;
}

/** Settle `promise` and report the error code it failed with, or `"resolved"`. */
async function outcomeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'resolved';
  } catch (error) {
    return error instanceof EventFabricError ? error.code : String(error);
  }
}

export function describeBadInput(suite: TransportSuite): void {
  /**
   * Each call must fail with INVALID_ARGUMENT and subscribe nothing: events published after
   * reach only the witness group's member.
   */
  function subscribeRejects(
    name: string,
    calls: (context: SubscribeContext) => Array<() => Promise<unknown>>,
  ): void {
    suite.test(name, async () => {
      const topic = newTopic();
      const group = newGroup();
      const ledger = new Ledger();
      const transport = await suite.connect();
      await transport.subscribe(group, ledger.handler('witness'), { topics: [topic] });
      const handler = ledger.handler('rejected');

      for (const call of calls({ transport, topic, group, handler })) {
        await expectError(call, 'INVALID_ARGUMENT');
      }
      // Several keys, so a member that joined the witness group by mistake would get some.
      const events = keys(4).map((key) => keyedEvent(topic, key, 0));
      await transport.publish(events);
      await ledger.waitForAcked(idsOf(events));
      await ledger.expectQuiet();

      expect(ledger.deliveries.map((seen) => seen.member)).toEqual(events.map(() => 'witness'));
    });
  }

  const subscribeWith =
    ({ transport, topic, handler }: SubscribeContext) =>
    (group: unknown, options: Partial<TransportSubscribeOptions> = {}) =>
    () =>
      transport.subscribe(group as string, handler, { topics: [topic], ...options });

  describe('bad input', () => {
    subscribeRejects(
      'subscribing with a malformed group name is rejected with INVALID_ARGUMENT, and nothing is subscribed',
      (context) =>
        [
          '',
          'nodots',
          'Upper.case',
          'conformance..group',
          'conformance.',
          '.conformance',
          'a b.c',
          42,
          undefined,
        ].map((group) => subscribeWith(context)(group)),
    );

    subscribeRejects(
      'subscribing with no topics is rejected with INVALID_ARGUMENT, and nothing is subscribed',
      (context) =>
        [[], 'conformance.item.added.v1', undefined].map((topics) =>
          subscribeWith(context)(newGroup(), { topics: topics as string[] }),
        ),
    );

    subscribeRejects(
      'subscribing with a malformed topic pattern is rejected with INVALID_ARGUMENT, and nothing is subscribed',
      (context) =>
        [
          [''],
          ['conformance..x'],
          ['conformance.x.'],
          ['conformance.x*'],
          ['**'],
          [context.topic, 'a b'],
        ].map((topics) => subscribeWith(context)(newGroup(), { topics })),
    );

    subscribeRejects(
      'joining an existing group with a malformed topic pattern is rejected with INVALID_ARGUMENT, and nothing is subscribed',
      (context) =>
        [['conformance..x'], [context.topic, 'a b']].map((topics) =>
          subscribeWith(context)(context.group, { topics }),
        ),
    );

    subscribeRejects(
      'subscribing with a prefetch or concurrency that is not a positive integer is rejected with INVALID_ARGUMENT, and nothing is subscribed',
      (context) =>
        [
          { prefetch: 0 },
          { prefetch: -1 },
          { prefetch: 1.5 },
          { concurrency: 0 },
          { concurrency: Number.NaN },
        ].map((limits) => subscribeWith(context)(newGroup(), limits)),
    );

    subscribeRejects(
      'subscribing without a handler function or without options is rejected with INVALID_ARGUMENT, and nothing is subscribed',
      ({ transport, topic }) => [
        ...[undefined, 'handler', {}].map(
          (handler) => () =>
            transport.subscribe(newGroup(), handler as unknown as DeliveryHandler, {
              topics: [topic],
            }),
        ),
        () =>
          transport.subscribe(
            newGroup(),
            async (delivery) => delivery.ack(),
            undefined as unknown as TransportSubscribeOptions,
          ),
      ],
    );

    suite.test(
      'publishing events that are not an array is rejected with INVALID_ARGUMENT, and nothing is delivered',
      async () => {
        const topic = newTopic();
        const ledger = new Ledger();
        const transport = await suite.connect();
        await transport.subscribe(newGroup(), ledger.handler('witness'), { topics: [topic] });
        const marker = keyedEvent(topic, 'item-2', 0);

        for (const events of [keyedEvent(topic, 'item-1', 0), undefined, 'events']) {
          await expectError(
            () => transport.publish(events as unknown as CloudEvent[]),
            'INVALID_ARGUMENT',
          );
        }
        await transport.publish([marker]);
        await ledger.waitForAcked([marker.id]);
        await ledger.expectQuiet();

        expect(ledger.deliveries.map((seen) => seen.id)).toEqual([marker.id]);
      },
    );

    suite.test(
      'publishing or subscribing through a closed transport is rejected with STORE_CLOSED, and nothing is published',
      async () => {
        const topic = newTopic();
        const ledger = new Ledger();
        await (
          await suite.connect()
        ).subscribe(newGroup(), ledger.handler('witness'), {
          topics: [topic],
        });
        const closed = await suite.connect();
        await closed.close();

        await expectError(() => closed.publish([keyedEvent(topic, 'item-1', 0)]), 'STORE_CLOSED');
        await expectError(
          () => closed.subscribe(newGroup(), ledger.handler('rejected'), { topics: [topic] }),
          'STORE_CLOSED',
        );
        await ledger.expectQuiet();

        expect(ledger.deliveries).toEqual([]);
      },
    );

    suite.test(
      'a nack with a negative or non-finite delay is rejected with INVALID_ARGUMENT and leaves the delivery to settle',
      async () => {
        const topic = newTopic();
        const event = keyedEvent(topic, 'item-1', 0);
        const ledger = new Ledger();
        const outcomes: string[] = [];
        await (
          await suite.connect()
        ).subscribe(
          newGroup(),
          ledger.handler('consumer', async (delivery, seen) => {
            if (seen.timesSeen > 1) return delivery.ack();
            outcomes.push(await outcomeOf(delivery.nack({ delayMs: -1 })));
            outcomes.push(await outcomeOf(delivery.nack({ delayMs: Number.NaN })));
            await delivery.ack();
          }),
          { topics: [topic] },
        );

        await (await suite.connect()).publish([event]);
        await ledger.waitForAcked([event.id]);
        await ledger.expectQuiet();

        expect(outcomes).toEqual(['INVALID_ARGUMENT', 'INVALID_ARGUMENT']);
        expect(ledger.deliveries.map((seen) => seen.deliveryCount)).toEqual([1]);
        ledger.expectEachAckedOnce([event.id]);
      },
    );
  });
}
