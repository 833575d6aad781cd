import { NotFoundError } from '@eventfabric/core';
import type { EventPublisher, Published } from '../platform/event-publisher.js';
import { HabitatConflictError } from '../platform/errors.js';
import { newId, requireCents, requireEmail, requireId, requireText } from '../platform/input.js';
import {
  memberStream,
  PEOPLE_SOURCE,
  PeopleEvents,
  type MemberRegistered,
  type WithdrawalRequested,
} from './events.js';

export interface RegisterMemberInput {
  id?: string | null;
  name: string;
  email: string;
  shareCents: number;
  joinedOn?: string | null;
}

/** People's commands: each checks the member table, then changes it and emits, together. */
export class PeopleCommands {
  constructor(private readonly publisher: EventPublisher) {}

  registerMember(input: RegisterMemberInput): Promise<Published<string>> {
    const memberId = input.id == null ? newId('m-') : requireId(input.id, 'm-', 'id');
    const name = requireText(input.name, 'name', 200);
    const email = requireEmail(input.email);
    const shareCents = requireCents(input.shareCents, 'shareCents', 0, 100_000_000);
    const joinedOn = input.joinedOn ?? new Date().toISOString().slice(0, 10);
    return this.publisher.publish(PEOPLE_SOURCE, async (uow) => {
      const members = uow.table('people_members');
      const clash = await uow.all<{ member_id: string; email: string }>(
        `SELECT member_id, email FROM ${members} WHERE member_id = ? OR email = ?`,
        [memberId, email],
      );
      if (clash.length > 0) {
        const field = clash.some((row) => row.member_id === memberId) ? 'id' : 'email';
        throw new HabitatConflictError(`a member with this ${field} is already registered`, {
          field,
        });
      }
      await uow.run(
        `INSERT INTO ${members} (member_id, name, email, share_cents, status, joined_on) VALUES (?, ?, ?, ?, 'active', ?)`,
        [memberId, name, email, shareCents, joinedOn],
      );
      uow.emit<MemberRegistered>({
        type: PeopleEvents.registered,
        stream: memberStream(memberId),
        data: { memberId, name, email, shareCents, joinedOn },
      });
      return memberId;
    });
  }

  changeEmail(memberIdInput: string, emailInput: string): Promise<Published<string>> {
    const memberId = requireId(memberIdInput, 'm-', 'memberId');
    const email = requireEmail(emailInput);
    return this.publisher.publish(PEOPLE_SOURCE, async (uow) => {
      const members = uow.table('people_members');
      await this.activeMember(uow, memberId);
      const taken = await uow.all(`SELECT 1 FROM ${members} WHERE email = ? AND member_id <> ?`, [
        email,
        memberId,
      ]);
      if (taken.length > 0) {
        throw new HabitatConflictError('another member uses this email', { field: 'email' });
      }
      await uow.run(`UPDATE ${members} SET email = ? WHERE member_id = ?`, [email, memberId]);
      uow.emit({
        type: PeopleEvents.emailChanged,
        stream: memberStream(memberId),
        data: { memberId, email },
      });
      return memberId;
    });
  }

  /** Start a withdrawal: Agreements, then Treasury, then People finish it, by events. */
  withdraw(memberIdInput: string, reasonInput: string): Promise<Published<string>> {
    const memberId = requireId(memberIdInput, 'm-', 'memberId');
    const reason = requireText(reasonInput, 'reason', 500);
    return this.publisher.publish(PEOPLE_SOURCE, async (uow) => {
      await this.activeMember(uow, memberId);
      await uow.run(
        `UPDATE ${uow.table('people_members')} SET status = 'withdrawing' WHERE member_id = ? AND status = 'active'`,
        [memberId],
      );
      uow.emit<WithdrawalRequested>({
        type: PeopleEvents.withdrawalRequested,
        stream: memberStream(memberId),
        data: { memberId, reason },
      });
      return memberId;
    });
  }

  private async activeMember(
    uow: {
      all<T>(sql: string, params?: readonly unknown[]): Promise<T[]>;
      table(n: string): string;
    },
    memberId: string,
  ): Promise<void> {
    const [row] = await uow.all<{ status: string }>(
      `SELECT status FROM ${uow.table('people_members')} WHERE member_id = ?`,
      [memberId],
    );
    if (row === undefined) throw new NotFoundError(`no member ${memberId}`, { memberId });
    if (row.status !== 'active') {
      throw new HabitatConflictError(`member ${memberId} is ${row.status}`, {
        memberId,
        status: row.status,
      });
    }
  }
}
