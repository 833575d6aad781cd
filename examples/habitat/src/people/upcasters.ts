import type { SchemaRegistry, StoredEvent } from '@eventfabric/core';

/** People's types that have more than one version. */
export const PEOPLE_VERSIONED = ['people.member.registered'];

interface RegisteredV1 {
  memberId: string;
  name: string;
  email: string;
}

/**
 * v1 of `people.member.registered` predates member shares: such members hold none, and
 * joined on the day the event happened.
 */
export function registerPeopleUpcasters(registry: SchemaRegistry): void {
  registry.registerUpcaster(
    'people.member.registered.v1',
    (data: RegisteredV1, event: StoredEvent) => ({
      ...data,
      shareCents: 0,
      joinedOn: (event.time ?? '1970-01-01').slice(0, 10),
    }),
  );
}
