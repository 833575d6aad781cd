import type Database from 'better-sqlite3';

/**
 * Record that a member is alive until `until` (ms since epoch), forget members whose heartbeat
 * expired, and return how many members of the group are alive, this one included. Run inside
 * a write transaction.
 */
export function prepareMemberHeartbeat(
  db: Database.Database,
): (group: string, member: string, now: number, until: number) => number {
  const upsert = db.prepare(
    `INSERT INTO consumer_members (group_name, member_id, heartbeat_until) VALUES (?, ?, ?)
     ON CONFLICT (group_name, member_id) DO UPDATE SET heartbeat_until = excluded.heartbeat_until`,
  );
  const forget = db.prepare(
    'DELETE FROM consumer_members WHERE group_name = ? AND heartbeat_until < ?',
  );
  const live = prepareLiveMembers(db);
  return (group, member, now, until) => {
    upsert.run(group, member, until);
    forget.run(group, now);
    return live.get(group, now)!;
  };
}

/** How many members of a group have a heartbeat that has not expired at `now`. */
export function prepareLiveMembers(
  db: Database.Database,
): Database.Statement<[string, number], number> {
  return db
    .prepare<[string, number], number>(
      'SELECT count(*) FROM consumer_members WHERE group_name = ? AND heartbeat_until >= ?',
    )
    .pluck();
}

/** Remove a member that is leaving the group. */
export function prepareLeaveGroup(db: Database.Database): Database.Statement<[string, string]> {
  return db.prepare<[string, string]>(
    'DELETE FROM consumer_members WHERE group_name = ? AND member_id = ?',
  );
}
