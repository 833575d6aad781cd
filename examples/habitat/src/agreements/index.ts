import { defineProjection } from '@eventfabric/core';
import type { BoundedContext } from '../platform/context.js';
import { dataOf } from '../platform/event-publisher.js';
import { int } from '../platform/sql.js';
import { AgreementsCommands } from './commands.js';
import {
  AGREEMENTS_SOURCE,
  AgreementsEvents,
  type AgreementSigned,
  type ContributionSubmitted,
} from './events.js';
import { agreementsHandlers } from './handlers.js';

interface ContributionRow {
  contribution_id: string;
  agreement_id: string;
  member_id: string;
  period_id: string;
  amount_cents: unknown;
  hours: unknown;
  note: string;
  status: string;
}

/** Agreements: what members agreed to contribute, and what they contributed. */
export const agreements: BoundedContext = {
  name: 'agreements',
  source: AGREEMENTS_SOURCE,
  tables: (sql) => [
    `CREATE TABLE IF NOT EXISTS ${sql.table('agreements_members')} (
      member_id TEXT PRIMARY KEY, status TEXT NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${sql.table('agreements_periods')} (
      period_id TEXT PRIMARY KEY, status TEXT NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${sql.table('agreements_agreements')} (
      agreement_id TEXT PRIMARY KEY, member_id TEXT NOT NULL, kind TEXT NOT NULL,
      title TEXT NOT NULL, status TEXT NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${sql.table('agreements_contributions')} (
      contribution_id TEXT PRIMARY KEY, agreement_id TEXT NOT NULL, member_id TEXT NOT NULL,
      period_id TEXT NOT NULL, amount_cents BIGINT NOT NULL, hours BIGINT NOT NULL,
      note TEXT NOT NULL, status TEXT NOT NULL)`,
  ],
  commands: [
    { mutation: 'signAgreement', produces: [AgreementsEvents.signed] },
    { mutation: 'terminateAgreement', produces: [AgreementsEvents.terminated] },
    { mutation: 'submitContribution', produces: [AgreementsEvents.submitted] },
    { mutation: 'approveContribution', produces: [AgreementsEvents.approved] },
    { mutation: 'rejectContribution', produces: [AgreementsEvents.rejected] },
  ],
  handlers: agreementsHandlers,
  projections: ({ publisher }) => {
    const setStatus =
      (status: string) =>
      async (
        event: Parameters<typeof dataOf>[0],
        { tx, table }: { tx: unknown; table(n: string): string },
      ) => {
        const { contributionId } = dataOf<{ contributionId: string }>(event);
        await publisher
          .within(tx)
          .run(`UPDATE ${table('contributions_view')} SET status = ? WHERE contribution_id = ?`, [
            status,
            contributionId,
          ]);
      };
    return [
      defineProjection<unknown>({
        name: 'agreements_board',
        version: 1,
        tables: ['agreements_view', 'contributions_view'],
        setup: async ({ tx, table }) => {
          const sql = publisher.within(tx);
          await sql.run(
            `CREATE TABLE ${table('agreements_view')} (agreement_id TEXT PRIMARY KEY,
              member_id TEXT NOT NULL, kind TEXT NOT NULL, title TEXT NOT NULL, status TEXT NOT NULL)`,
          );
          await sql.run(
            `CREATE TABLE ${table('contributions_view')} (contribution_id TEXT PRIMARY KEY,
              agreement_id TEXT NOT NULL, member_id TEXT NOT NULL, period_id TEXT NOT NULL,
              amount_cents BIGINT NOT NULL, hours BIGINT NOT NULL, note TEXT NOT NULL,
              status TEXT NOT NULL)`,
          );
        },
        handlers: {
          [AgreementsEvents.signed]: async (event, { tx, table }) => {
            const a = dataOf<AgreementSigned>(event);
            await publisher.within(tx).run(
              `INSERT INTO ${table('agreements_view')} (agreement_id, member_id, kind, title, status)
               VALUES (?, ?, ?, ?, 'active') ON CONFLICT (agreement_id) DO NOTHING`,
              [a.agreementId, a.memberId, a.kind, a.title],
            );
          },
          [AgreementsEvents.terminated]: async (event, { tx, table }) => {
            const { agreementId } = dataOf<{ agreementId: string }>(event);
            await publisher
              .within(tx)
              .run(
                `UPDATE ${table('agreements_view')} SET status = 'terminated' WHERE agreement_id = ?`,
                [agreementId],
              );
          },
          // A pattern: stored v1 events are read too, upcast.
          'agreements.contribution.submitted.*': async (event, { tx, table }) => {
            const c = dataOf<ContributionSubmitted>(event);
            await publisher.within(tx).run(
              `INSERT INTO ${table('contributions_view')}
                 (contribution_id, agreement_id, member_id, period_id, amount_cents, hours, note, status)
               VALUES (?, ?, ?, ?, ?, ?, ?, 'submitted') ON CONFLICT (contribution_id) DO NOTHING`,
              [
                c.contributionId,
                c.agreementId,
                c.memberId,
                c.periodId,
                c.amountCents,
                c.hours,
                c.note,
              ],
            );
          },
          [AgreementsEvents.approved]: setStatus('approved'),
          [AgreementsEvents.rejected]: setStatus('rejected'),
          [AgreementsEvents.cancelled]: setStatus('cancelled'),
        },
      }),
    ];
  },
  projectionSla: { agreements_board: 'p99 ≤ 1 s' },
  typeDefs: `
    type Agreement {
      id: ID!
      memberId: ID!
      kind: String!
      title: String!
      status: String!
    }
    type Contribution {
      id: ID!
      agreementId: ID!
      memberId: ID!
      periodId: ID!
      amountCents: Cents!
      hours: Int!
      note: String!
      status: String!
    }
    input SignAgreementInput {
      id: ID
      memberId: ID!
      kind: String!
      title: String!
    }
    input SubmitContributionInput {
      id: ID
      agreementId: ID!
      periodId: ID!
      amountCents: Cents!
      hours: Int
      note: String
    }
    extend type Query {
      agreements(memberId: ID): [Agreement!]!
      contributions(memberId: ID, periodId: ID, status: String): [Contribution!]!
    }
    extend type Mutation {
      signAgreement(input: SignAgreementInput!): CommandResult!
      terminateAgreement(agreementId: ID!, reason: String!): CommandResult!
      submitContribution(input: SubmitContributionInput!): CommandResult!
      approveContribution(contributionId: ID!): CommandResult!
      rejectContribution(contributionId: ID!, reason: String!): CommandResult!
    }
  `,
  resolvers: ({ backend, publisher }) => {
    const commands = new AgreementsCommands(publisher);
    const agreementsView = backend.sql.table('agreements_view');
    const contributionsView = backend.sql.table('contributions_view');
    return {
      Query: {
        agreements: async (_: unknown, args: { memberId?: string | null }) => {
          const rows = await backend.sql.all<Record<string, string>>(
            args.memberId == null
              ? `SELECT * FROM ${agreementsView} ORDER BY agreement_id`
              : `SELECT * FROM ${agreementsView} WHERE member_id = ? ORDER BY agreement_id`,
            args.memberId == null ? [] : [args.memberId],
          );
          return rows.map((r) => ({
            id: r.agreement_id,
            memberId: r.member_id,
            kind: r.kind,
            title: r.title,
            status: r.status,
          }));
        },
        contributions: async (
          _: unknown,
          args: { memberId?: string | null; periodId?: string | null; status?: string | null },
        ) => {
          const where: string[] = [];
          const params: string[] = [];
          for (const [column, value] of [
            ['member_id', args.memberId],
            ['period_id', args.periodId],
            ['status', args.status],
          ] as const) {
            if (value != null) {
              where.push(`${column} = ?`);
              params.push(value);
            }
          }
          const rows = await backend.sql.all<ContributionRow>(
            `SELECT * FROM ${contributionsView}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY contribution_id`,
            params,
          );
          return rows.map((r) => ({
            id: r.contribution_id,
            agreementId: r.agreement_id,
            memberId: r.member_id,
            periodId: r.period_id,
            amountCents: int(r.amount_cents),
            hours: int(r.hours),
            note: r.note,
            status: r.status,
          }));
        },
      },
      Mutation: {
        signAgreement: (
          _: unknown,
          args: { input: Parameters<AgreementsCommands['signAgreement']>[0] },
        ) => commands.signAgreement(args.input),
        terminateAgreement: (_: unknown, args: { agreementId: string; reason: string }) =>
          commands.terminateAgreement(args.agreementId, args.reason),
        submitContribution: (
          _: unknown,
          args: { input: Parameters<AgreementsCommands['submitContribution']>[0] },
        ) => commands.submitContribution(args.input),
        approveContribution: (_: unknown, args: { contributionId: string }) =>
          commands.approveContribution(args.contributionId),
        rejectContribution: (_: unknown, args: { contributionId: string; reason: string }) =>
          commands.rejectContribution(args.contributionId, args.reason),
      },
    };
  },
};
