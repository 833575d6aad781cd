import type { SchemaRegistry } from '@eventfabric/core';

/** Agreements' types that have more than one version. */
export const AGREEMENTS_VERSIONED = ['agreements.contribution.submitted'];

interface SubmittedV1 {
  contributionId: string;
  agreementId: string;
  memberId: string;
  periodId: string;
  amountCents: number;
  description: string;
}

/** v1 of `agreements.contribution.submitted` had a description and no hours. */
export function registerAgreementsUpcasters(registry: SchemaRegistry): void {
  registry.registerUpcaster(
    'agreements.contribution.submitted.v1',
    ({ description, ...rest }: SubmittedV1) => ({ ...rest, note: description, hours: 0 }),
  );
}
