import { defineHandler } from '@eventfabric/core';
import type { ContextDeps, HandlerSpec } from '../platform/context.js';
import {
  AGREEMENTS_SOURCE,
  AgreementsEvents,
  AgreementsInputs,
  agreementStream,
  contributionStream,
  releaseStream,
} from './events.js';

/** Agreements' reactions to People and Treasury. */
export function agreementsHandlers({ publisher }: ContextDeps): HandlerSpec[] {
  return [
    {
      produces: [],
      sla: 'p99 ≤ 1 s: a new member can sign agreements',
      handler: defineHandler<{ memberId: string }>({
        name: 'agreements_members',
        on: [AgreementsInputs.memberRegistered],
        transactional: true,
        handle: async (event, ctx) => {
          await publisher.react(ctx, AGREEMENTS_SOURCE, async (uow) => {
            // A release may have arrived first (another group): it wins.
            await uow.run(
              `INSERT INTO ${uow.table('agreements_members')} (member_id, status) VALUES (?, 'active')
               ON CONFLICT (member_id) DO NOTHING`,
              [event.data.memberId],
            );
          });
        },
      }),
    },
    {
      produces: [],
      sla: 'p99 ≤ 1 s: contributions open and close with the period',
      handler: defineHandler<{ periodId: string }>({
        name: 'agreements_periods',
        on: [AgreementsInputs.periodOpened, AgreementsInputs.periodClosed],
        transactional: true,
        handle: async (event, ctx) => {
          const status = event.type === AgreementsInputs.periodOpened ? 'open' : 'closed';
          await publisher.react(ctx, AGREEMENTS_SOURCE, async (uow) => {
            await uow.run(
              `INSERT INTO ${uow.table('agreements_periods')} AS p (period_id, status) VALUES (?, ?)
               ON CONFLICT (period_id) DO UPDATE SET status = CASE WHEN p.status = 'closed' THEN 'closed' ELSE excluded.status END`,
              [event.data.periodId, status],
            );
          });
        },
      }),
    },
    {
      produces: [
        AgreementsEvents.terminated,
        AgreementsEvents.cancelled,
        AgreementsEvents.released,
      ],
      sla: 'p99 ≤ 1 s after the withdrawal request',
      handler: defineHandler<{ memberId: string; reason: string }>({
        name: 'agreements_release',
        on: [AgreementsInputs.withdrawalRequested],
        transactional: true,
        retry: { maxAttempts: 8 },
        handle: async (event, ctx) => {
          const { memberId } = event.data;
          await publisher.react(ctx, AGREEMENTS_SOURCE, async (uow) => {
            await uow.run(
              `INSERT INTO ${uow.table('agreements_members')} AS m (member_id, status) VALUES (?, 'released')
               ON CONFLICT (member_id) DO UPDATE SET status = 'released'`,
              [memberId],
            );
            const agreements = await uow.all<{ agreement_id: string }>(
              `SELECT agreement_id FROM ${uow.table('agreements_agreements')}
               WHERE member_id = ? AND status = 'active' ORDER BY agreement_id`,
              [memberId],
            );
            const contributions = await uow.all<{ contribution_id: string }>(
              `SELECT contribution_id FROM ${uow.table('agreements_contributions')}
               WHERE member_id = ? AND status = 'submitted' ORDER BY contribution_id`,
              [memberId],
            );
            const reason = 'member withdrew';
            for (const { agreement_id: agreementId } of agreements) {
              await uow.run(
                `UPDATE ${uow.table('agreements_agreements')} SET status = 'terminated' WHERE agreement_id = ?`,
                [agreementId],
              );
              uow.emit({
                type: AgreementsEvents.terminated,
                stream: agreementStream(agreementId),
                data: { agreementId, memberId, reason },
              });
            }
            for (const { contribution_id: contributionId } of contributions) {
              await uow.run(
                `UPDATE ${uow.table('agreements_contributions')} SET status = 'cancelled' WHERE contribution_id = ?`,
                [contributionId],
              );
              uow.emit({
                type: AgreementsEvents.cancelled,
                stream: contributionStream(contributionId),
                data: { contributionId, memberId, reason },
              });
            }
            uow.emit({
              type: AgreementsEvents.released,
              stream: releaseStream(memberId),
              data: {
                memberId,
                terminatedAgreements: agreements.map((a) => a.agreement_id),
                cancelledContributions: contributions.map((c) => c.contribution_id),
              },
            });
          });
        },
      }),
    },
  ];
}
