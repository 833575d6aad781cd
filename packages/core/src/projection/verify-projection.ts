import { InvalidArgumentError } from '../errors/index.js';
import type { EventStore } from '../event-store/index.js';
import type { CompiledProjection, ProjectionContext } from './projection.js';
import type { ProjectionStorage } from './projection-storage.js';

/** The version number a verification's shadow tables are built under. */
export const SHADOW_VERSION = 0;

/** One table's rows that differ between the live read model and a rebuild. */
export interface TableDifference {
  table: string;
  /** Rows the rebuild has and the live model lacks. */
  missing: Record<string, unknown>[];
  /** Rows the live model has and the rebuild does not. */
  unexpected: Record<string, unknown>[];
}

export interface VerifyResult {
  name: string;
  version: number;
  /** The log position both sides were compared at. */
  position: string | undefined;
  equal: boolean;
  differences: TableDifference[];
}

/**
 * Rebuild a live projection from the log into shadow tables, up to the live checkpoint, and
 * report every row that differs from the live read model; then drop the shadow. Side
 * effects never run. The live model must be at the definition's version.
 * @throws InvalidArgumentError when the projection is not live at `projection.version`
 */
export async function verifyProjection<Tx>(options: {
  store: EventStore;
  storage: ProjectionStorage<Tx>;
  projection: CompiledProjection<Tx>;
  batchSize?: number;
  /** Leave the shadow tables for the caller to use and drop ({@link repairProjection}). */
  keepShadow?: boolean;
}): Promise<VerifyResult> {
  const { store, storage, projection } = options;
  const { name, version, tables } = projection;
  const batchSize = options.batchSize ?? 500;
  const state = await storage.state(name);
  if (state.live !== version) {
    throw new InvalidArgumentError(
      `projection ${name} is not live at version ${version} (live: ${state.live ?? 'none'})`,
      { name, version, live: state.live ?? null },
    );
  }
  const shadow = (tx: Tx): ProjectionContext<Tx> => ({
    tx,
    rebuilding: true,
    table: (table) => storage.tableName(name, SHADOW_VERSION, table),
  });
  await storage.drop(name, SHADOW_VERSION, tables);
  await storage.transaction(async (tx) => projection.setup(shadow(tx)));
  try {
    let built: string | undefined;
    for (let attempt = 0; ; attempt++) {
      const target = (await storage.state(name)).versions.find(
        (v) => v.version === version,
      )?.position;
      built = await replayInto(store, storage, projection, shadow, built, target, batchSize);
      const compared = await storage.transaction(async (tx) => {
        const differences: TableDifference[] = [];
        for (const table of tables) {
          const live = await storage.rows(tx, storage.tableName(name, version, table));
          const rebuilt = await storage.rows(tx, storage.tableName(name, SHADOW_VERSION, table));
          const difference = diff(table, live, rebuilt);
          if (difference) differences.push(difference);
        }
        return differences;
      });
      const after = (await storage.state(name)).versions.find(
        (v) => v.version === version,
      )?.position;
      // The live model moved while it was read: compare again at its new position.
      if (after !== target && attempt < 5) continue;
      return {
        name,
        version,
        position: target,
        equal: compared.length === 0,
        differences: compared,
      };
    }
  } finally {
    if (!options.keepShadow) await storage.drop(name, SHADOW_VERSION, tables);
  }
}

/** What {@link repairProjection} did. */
export interface RepairResult {
  name: string;
  version: number;
  /** The log position the live model was rebuilt to. */
  position: string | undefined;
  /** The rows replaced, per table: what verify would have reported. */
  differences: TableDifference[];
}

/**
 * Rebuild the live version of a projection in place, without raising its version (a read
 * model damaged by hand, or a handler bug fixed without a table change): build it from the
 * log into shadow tables up to the live checkpoint, then, in one transaction, replace the
 * live tables' rows with the shadow's, provided the live checkpoint has not moved. Readers
 * see the old rows or the new, never a mix. Side effects never run.
 * @throws InvalidArgumentError when the projection is not live at `projection.version`, or
 *   when the live model kept moving (a daemon is running it): stop the daemon first
 */
export async function repairProjection<Tx>(options: {
  store: EventStore;
  storage: ProjectionStorage<Tx>;
  projection: CompiledProjection<Tx>;
  batchSize?: number;
}): Promise<RepairResult> {
  const { storage, projection } = options;
  const { name, version, tables } = projection;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const verified = await verifyProjection({ ...options, keepShadow: true });
      const replaced = await storage.transaction(async (tx) => {
        const now = (await storage.state(name)).versions.find((v) => v.version === version);
        if (now?.position !== verified.position) return false;
        for (const table of tables) {
          await storage.replaceRows(
            tx,
            storage.tableName(name, SHADOW_VERSION, table),
            storage.tableName(name, version, table),
          );
        }
        return true;
      });
      if (replaced) {
        return { name, version, position: verified.position, differences: verified.differences };
      }
    } finally {
      await storage.drop(name, SHADOW_VERSION, tables);
    }
  }
  throw new InvalidArgumentError(
    `projection ${name} kept moving while it was rebuilt: stop the daemon running it first`,
    { name, version },
  );
}

/** Apply the events after `from` up to `to` to the shadow, a page per transaction. */
async function replayInto<Tx>(
  store: EventStore,
  storage: ProjectionStorage<Tx>,
  projection: CompiledProjection<Tx>,
  shadow: (tx: Tx) => ProjectionContext<Tx>,
  from: string | undefined,
  to: string | undefined,
  batchSize: number,
): Promise<string | undefined> {
  if (to === undefined) return from;
  let after = from;
  for (;;) {
    const page = (
      await store.readAll({ after, limit: batchSize, typePrefixes: projection.typePrefixes })
    ).filter((e) => BigInt(e.position!) <= BigInt(to));
    if (page.length === 0) return to;
    await storage.transaction(async (tx) => {
      const context = shadow(tx);
      for (const event of page) {
        for (const handler of projection.route(event.type).handlers) await handler(event, context);
      }
    });
    after = page[page.length - 1]!.position;
    if (page.length < batchSize) return to;
  }
}

function diff(
  table: string,
  live: Record<string, unknown>[],
  rebuilt: Record<string, unknown>[],
): TableDifference | undefined {
  const count = (rows: Record<string, unknown>[]) => {
    const counts = new Map<string, { row: Record<string, unknown>; n: number }>();
    for (const row of rows) {
      const key = JSON.stringify(row);
      const entry = counts.get(key) ?? { row, n: 0 };
      entry.n++;
      counts.set(key, entry);
    }
    return counts;
  };
  const a = count(live);
  const b = count(rebuilt);
  const missing: Record<string, unknown>[] = [];
  const unexpected: Record<string, unknown>[] = [];
  for (const [key, { row, n }] of b) {
    for (let i = a.get(key)?.n ?? 0; i < n; i++) missing.push(row);
  }
  for (const [key, { row, n }] of a) {
    for (let i = b.get(key)?.n ?? 0; i < n; i++) unexpected.push(row);
  }
  return missing.length + unexpected.length === 0 ? undefined : { table, missing, unexpected };
}
