import type { BoundedContext } from '../platform/context.js';
import { int } from '../platform/sql.js';
import { TreasuryCommands } from './commands.js';
import { TREASURY_SOURCE, TreasuryEvents } from './events.js';
import { treasuryHandlers } from './handlers.js';
import { treasuryProjections } from './projections.js';
import { ALLOCATION_SAGA } from './saga.js';

type Row = Record<string, unknown>;

/** Treasury: periods, patronage, capital accounts, allocations and distributions. */
export const treasury: BoundedContext = {
  name: 'treasury',
  source: TREASURY_SOURCE,
  tables: (sql) => [
    `CREATE TABLE IF NOT EXISTS ${sql.table('treasury_periods')} (
      period_id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL,
      surplus_cents BIGINT, retained_bps BIGINT, closed_by TEXT)`,
    `CREATE TABLE IF NOT EXISTS ${sql.table('treasury_accounts')} (
      member_id TEXT PRIMARY KEY, balance_cents BIGINT NOT NULL, status TEXT NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${sql.table('treasury_capital_ledger')} (
      entry_id TEXT PRIMARY KEY, member_id TEXT NOT NULL, period_id TEXT, kind TEXT NOT NULL,
      amount_cents BIGINT NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${sql.table('treasury_allocations')} (
      period_id TEXT NOT NULL, member_id TEXT NOT NULL, patronage_cents BIGINT NOT NULL,
      allocated_cents BIGINT NOT NULL, retained_cents BIGINT NOT NULL, cash_cents BIGINT NOT NULL,
      status TEXT NOT NULL, PRIMARY KEY (period_id, member_id))`,
    `CREATE TABLE IF NOT EXISTS ${sql.table('treasury_distributions')} (
      distribution_id TEXT PRIMARY KEY, period_id TEXT NOT NULL, member_id TEXT NOT NULL,
      amount_cents BIGINT NOT NULL, status TEXT NOT NULL)`,
  ],
  commands: [
    { mutation: 'openPeriod', produces: [TreasuryEvents.periodOpened] },
    { mutation: 'closePeriod', produces: [TreasuryEvents.periodClosed] },
    { mutation: 'payDistribution', produces: [TreasuryEvents.paid] },
    { mutation: 'payDistributions', produces: [TreasuryEvents.paid] },
  ],
  handlers: treasuryHandlers,
  projections: treasuryProjections,
  projectionSla: {
    patronage: 'p99 ≤ 100 ms from the approval commit (bench habitat.sla)',
    treasury_ledger: 'p99 ≤ 1 s',
  },
  typeDefs: `
    type Period {
      id: ID!
      name: String!
      status: String!
      surplusCents: Cents
      retainedBps: Int
      lateCents: Cents!
    }
    type Patronage {
      periodId: ID!
      memberId: ID!
      patronageCents: Cents!
      contributions: Int!
    }
    type CapitalAccount {
      memberId: ID!
      balanceCents: Cents!
      redeemedCents: Cents!
      status: String!
    }
    type Allocation {
      periodId: ID!
      memberId: ID!
      patronageCents: Cents!
      allocatedCents: Cents!
      retainedCents: Cents!
      cashCents: Cents!
      status: String!
    }
    type Distribution {
      id: ID!
      periodId: ID!
      memberId: ID!
      amountCents: Cents!
      status: String!
    }
    "The allocation saga of a closed period, from the saga's own state."
    type AllocationRun {
      periodId: ID!
      status: String!
      step: String!
      failedStep: String
      failureReason: String
      "Each step's history entry: started, completed, failed, timed out, compensated."
      history: [String!]!
    }
    extend type Query {
      allocationRun(periodId: ID!): AllocationRun
      periods: [Period!]!
      patronage(periodId: ID!): [Patronage!]!
      capitalAccounts: [CapitalAccount!]!
      capitalAccount(memberId: ID!): CapitalAccount
      allocations(periodId: ID!): [Allocation!]!
      distributions(periodId: ID, memberId: ID, status: String): [Distribution!]!
    }
    extend type Mutation {
      openPeriod(periodId: ID!, name: String!): CommandResult!
      closePeriod(periodId: ID!, surplusCents: Cents!, retainedBps: Int): CommandResult!
      payDistribution(distributionId: ID!): CommandResult!
      payDistributions(periodId: ID!): CommandResult!
    }
  `,
  resolvers: ({ backend, publisher }) => {
    const commands = new TreasuryCommands(publisher);
    const t = (name: string) => backend.sql.table(name);
    const account = (r: Row) => ({
      memberId: r.member_id,
      balanceCents: int(r.balance_cents),
      redeemedCents: int(r.redeemed_cents),
      status: r.status,
    });
    return {
      Query: {
        allocationRun: async (_: unknown, args: { periodId: string }) => {
          const [period] = await backend.sql.all<{ closed_by: string | null }>(
            `SELECT closed_by FROM ${t('periods_view')} WHERE period_id = ?`,
            [args.periodId],
          );
          if (period?.closed_by == null) return null;
          const run = await backend.sagaStorage.instance(ALLOCATION_SAGA, period.closed_by);
          if (run === undefined) return null;
          const steps = ['allocate', 'credit', 'schedule', 'complete'];
          return {
            periodId: args.periodId,
            status: run.status,
            step: steps[run.step] ?? String(run.step),
            failedStep: run.failure?.step ?? null,
            failureReason: run.failure?.reason ?? null,
            history: run.history.map((h) => (h.step ? `${h.what} ${h.step}` : h.what)),
          };
        },
        periods: async () =>
          (await backend.sql.all<Row>(`SELECT * FROM ${t('periods_view')} ORDER BY period_id`)).map(
            (r) => ({
              id: r.period_id,
              name: r.name,
              status: r.status,
              surplusCents: r.surplus_cents == null ? null : int(r.surplus_cents),
              retainedBps: r.retained_bps == null ? null : int(r.retained_bps),
              lateCents: int(r.late_cents),
            }),
          ),
        patronage: async (_: unknown, args: { periodId: string }) =>
          (
            await backend.sql.all<Row>(
              `SELECT * FROM ${t('patronage_view')} WHERE period_id = ? ORDER BY member_id`,
              [args.periodId],
            )
          ).map((r) => ({
            periodId: r.period_id,
            memberId: r.member_id,
            patronageCents: int(r.patronage_cents),
            contributions: int(r.contributions),
          })),
        capitalAccounts: async () =>
          (
            await backend.sql.all<Row>(`SELECT * FROM ${t('accounts_view')} ORDER BY member_id`)
          ).map(account),
        capitalAccount: async (_: unknown, args: { memberId: string }) => {
          const [row] = await backend.sql.all<Row>(
            `SELECT * FROM ${t('accounts_view')} WHERE member_id = ?`,
            [args.memberId],
          );
          return row === undefined ? null : account(row);
        },
        allocations: async (_: unknown, args: { periodId: string }) =>
          (
            await backend.sql.all<Row>(
              `SELECT * FROM ${t('allocations_view')} WHERE period_id = ? ORDER BY member_id`,
              [args.periodId],
            )
          ).map((r) => ({
            periodId: r.period_id,
            memberId: r.member_id,
            patronageCents: int(r.patronage_cents),
            allocatedCents: int(r.allocated_cents),
            retainedCents: int(r.retained_cents),
            cashCents: int(r.cash_cents),
            status: r.status,
          })),
        distributions: async (
          _: unknown,
          args: { periodId?: string | null; memberId?: string | null; status?: string | null },
        ) => {
          const where: string[] = [];
          const params: string[] = [];
          for (const [column, value] of [
            ['period_id', args.periodId],
            ['member_id', args.memberId],
            ['status', args.status],
          ] as const) {
            if (value != null) {
              where.push(`${column} = ?`);
              params.push(value);
            }
          }
          const rows = await backend.sql.all<Row>(
            `SELECT * FROM ${t('distributions_view')}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY distribution_id`,
            params,
          );
          return rows.map((r) => ({
            id: r.distribution_id,
            periodId: r.period_id,
            memberId: r.member_id,
            amountCents: int(r.amount_cents),
            status: r.status,
          }));
        },
      },
      Mutation: {
        openPeriod: (_: unknown, args: { periodId: string; name: string }) =>
          commands.openPeriod(args.periodId, args.name),
        closePeriod: (
          _: unknown,
          args: { periodId: string; surplusCents: number; retainedBps?: number | null },
        ) => commands.closePeriod(args.periodId, args.surplusCents, args.retainedBps),
        payDistribution: (_: unknown, args: { distributionId: string }) =>
          commands.payDistribution(args.distributionId),
        payDistributions: (_: unknown, args: { periodId: string }) =>
          commands.payDistributions(args.periodId),
      },
    };
  },
};
