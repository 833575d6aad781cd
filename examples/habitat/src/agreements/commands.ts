import { InvalidArgumentError, NotFoundError } from '@eventfabric/core';
import type { EventPublisher, Published, UnitOfWork } from '../platform/event-publisher.js';
import { HabitatConflictError } from '../platform/errors.js';
import { newId, requireCents, requireId, requirePeriodId, requireText } from '../platform/input.js';
import {
  AGREEMENTS_SOURCE,
  AgreementsEvents,
  agreementStream,
  contributionStream,
  type AgreementSigned,
  type ContributionApproved,
  type ContributionSubmitted,
} from './events.js';

const KINDS = ['labour', 'supply', 'purchase'] as const;

export interface SignAgreementInput {
  id?: string | null;
  memberId: string;
  kind: string;
  title: string;
}

export interface SubmitContributionInput {
  id?: string | null;
  agreementId: string;
  periodId: string;
  amountCents: number;
  hours?: number | null;
  note?: string | null;
}

interface ContributionRow {
  contribution_id: string;
  agreement_id: string;
  member_id: string;
  period_id: string;
  amount_cents: unknown;
  status: string;
}

/** Agreements' commands. Members and periods are known from People's and Treasury's events. */
export class AgreementsCommands {
  constructor(private readonly publisher: EventPublisher) {}

  signAgreement(input: SignAgreementInput): Promise<Published<string>> {
    const agreementId = input.id == null ? newId('a-') : requireId(input.id, 'a-', 'id');
    const memberId = requireId(input.memberId, 'm-', 'memberId');
    const title = requireText(input.title, 'title', 200);
    const kind = KINDS.find((k) => k === input.kind);
    if (kind === undefined) {
      throw new InvalidArgumentError(`kind must be one of ${KINDS.join(', ')}`, {
        field: 'kind',
        value: String(input.kind),
      });
    }
    return this.publisher.publish(AGREEMENTS_SOURCE, async (uow) => {
      const [member] = await uow.all<{ status: string }>(
        `SELECT status FROM ${uow.table('agreements_members')} WHERE member_id = ?`,
        [memberId],
      );
      if (member?.status !== 'active') {
        throw new HabitatConflictError(`member ${memberId} is not an active member`, {
          memberId,
          status: member?.status ?? 'unknown',
        });
      }
      const inserted = await uow.run(
        `INSERT INTO ${uow.table('agreements_agreements')} (agreement_id, member_id, kind, title, status)
         VALUES (?, ?, ?, ?, 'active') ON CONFLICT (agreement_id) DO NOTHING`,
        [agreementId, memberId, kind, title],
      );
      if (inserted === 0) {
        throw new HabitatConflictError(`agreement ${agreementId} exists`, { agreementId });
      }
      uow.emit<AgreementSigned>({
        type: AgreementsEvents.signed,
        stream: agreementStream(agreementId),
        data: { agreementId, memberId, kind, title },
      });
      return agreementId;
    });
  }

  terminateAgreement(agreementIdInput: string, reasonInput: string): Promise<Published<string>> {
    const agreementId = requireId(agreementIdInput, 'a-', 'agreementId');
    const reason = requireText(reasonInput, 'reason', 500);
    return this.publisher.publish(AGREEMENTS_SOURCE, async (uow) => {
      const [row] = await uow.all<{ member_id: string; status: string }>(
        `SELECT member_id, status FROM ${uow.table('agreements_agreements')} WHERE agreement_id = ?`,
        [agreementId],
      );
      if (row === undefined)
        throw new NotFoundError(`no agreement ${agreementId}`, { agreementId });
      const changed = await uow.run(
        `UPDATE ${uow.table('agreements_agreements')} SET status = 'terminated' WHERE agreement_id = ? AND status = 'active'`,
        [agreementId],
      );
      if (changed === 0) {
        throw new HabitatConflictError(`agreement ${agreementId} is ${row.status}`, {
          agreementId,
        });
      }
      uow.emit({
        type: AgreementsEvents.terminated,
        stream: agreementStream(agreementId),
        data: { agreementId, memberId: row.member_id, reason },
      });
      return agreementId;
    });
  }

