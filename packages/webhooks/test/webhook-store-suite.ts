import { expect, it } from 'vitest';
import type { NewDelivery, WebhookStore, WebhookSubscription } from '../src/index.js';

let n = 0;

export function subscription(overrides: Partial<WebhookSubscription> = {}): WebhookSubscription {
  const at = 1_700_000_000_000 + ++n;
  return {
    id: `sub-${n}`,
    tenant: 'acme',
    url: 'https://example.com/hook',
    types: ['*'],
    description: '',
    secrets: [{ secret: 'whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0', createdAt: at }],
    ordered: false,
    enabled: true,
    createdAt: at,
    updatedAt: at,
    ...overrides,
  };
}

export function delivery(subscriptionId: string, eventId: string, dueAt = 0): NewDelivery {
  return {
    id: `dlv-${subscriptionId}-${eventId}`,
    subscriptionId,
    tenant: 'acme',
    eventId,
    eventType: 'shop.order.placed.v1',
    payload: JSON.stringify({ id: eventId }),
    nextAttemptAt: dueAt,
    createdAt: 1,
  };
}

/** The WebhookStore contract, run against every backend. */
export function webhookStoreSuite(open: () => Promise<WebhookStore>): void {
  it('given subscriptions of two tenants, then each lists only its own and updates persist', async () => {
    const store = await open();
    const a = subscription();
    const b = subscription({ tenant: 'globex', ordered: true });
    await store.createSubscription(a);
    await store.createSubscription(b);
    expect((await store.listSubscriptions({ tenant: 'acme' })).map((s) => s.id)).toEqual([a.id]);
    expect((await store.listSubscriptions({})).map((s) => s.id)).toEqual([a.id, b.id]);
    expect(await store.getSubscription(b.id)).toEqual(b);
    const updated = {
      ...a,
      url: 'https://example.org/x',
      types: ['shop.*'],
      updatedAt: a.updatedAt + 5,
    };
    await store.updateSubscription(updated);
    expect(await store.getSubscription(a.id)).toEqual(updated);
    expect(await store.disableSubscription(a.id, 'gone', 42)).toBe(true);
    expect(await store.disableSubscription(a.id, 'gone', 43)).toBe(false);
    expect(await store.getSubscription(a.id)).toEqual({
      ...updated,
      enabled: false,
      disabledReason: 'gone',
      disabledAt: 42,
      updatedAt: 42,
    });
    expect((await store.listSubscriptions({ enabledOnly: true })).map((s) => s.id)).toEqual([b.id]);
    expect(await store.noteOutcome(b.id, false, 100)).toBe(100);
    expect(await store.noteOutcome(b.id, false, 200)).toBe(100);
    expect(await store.noteOutcome(b.id, true, 300)).toBeUndefined();
    expect((await store.getSubscription(b.id))?.failingSince).toBeUndefined();
    expect(await store.deleteSubscription(b.id)).toBe(true);
    expect(await store.deleteSubscription(b.id)).toBe(false);
    expect(await store.getSubscription(b.id)).toBeUndefined();
  });

  it('given deliveries enqueued twice, then each (subscription, event) is stored once and claimed by one owner', async () => {
    const store = await open();
    const s = subscription();
    await store.createSubscription(s);
    expect(await store.enqueue([delivery(s.id, 'e1'), delivery(s.id, 'e2')])).toBe(2);
    expect(await store.enqueue([delivery(s.id, 'e1')])).toBe(0);
    expect(await store.pendingCount()).toBe(2);
    const first = await store.claimDue(1000, 10, 'one', 5000);
    expect(first.map((d) => [d.eventId, d.attempts])).toEqual([
      ['e1', 1],
      ['e2', 1],
    ]);
    expect(await store.claimDue(1000, 10, 'two', 5000)).toEqual([]);
    expect(await store.nextDue(1000)).toBe(6000);
    // The lease passed: another owner takes it, and the first one's result is fenced off.
    const second = await store.claimDue(6001, 1, 'two', 5000);
    expect(second.map((d) => [d.eventId, d.attempts])).toEqual([['e1', 2]]);
    const attempt = {
      deliveryId: second[0]!.id,
      subscriptionId: s.id,
      eventId: 'e1',
      attempt: 2,
      at: 6001,
      outcome: 'delivered' as const,
      status: 200,
      latencyMs: 12,
      response: 'ok',
    };
    expect(
      await store.recordAttempt('one', attempt, { status: 'delivered', nextAttemptAt: 6001 }),
    ).toBe(false);
    expect(
      await store.recordAttempt('two', attempt, { status: 'delivered', nextAttemptAt: 6001 }),
    ).toBe(true);
    expect(await store.getDelivery(second[0]!.id)).toMatchObject({
      status: 'delivered',
      attempts: 2,
      lastStatus: 200,
      lastAttemptAt: 6001,
    });
    expect(await store.listAttempts({ deliveryId: second[0]!.id, limit: 10 })).toEqual([attempt]);
    expect(await store.listAttempts({ subscriptionId: s.id, limit: 10 })).toEqual([attempt]);
    expect(await store.pendingCount()).toBe(1);
    // Resend makes it due again with a fresh budget.
    expect(await store.resend(second[0]!.id, 7000)).toBe(true);
    expect(await store.resend('nope', 7000)).toBe(false);
    expect(
      (await store.claimDue(7000, 10, 'three', 10)).map((d) => [d.eventId, d.attempts]),
    ).toEqual([
      // e2's first lease ran out unsettled: its claim counted.
      ['e2', 2],
      ['e1', 1],
    ]);
    expect(
      (await store.listDeliveries({ subscriptionId: s.id, limit: 10 })).map((d) => d.eventId),
    ).toEqual(['e2', 'e1']);
    expect(
      (await store.listDeliveries({ subscriptionId: s.id, status: 'pending', limit: 10 })).length,
    ).toBe(2);
  });

  it('given an ordered subscription, then only its oldest pending delivery is due; a disabled one has none', async () => {
    const store = await open();
    const ordered = subscription({ ordered: true });
    const off = subscription();
    await store.createSubscription(ordered);
    await store.createSubscription(off);
    await store.enqueue([delivery(ordered.id, 'o1', 500), delivery(ordered.id, 'o2', 0)]);
    await store.enqueue([delivery(off.id, 'x1')]);
    await store.disableSubscription(off.id, 'manual', 1);
    // o2 is due earlier, but o1 is older and still pending.
    expect(await store.claimDue(100, 10, 'w', 1000)).toEqual([]);
    const [o1] = await store.claimDue(600, 10, 'w', 1000);
    expect(o1?.eventId).toBe('o1');
    expect(await store.claimDue(700, 10, 'v', 1000)).toEqual([]);
    await store.recordAttempt(
      'w',
      {
        deliveryId: o1!.id,
        subscriptionId: ordered.id,
        eventId: 'o1',
        attempt: 1,
        at: 700,
        outcome: 'failed',
        status: 500,
        latencyMs: 1,
        response: '',
      },
      { status: 'failed', nextAttemptAt: 700 },
    );
    const [o2] = await store.claimDue(800, 10, 'w', 1000);
    expect([o2?.eventId, o2?.attempts]).toEqual(['o2', 1]);
    // A released claim is due again at once, uncounted; only its owner can release it.
    await store.release(o2!.id, 'someone-else');
    expect(await store.claimDue(900, 10, 'v', 1000)).toEqual([]);
    await store.release(o2!.id, 'w');
    expect((await store.claimDue(900, 10, 'v', 1000)).map((d) => [d.eventId, d.attempts])).toEqual([
      ['o2', 1],
    ]);
    // A failed delivery comes back with resetFailed; a pending one is left alone.
    expect(await store.enqueue([delivery(ordered.id, 'o1', 900)], { resetFailed: true })).toBe(1);
    expect(await store.getDelivery(o1!.id)).toMatchObject({
      status: 'pending',
      attempts: 0,
      nextAttemptAt: 900,
    });
  });
}
