import { createEvent } from '@eventfabric/core';
import { createSqliteEventStore } from '@eventfabric/sqlite';

export async function quickStart(path = '.eventfabric/example.db'): Promise<string[]> {
  const store = createSqliteEventStore({ path });
  const approved = createEvent({
    type: 'treasury.contribution.approved.v1',
    source: '/habitat/treasury',
    subject: 'contribution-42',
    data: { memberId: 'member-7', amountCents: 12500 },
  });
  await store.appendToStream('contribution-42', [approved], { expectedVersion: 'no_stream' });
  const events = await store.readStream('contribution-42');
  await store.close();
  return events.map((e) => `${e.streamversion} ${e.type} ${e.position}`);
}
