import Database from 'better-sqlite3';

/** What a consistent store looks like after concurrent or crashed writers. */
export interface ConsistencyReport {
  integrity: string;
  events: number;
  /** Streams whose versions are not exactly 0..n-1. */
  brokenStreams: string[];
  /** Batches with fewer stored events than their declared size. */
  tornBatches: string[];
  positionsIncrease: boolean;
}

/** Inspect a store file directly, independent of the store's own read path. */
export function inspectStore(path: string): ConsistencyReport {
  const db = new Database(path, { readonly: true });
  try {
    const integrity = db.pragma('integrity_check', { simple: true }) as string;
    const rows = db
      .prepare('SELECT position, stream_id, stream_version, body FROM events ORDER BY position')
      .all() as { position: number; stream_id: string; stream_version: number; body: string }[];
    const versions = new Map<string, number[]>();
    const batches = new Map<string, { size: number; seen: number }>();
    let positionsIncrease = true;
    let last = 0;
    for (const row of rows) {
      if (row.position <= last) positionsIncrease = false;
      last = row.position;
      versions.set(row.stream_id, [...(versions.get(row.stream_id) ?? []), row.stream_version]);
      const { batch, size } = (JSON.parse(row.body) as { data: { batch: string; size: number } })
        .data;
      const entry = batches.get(batch) ?? { size, seen: 0 };
      entry.seen++;
      batches.set(batch, entry);
    }
    const brokenStreams = [...versions]
      .filter(([, vs]) => vs.some((v, i) => v !== i))
      .map(([s]) => s);
    const tornBatches = [...batches].filter(([, b]) => b.seen !== b.size).map(([id]) => id);
    return { integrity, events: rows.length, brokenStreams, tornBatches, positionsIncrease };
  } finally {
    db.close();
  }
}