  submitContribution(input: SubmitContributionInput): Promise<Published<string>> {
    const contributionId = input.id == null ? newId('c-') : requireId(input.id, 'c-', 'id');
    const agreementId = requireId(input.agreementId, 'a-', 'agreementId');
    const periodId = requirePeriodId(input.periodId);
    const amountCents = requireCents(input.amountCents, 'amountCents', 1, 1_000_000_000);
    const hours = input.hours == null ? 0 : requireCents(input.hours, 'hours', 0, 10_000);
    const note = input.note == null ? '' : String(input.note).slice(0, 500);
    return this.publisher.publish(AGREEMENTS_SOURCE, async (uow) => {
      const [agreement] = await uow.all<{ member_id: string; status: string }>(
        `SELECT member_id, status FROM ${uow.table('agreements_agreements')} WHERE agreement_id = ?`,
        [agreementId],
      );
      if (agreement === undefined) {
        throw new NotFoundError(`no agreement ${agreementId}`, { agreementId });
      }
      if (agreement.status !== 'active') {
        throw new HabitatConflictError(`agreement ${agreementId} is ${agreement.status}`, {
          agreementId,
        });
      }
      await openPeriod(uow, periodId);
      const inserted = await uow.run(
        `INSERT INTO ${uow.table('agreements_contributions')}
           (contribution_id, agreement_id, member_id, period_id, amount_cents, hours, note, status)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'submitted') ON CONFLICT (contribution_id) DO NOTHING`,
        [contributionId, agreementId, agreement.member_id, periodId, amountCents, hours, note],
      );
      if (inserted === 0) {
        throw new HabitatConflictError(`contribution ${contributionId} exists`, { contributionId });
      }
      uow.emit<ContributionSubmitted>({
        type: AgreementsEvents.submitted,
        stream: contributionStream(contributionId),
        data: {
          contributionId,
          agreementId,
          memberId: agreement.member_id,
          periodId,
          amountCents,
          note,
          hours,
        },
      });
      return contributionId;
    });
  }

  approveContribution(contributionIdInput: string): Promise<Published<string>> {
    const contributionId = requireId(contributionIdInput, 'c-', 'contributionId');
    return this.publisher.publish(AGREEMENTS_SOURCE, async (uow) => {
      const row = await this.submitted(uow, contributionId);
      await openPeriod(uow, row.period_id);
      await this.transition(uow, contributionId, 'approved');
      uow.emit<ContributionApproved>({
        type: AgreementsEvents.approved,
        stream: contributionStream(contributionId),
        data: {
          contributionId,
          agreementId: row.agreement_id,
          memberId: row.member_id,
          periodId: row.period_id,
          amountCents: Number(row.amount_cents),
        },
      });
      return contributionId;
    });
  }

  rejectContribution(contributionIdInput: string, reasonInput: string): Promise<Published<string>> {
    const contributionId = requireId(contributionIdInput, 'c-', 'contributionId');
    const reason = requireText(reasonInput, 'reason', 500);
    return this.publisher.publish(AGREEMENTS_SOURCE, async (uow) => {
      const row = await this.submitted(uow, contributionId);
      await this.transition(uow, contributionId, 'rejected');
      uow.emit({
        type: AgreementsEvents.rejected,
        stream: contributionStream(contributionId),
        data: { contributionId, memberId: row.member_id, reason },
      });
      return contributionId;
    });
  }

  private async submitted(uow: UnitOfWork, contributionId: string): Promise<ContributionRow> {
    const [row] = await uow.all<ContributionRow>(
      `SELECT contribution_id, agreement_id, member_id, period_id, amount_cents, status
       FROM ${uow.table('agreements_contributions')} WHERE contribution_id = ?`,
      [contributionId],
    );
    if (row === undefined) {
      throw new NotFoundError(`no contribution ${contributionId}`, { contributionId });
    }
    if (row.status !== 'submitted') {
      throw new HabitatConflictError(`contribution ${contributionId} is ${row.status}`, {
        contributionId,
        status: row.status,
      });
    }
    return row;
  }

  /** A conditional update: of two concurrent decisions on one contribution, one wins. */
  private async transition(uow: UnitOfWork, contributionId: string, to: string): Promise<void> {
    const changed = await uow.run(
      `UPDATE ${uow.table('agreements_contributions')} SET status = ? WHERE contribution_id = ? AND status = 'submitted'`,
      [to, contributionId],
    );
    if (changed !== 1) {
      throw new HabitatConflictError(`contribution ${contributionId} was decided meanwhile`, {
        contributionId,
      });
    }
  }
}

async function openPeriod(uow: UnitOfWork, periodId: string): Promise<void> {
  const [period] = await uow.all<{ status: string }>(
    `SELECT status FROM ${uow.table('agreements_periods')} WHERE period_id = ?`,
    [periodId],
  );
  if (period?.status !== 'open') {
    throw new HabitatConflictError(`period ${periodId} is not open`, {
      periodId,
      status: period?.status ?? 'unknown',
    });
  }
}
