import type { FastifyInstance } from 'fastify';
import type { Habitat } from '../app.js';

interface Step {
  query: string;
  variables: Record<string, unknown>;
}

const register = (id: string, name: string, shareCents: number): Step => ({
  query: `mutation ($input: RegisterMemberInput!) { registerMember(input: $input) { id } }`,
  variables: { input: { id, name, email: `${id.slice(2)}@habitat.coop`, shareCents } },
});
const sign = (id: string, memberId: string, kind: string, title: string): Step => ({
  query: `mutation ($input: SignAgreementInput!) { signAgreement(input: $input) { id } }`,
  variables: { input: { id, memberId, kind, title } },
});
const submit = (
  id: string,
  agreementId: string,
  periodId: string,
  amountCents: number,
  hours: number,
  note: string,
): Step => ({
  query: `mutation ($input: SubmitContributionInput!) { submitContribution(input: $input) { id } }`,
  variables: { input: { id, agreementId, periodId, amountCents, hours, note } },
});
const approve = (id: string): Step => ({
  query: `mutation ($id: ID!) { approveContribution(contributionId: $id) { id } }`,
  variables: { id },
});
const open = (id: string, name: string): Step => ({
  query: `mutation ($id: ID!, $name: String!) { openPeriod(periodId: $id, name: $name) { id } }`,
  variables: { id, name },
});

/**
 * The demo cooperative, in phases (each waits until the contexts have reacted to the one
 * before, since they learn of each other only through events). Every step is a GraphQL
 * mutation; on a restart each answers HABITAT_CONFLICT (already done) and is skipped, so
 * seeding twice changes nothing.
 */
const PHASES: Step[][] = [
  [
    open('2026-q1', 'First quarter 2026'),
    register('m-ada', 'Ada Lovelace', 25_000),
    register('m-bo', 'Bo Diddley', 25_000),
    register('m-cy', 'Cy Twombly', 10_000),
    register('m-dee', 'Dee Dee Bridgewater', 10_000),
  ],
  [
    sign('a-ada-bakery', 'm-ada', 'labour', 'Bakery shifts'),
    sign('a-bo-flour', 'm-bo', 'supply', 'Organic flour'),
    sign('a-cy-bakery', 'm-cy', 'labour', 'Bakery shifts'),
    sign('a-dee-shop', 'm-dee', 'purchase', 'Shop purchases'),
    submit('c-q1-1', 'a-ada-bakery', '2026-q1', 240_000, 120, 'January to March'),
    submit('c-q1-2', 'a-bo-flour', '2026-q1', 185_050, 0, '37 sacks'),
    submit('c-q1-3', 'a-cy-bakery', '2026-q1', 96_000, 48, 'Weekends'),
    submit('c-q1-4', 'a-dee-shop', '2026-q1', 31_275, 0, 'Receipts Q1'),
  ],
  [approve('c-q1-1'), approve('c-q1-2'), approve('c-q1-3'), approve('c-q1-4')],
  [
    {
      query: `mutation { closePeriod(periodId: "2026-q1", surplusCents: 1250000, retainedBps: 2000) { id } }`,
      variables: {},
    },
  ],
  [
    { query: `mutation { payDistributions(periodId: "2026-q1") { id } }`, variables: {} },
    open('2026-q2', 'Second quarter 2026'),
  ],
  [
    submit('c-q2-1', 'a-ada-bakery', '2026-q2', 80_000, 40, 'April'),
    submit('c-q2-2', 'a-bo-flour', '2026-q2', 52_500, 0, '10 sacks'),
  ],
  [approve('c-q2-1')],
];

/** Seed the demo through the GraphQL API; returns how many mutations changed something. */
export async function seedDemo(app: FastifyInstance, habitat: Habitat): Promise<number> {
  let applied = 0;
  for (const phase of PHASES) {
    for (const step of phase) {
      const response = await app.inject({ method: 'POST', url: '/graphql', payload: step });
      const body = response.json() as {
        errors?: { message: string; extensions?: { code?: string } }[];
      };
      const error = body.errors?.[0];
      if (error === undefined) applied++;
      else if (error.extensions?.code !== 'HABITAT_CONFLICT') {
        throw new Error(`seeding failed: ${error.message} (${JSON.stringify(step.variables)})`);
      }
    }
    await habitat.settled(60_000);
  }
  return applied;
}
