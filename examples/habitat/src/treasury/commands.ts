import { NotFoundError } from '@eventfabric/core';
import type { EventPublisher, Published, UnitOfWork } from '../platform/event-publisher.js';
import { HabitatConflictError } from '../platform/errors.js';
import { requireCents, requirePeriodId, requireText } from '../platform/input.js';
import {
  distributionStream,
  periodStream,
  TREASURY_SOURCE,
  TreasuryEvents,
  type PeriodClosed,
} from './events.js';

interface DistributionRow {
  distribution_id: string;
  period_id: string;
  member_id: string;
  amount_cents: unknown;
}

/** Treasury's commands: periods and payments. */
export class TreasuryCommands {
  constructor(private readonly publisher: EventPublisher) {}

  openPeriod(periodIdInput: string, nameInput: string): Promise<Published<string>> {
    const periodId = requirePeriodId(periodIdInput);
    const name = requireText(nameInput, 'name', 100);
    return this.publisher.publish(TREASURY_SOURCE, async (uow) => {
      const inserted = await uow.run(
        `INSERT INTO ${uow.table('treasury_periods')} (period_id, name, status) VALUES (?, ?, 'open')
         ON CONFLICT (period_id) DO NOTHING`,
        [periodId, name],
      );
      if (inserted === 0) throw new HabitatConflictError(`period ${periodId} exists`, { periodId });
      uow.emit({
        type: TreasuryEvents.periodOpened,
        stream: periodStream(periodId),
        data: { periodId, name },
      });
      return periodId;
    });
  }

  /** Close a period: the allocation saga starts from the event. */
  closePeriod(
    periodIdInput: string,
    surplusInput: number,
    retainedBpsInput: number | null | undefined,
  ): Promise<Published<string>> {
    const periodId = requirePeriodId(periodIdInput);
    const surplusCents = requireCents(surplusInput, 'surplusCents', 0, 1_000_000_000_000);
    const retainedBps =
      retainedBpsInput == null ? 2000 : requireCents(retainedBpsInput, 'retainedBps', 0, 10_000);
    return this.publisher.publish(TREASURY_SOURCE, async (uow) => {
      const [row] = await uow.all<{ status: string }>(
        `SELECT status FROM ${uow.table('treasury_periods')} WHERE period_id = ?`,
        [periodId],
      );
      if (row === undefined) throw new NotFoundError(`no period ${periodId}`, { periodId });
      const closed = uow.emit<PeriodClosed>({
        type: TreasuryEvents.periodClosed,
        stream: periodStream(periodId),
        data: { periodId, surplusCents, retainedBps },
      });
      const changed = await uow.run(
        `UPDATE ${uow.table('treasury_periods')} SET status = 'closed', surplus_cents = ?, retained_bps = ?,
           closed_by = ? WHERE period_id = ? AND status = 'open'`,
        [surplusCents, retainedBps, closed.id, periodId],
      );
      if (changed === 0) {
        throw new HabitatConflictError(`period ${periodId} is ${row.status}`, { periodId });
      }
      return periodId;
    });
  }

  payDistribution(distributionIdInput: string): Promise<Published<string>> {
    const id = requireText(distributionIdInput, 'distributionId', 120);
    return this.publisher.publish(TREASURY_SOURCE, async (uow) => {
      const [row] = await uow.all<DistributionRow & { status: string }>(
        `SELECT * FROM ${uow.table('treasury_distributions')} WHERE distribution_id = ?`,
        [id],
      );
      if (row === undefined)
        throw new NotFoundError(`no distribution ${id}`, { distributionId: id });
      await pay(uow, row, row.status);
      return id;
    });
  }

  /** Pay every scheduled distribution of a period, in one transaction. */
  payDistributions(periodIdInput: string): Promise<Published<string>> {
    const periodId = requirePeriodId(periodIdInput);
    return this.publisher.publish(TREASURY_SOURCE, async (uow) => {
      const rows = await uow.all<DistributionRow>(
        `SELECT * FROM ${uow.table('treasury_distributions')} WHERE period_id = ? AND status = 'scheduled'
         ORDER BY distribution_id`,
        [periodId],
      );
      if (rows.length === 0) {
        throw new HabitatConflictError(`period ${periodId} has no scheduled distribution`, {
          periodId,
        });
      }
      for (const row of rows) await pay(uow, row, 'scheduled');
      return periodId;
    });
  }
}

async function pay(uow: UnitOfWork, row: DistributionRow, status: string): Promise<void> {
  const changed = await uow.run(
    `UPDATE ${uow.table('treasury_distributions')} SET status = 'paid' WHERE distribution_id = ? AND status = 'scheduled'`,
    [row.distribution_id],
  );
  if (changed === 0) {
    throw new HabitatConflictError(`distribution ${row.distribution_id} is ${status}`, {
      distributionId: row.distribution_id,
    });
  }
  uow.emit({
    type: TreasuryEvents.paid,
    stream: distributionStream(row.distribution_id),
    data: {
      distributionId: row.distribution_id,
      periodId: row.period_id,
      memberId: row.member_id,
      amountCents: Number(row.amount_cents),
    },
  });
}
