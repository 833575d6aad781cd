import type { Pool } from 'pg';

/**
 * The queue transport's statements, one function each. `s` is the quoted schema name.
 * Every statement is a single round trip; none holds a transaction open across calls.
 */

/** A group as registered: its name and its topic patterns. */
export interface QueueGroupRow {
  group_name: string;
  topics: string[];
}

/** One claimed message. `deliveries` already counts this delivery. */
export interface QueueMessageRow {
  id: string;
  event_id: string;
  partition_key: string;
  body: string;
  deliveries: number;
}

/** One queue row to insert: an event fanned out to one group. */
export interface QueueInsert {
  group: string;
  eventId: string;
  type: string;
  partitionKey: string;
  body: string;
}

/**
 * Register `group` with `topics`, or replace its topics when they changed (the last
 * subscriber wins, as a redeploy would have it). Either way the routing stamp moves, so
 * publishers with a cached table reload it.
 */
export async function registerQueueGroup(
  pool: Pool,
  s: string,
  group: string,
  topics: readonly string[],
): Promise<void> {
  await pool.query(
    `INSERT INTO ${s}.queue_groups (group_name, topics, seq)
     VALUES ($1, $2::text[], nextval('${s.replace(/'/g, "''")}.queue_groups_seq'))
     ON CONFLICT (group_name) DO UPDATE
       SET topics = EXCLUDED.topics, seq = EXCLUDED.seq, updated_at = now()
       WHERE ${s}.queue_groups.topics IS DISTINCT FROM EXCLUDED.topics`,
    [group, [...topics]],
  );
}

/** Every group and the routing stamp (the highest `seq`, 0 for none), from one snapshot. */
export async function loadQueueGroups(
  pool: Pool,
  s: string,
): Promise<{ groups: QueueGroupRow[]; stamp: string }> {
  const result = await pool.query<QueueGroupRow & { seq: string }>(
    `SELECT group_name, topics, seq::text AS seq FROM ${s}.queue_groups`,
  );
  let stamp = 0n;
  for (const row of result.rows) if (BigInt(row.seq) > stamp) stamp = BigInt(row.seq);
  return { groups: result.rows, stamp: stamp.toString() };
}

/**
 * Insert the fanned-out rows, in order, in one statement, only if the routing stamp is
 * still `stamp`: a group registered since the caller loaded its table may match some of
 * the events. Returns the current stamp; when it differs from `stamp`, nothing was
 * inserted. Sends no NOTIFY: a commit carrying one serialises on a database-wide lock, so
 * the caller notifies after the commit (coalesced, see `append-notifier.ts`).
 */
export async function enqueue(
  pool: Pool,
  s: string,
  rows: readonly QueueInsert[],
  stamp: string,
): Promise<{ stamp: string; inserted: number }> {
  const result = await pool.query<{ stamp: string; inserted: string }>(
    `WITH stamp AS (SELECT COALESCE(max(seq), 0)::bigint AS seq FROM ${s}.queue_groups),
     ins AS (
       INSERT INTO ${s}.queue_messages (group_name, event_id, event_type, partition_key, body)
       SELECT u.g, u.e, u.t, u.k, u.b
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
         WITH ORDINALITY AS u(g, e, t, k, b, n)
       WHERE (SELECT seq FROM stamp) = $6::bigint
       ORDER BY u.n
       RETURNING 1
     )
     SELECT (SELECT seq FROM stamp)::text AS stamp,
            (SELECT count(*) FROM ins)::text AS inserted`,
    [
      rows.map((r) => r.group),
      rows.map((r) => r.eventId),
      rows.map((r) => r.type),
      rows.map((r) => r.partitionKey),
      rows.map((r) => r.body),
      stamp,
    ],
  );
  const row = result.rows[0]!;
  return { stamp: row.stamp, inserted: Number(row.inserted) };
}

/**
 * Claim up to `limit` ready messages of `group` for `member`, leasing them for `leaseMs`
 * and counting the delivery. A message is ready when it is not delayed, not leased (or its
 * lease expired), it is the oldest message of its partition key in the group, and no
 * other message of its key is leased: so a key is handled one event at a time, in id
 * order, across every member and process. SKIP LOCKED lets members claim concurrently.
 */
