import type { CloudEvent, EventStore } from '@eventfabric/core';
import { describe, expect } from 'vitest';
import { idsOf, testEvent } from './fixtures.js';
import type { ConformanceSuite } from './suite.js';

/** The trace id of a `traceparent`: `00-<trace id>-<span id>-<flags>`. */
function traceId(traceparent: string): string {
  return traceparent.split('-')[1]!;
}

/**
 * Two interleaved flows. An order is placed (the root), a payment follows from it, a
 * shipment from the payment, then a confirmation from the root again; meanwhile an
 * unrelated order runs its own flow.
 */
async function seedFlows(store: EventStore) {
  const root = testEvent('order-1', { type: 'shop.order.placed.v1' });
  const other = testEvent('order-2', { type: 'shop.order.placed.v1' });
  const payment = testEvent('payment-1', { type: 'billing.payment.received.v1', parent: root });
  const otherPayment = testEvent('payment-2', {
    type: 'billing.payment.received.v1',
    parent: other,
  });
  const shipment = testEvent('shipment-1', { type: 'shop.shipment.sent.v1', parent: payment });
  const confirmed = testEvent('order-1', { type: 'shop.order.confirmed.v1', parent: root });
  const positions = new Map<string, string>();
  for (const event of [root, other, payment, otherPayment, shipment, confirmed]) {
    positions.set(event.id, (await store.appendToStream(event.subject, [event])).position);
  }
  const flow: CloudEvent[] = [root, payment, shipment, confirmed];
  return { root, other, otherPayment, flow, positions };
}

export function describeCorrelation(suite: ConformanceSuite): void {
  describe('read by correlation', () => {
    suite.test('readByCorrelation returns one flow across streams in position order', async () => {
      const store = await suite.open();
      const { root, flow, positions } = await seedFlows(store);

      const events = await store.readByCorrelation(root.id);

      expect(idsOf(events)).toEqual(idsOf(flow));
      expect(events.map((e) => e.position)).toEqual(flow.map((e) => positions.get(e.id)));
      expect(events.map((e) => e.subject)).toEqual([
        'order-1',
        'payment-1',
        'shipment-1',
        'order-1',
      ]);
      expect(events.map((e) => e.streamversion)).toEqual([0, 0, 0, 1]);
      expect(events.map((e) => e.correlationid)).toEqual(Array(4).fill(root.id));
      expect(events.map((e) => e.causationid)).toEqual([undefined, root.id, flow[1]!.id, root.id]);
      expect(events.map((e) => traceId(e.traceparent))).toEqual(
        Array(4).fill(traceId(root.traceparent)),
      );
    });

    suite.test('readByCorrelation finds the other flow by its own id', async () => {
      const store = await suite.open();
      const { other, otherPayment } = await seedFlows(store);

      const events = await store.readByCorrelation(other.id);

      expect(idsOf(events)).toEqual([other.id, otherPayment.id]);
    });

    suite.test('readByCorrelation finds a flow started by an outside command', async () => {
      const store = await suite.open();
      const command = { id: 'command-17', correlationid: 'command-17' };
      const placed = testEvent('order-1', { parent: command });
      const reserved = testEvent('stock-4', { parent: placed });
      await store.appendToStream('order-1', [placed]);
      await store.appendToStream('order-2', [testEvent('order-2')]);
      await store.appendToStream('stock-4', [reserved]);

      const events = await store.readByCorrelation('command-17');

      expect(idsOf(events)).toEqual([placed.id, reserved.id]);
      expect(events.map((e) => e.causationid)).toEqual(['command-17', placed.id]);
    });

    suite.test('readByCorrelation reads after a position and up to a limit', async () => {
      const store = await suite.open();
      const { root, flow, positions } = await seedFlows(store);

      const afterRoot = await store.readByCorrelation(root.id, {
        after: positions.get(root.id)!,
        limit: 2,
      });
      const rest = await store.readByCorrelation(root.id, { after: afterRoot.at(-1)!.position });

      expect(idsOf(afterRoot)).toEqual(idsOf(flow.slice(1, 3)));
      expect(idsOf(rest)).toEqual([flow[3]!.id]);
    });

    suite.test('readByCorrelation of an unknown id is empty', async () => {
      const store = await suite.open();
      await seedFlows(store);

      expect(await store.readByCorrelation('no-such-flow')).toEqual([]);
    });

    suite.test('readByCorrelation returns at most 1000 events by default', async () => {
      const store = await suite.open();
      const root = testEvent('bulk-1');
      const children = Array.from({ length: 1000 }, () => testEvent('bulk-1', { parent: root }));
      await store.appendToStream('bulk-1', [root, ...children]);

      const page = await store.readByCorrelation(root.id);

      expect(idsOf(page)).toEqual(idsOf([root, ...children.slice(0, 999)]));
      const rest = await store.readByCorrelation(root.id, { after: page.at(-1)!.position });
      expect(idsOf(rest)).toEqual([children[999]!.id]);
    });
  });
}
