import { defineHandler, defineProjection } from '@eventfabric/core';
import type { BoundedContext } from '../platform/context.js';
import { dataOf } from '../platform/event-publisher.js';
import { int } from '../platform/sql.js';
import { PeopleCommands } from './commands.js';
import {
  memberStream,
  PEOPLE_SOURCE,
  PeopleEvents,
  type MemberRegistered,
  type WithdrawalRequested,
} from './events.js';

/** Treasury's event People waits for to finish a withdrawal (its own copy of the name). */
const ACCOUNT_CLOSED = 'treasury.account.closed.v1';

interface MemberRow {
  member_id: string;
  name: string;
  email: string;
  status: string;
  share_cents: unknown;
  joined_on: string;
  capital_redeemed_cents: unknown;
}

/** People: who the members are, and whether they are still members. */
export const people: BoundedContext = {
  name: 'people',
  source: PEOPLE_SOURCE,
  tables: (sql) => [
    `CREATE TABLE IF NOT EXISTS ${sql.table('people_members')} (
      member_id TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL UNIQUE,
      share_cents BIGINT NOT NULL, status TEXT NOT NULL, joined_on TEXT NOT NULL)`,
  ],
  commands: [
    { mutation: 'registerMember', produces: [PeopleEvents.registered] },
    { mutation: 'changeMemberEmail', produces: [PeopleEvents.emailChanged] },
    { mutation: 'withdrawMember', produces: [PeopleEvents.withdrawalRequested] },
  ],
  handlers: ({ publisher }) => [
    {
      produces: [PeopleEvents.withdrawn],
      sla: 'p99 ≤ 1 s after the account closes',
      handler: defineHandler<{ memberId: string; redeemedCents: number }>({
        name: 'people_withdrawal',
        on: [ACCOUNT_CLOSED],
        transactional: true,
        retry: { maxAttempts: 8 },
        handle: async (event, ctx) => {
          const { memberId, redeemedCents } = event.data;
          await publisher.react(ctx, PEOPLE_SOURCE, async (uow) => {
            const changed = await uow.run(
              `UPDATE ${uow.table('people_members')} SET status = 'withdrawn' WHERE member_id = ? AND status = 'withdrawing'`,
              [memberId],
            );
            if (changed === 0) return; // not leaving: an account closed for another reason
            uow.emit({
              type: PeopleEvents.withdrawn,
              stream: memberStream(memberId),
              data: { memberId, capitalRedeemedCents: redeemedCents },
            });
          });
        },
      }),
    },
  ],
  projections: ({ publisher }) => [
    defineProjection<unknown>({
      name: 'people_directory',
      version: 1,
      tables: ['members_view'],
      setup: async ({ tx, table }) => {
        await publisher.within(tx).run(
          `CREATE TABLE ${table('members_view')} (member_id TEXT PRIMARY KEY, name TEXT NOT NULL,
            email TEXT NOT NULL, status TEXT NOT NULL, share_cents BIGINT NOT NULL,
            joined_on TEXT NOT NULL, capital_redeemed_cents BIGINT)`,
        );
      },
      handlers: {
        // A pattern, not the v2 type: the log's type filter would skip stored v1 events.
        'people.member.registered.*': async (event, { tx, table }) => {
          const m = dataOf<MemberRegistered>(event);
          await publisher.within(tx).run(
            `INSERT INTO ${table('members_view')} (member_id, name, email, status, share_cents, joined_on)
             VALUES (?, ?, ?, 'active', ?, ?) ON CONFLICT (member_id) DO NOTHING`,
            [m.memberId, m.name, m.email, m.shareCents, m.joinedOn],
          );
        },
        [PeopleEvents.emailChanged]: async (event, { tx, table }) => {
          const { memberId, email } = dataOf<{ memberId: string; email: string }>(event);
          await publisher
            .within(tx)
            .run(`UPDATE ${table('members_view')} SET email = ? WHERE member_id = ?`, [
              email,
              memberId,
            ]);
        },
        [PeopleEvents.withdrawalRequested]: async (event, { tx, table }) => {
          const { memberId } = dataOf<WithdrawalRequested>(event);
          await publisher
            .within(tx)
            .run(`UPDATE ${table('members_view')} SET status = 'withdrawing' WHERE member_id = ?`, [
              memberId,
            ]);
        },
        [PeopleEvents.withdrawn]: async (event, { tx, table }) => {
          const d = dataOf<{ memberId: string; capitalRedeemedCents: number }>(event);
          await publisher
            .within(tx)
            .run(
              `UPDATE ${table('members_view')} SET status = 'withdrawn', capital_redeemed_cents = ? WHERE member_id = ?`,
              [d.capitalRedeemedCents, d.memberId],
            );
        },
      },
    }),
  ],
  projectionSla: { people_directory: 'p99 ≤ 1 s' },
  typeDefs: `
    type Member {
      id: ID!
      name: String!
      email: String!
      status: String!
      shareCents: Cents!
      joinedOn: String!
      capitalRedeemedCents: Cents
    }
    input RegisterMemberInput {
      id: ID
      name: String!
      email: String!
      shareCents: Cents!
      joinedOn: String
    }
    extend type Query {
      members(status: String): [Member!]!
      member(id: ID!): Member
    }
    extend type Mutation {
      registerMember(input: RegisterMemberInput!): CommandResult!
      changeMemberEmail(memberId: ID!, email: String!): CommandResult!
      withdrawMember(memberId: ID!, reason: String!): CommandResult!
    }
  `,
  resolvers: ({ backend, publisher }) => {
    const commands = new PeopleCommands(publisher);
    const view = backend.sql.table('members_view');
    const toMember = (r: MemberRow) => ({
      id: r.member_id,
      name: r.name,
      email: r.email,
      status: r.status,
      shareCents: int(r.share_cents),
      joinedOn: r.joined_on,
      capitalRedeemedCents: r.capital_redeemed_cents == null ? null : int(r.capital_redeemed_cents),
    });
    return {
      Query: {
        members: async (_: unknown, args: { status?: string | null }) =>
          (args.status == null
            ? await backend.sql.all<MemberRow>(`SELECT * FROM ${view} ORDER BY member_id`)
            : await backend.sql.all<MemberRow>(
                `SELECT * FROM ${view} WHERE status = ? ORDER BY member_id`,
                [args.status],
              )
          ).map(toMember),
        member: async (_: unknown, args: { id: string }) => {
          const [row] = await backend.sql.all<MemberRow>(
            `SELECT * FROM ${view} WHERE member_id = ?`,
            [args.id],
          );
          return row === undefined ? null : toMember(row);
        },
      },
      Mutation: {
        registerMember: (
          _: unknown,
          args: { input: Parameters<PeopleCommands['registerMember']>[0] },
        ) => commands.registerMember(args.input),
        changeMemberEmail: (_: unknown, args: { memberId: string; email: string }) =>
          commands.changeEmail(args.memberId, args.email),
        withdrawMember: (_: unknown, args: { memberId: string; reason: string }) =>
          commands.withdraw(args.memberId, args.reason),
      },
    };
  },
};