export async function claimMessages(
  pool: Pool,
  s: string,
  group: string,
  member: string,
  limit: number,
  leaseMs: number,
): Promise<QueueMessageRow[]> {
  const result = await pool.query<QueueMessageRow>(
    `UPDATE ${s}.queue_messages AS q
     SET locked_by = $2, locked_until = now() + $4 * interval '1 millisecond',
         deliveries = q.deliveries + 1
     WHERE q.id IN (
       SELECT m.id FROM ${s}.queue_messages AS m
       WHERE m.group_name = $1
         AND m.not_before <= now()
         AND (m.locked_until IS NULL OR m.locked_until < now())
         AND NOT EXISTS (
           SELECT 1 FROM ${s}.queue_messages AS e
           WHERE e.group_name = m.group_name AND e.partition_key = m.partition_key
             AND e.id < m.id)
         AND NOT EXISTS (
           SELECT 1 FROM ${s}.queue_messages AS l
           WHERE l.group_name = m.group_name AND l.partition_key = m.partition_key
             AND l.locked_until IS NOT NULL AND l.locked_until >= now() AND l.id <> m.id)
       ORDER BY m.id
       LIMIT $3
       FOR UPDATE SKIP LOCKED)
     RETURNING q.id::text AS id, q.event_id, q.partition_key, q.body, q.deliveries`,
    [group, member, limit, leaseMs],
  );
  return result.rows.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
}

/**
 * Milliseconds until the next delayed message of `group` becomes ready, or undefined when
 * none waits.
 */
export async function nextDelayMs(
  pool: Pool,
  s: string,
  group: string,
): Promise<number | undefined> {
  const result = await pool.query<{ wait: number | null }>(
    `SELECT (EXTRACT(EPOCH FROM (min(not_before) - now())) * 1000)::float8 AS wait
     FROM ${s}.queue_messages WHERE group_name = $1 AND not_before > now()`,
    [group],
  );
  const wait = result.rows[0]?.wait;
  return wait === null || wait === undefined ? undefined : Math.max(0, wait);
}

/**
 * Delete acked messages, each only while `member` still holds that very delivery
 * (`deliveries` identifies it): an ack arriving after the lease passed on is ignored.
 */
export async function ackMessages(
  pool: Pool,
  s: string,
  member: string,
  acks: readonly { id: string; deliveries: number }[],
): Promise<void> {
  await pool.query(
    `DELETE FROM ${s}.queue_messages AS q
     USING unnest($2::bigint[], $3::int[]) AS a(id, deliveries)
     WHERE q.id = a.id AND q.deliveries = a.deliveries AND q.locked_by = $1`,
    [member, acks.map((a) => a.id), acks.map((a) => a.deliveries)],
  );
}

/** Release a nacked delivery, ready again after `delayMs`; the same guard as an ack. */
export async function nackMessage(
  pool: Pool,
  s: string,
  member: string,
  id: string,
  deliveries: number,
  delayMs: number,
): Promise<void> {
  await pool.query(
    `UPDATE ${s}.queue_messages
     SET locked_by = NULL, locked_until = NULL,
         not_before = now() + $4 * interval '1 millisecond'
     WHERE id = $2 AND deliveries = $3 AND locked_by = $1`,
    [member, id, deliveries, delayMs],
  );
}

/**
 * Hand back everything `member` holds, ready at once, and notify the other members.
 * `unstarted` were claimed but never handed to a handler: their claim is not counted as a
 * delivery.
 */
export async function releaseMember(
  pool: Pool,
  s: string,
  member: string,
  unstarted: readonly string[],
  channel: string,
): Promise<void> {
  await pool.query(
    `WITH released AS (
       UPDATE ${s}.queue_messages
       SET locked_by = NULL, locked_until = NULL,
           deliveries = deliveries - CASE WHEN id = ANY($2::bigint[]) THEN 1 ELSE 0 END
       WHERE locked_by = $1
       RETURNING 1)
     SELECT pg_notify($3, '') WHERE EXISTS (SELECT 1 FROM released)`,
    [member, [...unstarted], channel],
  );
}

/** Extend the lease of what `member` holds, so a slow handler keeps its delivery. */
export async function extendLeases(
  pool: Pool,
  s: string,
  member: string,
  ids: readonly string[],
  leaseMs: number,
): Promise<void> {
  await pool.query(
    `UPDATE ${s}.queue_messages
     SET locked_until = now() + $3 * interval '1 millisecond'
     WHERE locked_by = $1 AND id = ANY($2::bigint[])`,
    [member, [...ids], leaseMs],
  );
}

/**
 * Insert rows for named groups, in order, in one statement, with no routing check: what a
 * relay feeding one group's queue from the event log writes. Sends no NOTIFY (see above).
 */
export async function enqueueDirect(
  pool: Pool,
  s: string,
  rows: readonly QueueInsert[],
): Promise<number> {
  const result = await pool.query(
    `INSERT INTO ${s}.queue_messages (group_name, event_id, event_type, partition_key, body)
     SELECT u.g, u.e, u.t, u.k, u.b
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
       WITH ORDINALITY AS u(g, e, t, k, b, n)
     ORDER BY u.n`,
    [
      rows.map((r) => r.group),
      rows.map((r) => r.eventId),
      rows.map((r) => r.type),
      rows.map((r) => r.partitionKey),
      rows.map((r) => r.body),
    ],
  );
  return result.rowCount ?? 0;
}
