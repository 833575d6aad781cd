import { InvalidArgumentError, NotFoundError } from '../errors/index.js';
import type { EventStore } from '../event-store/index.js';
import type { Logger } from '../consumer/handler.js';
import type { CompiledProjection } from './projection.js';
import type { ProjectionStorage, ProjectionVersionState } from './projection-storage.js';
import { startProjections } from './projection-daemon.js';
import { repairProjection, type TableDifference } from './verify-projection.js';

/** A configured projection and the version readers see (`eventfabric projections list`). */
export interface ProjectionListing {
  name: string;
  /** The configured version. */
  version: number;
  /** The version the tables' names point at; null until a first version is built. */
  live: number | null;
  tables: readonly string[];
}

/** Where one version of a projection stands (`eventfabric projections status`). */
export interface ProjectionVersionReport {
  name: string;
  version: number;
  /** `not built`: the configured version has no tables yet. */
  mode: 'live' | 'building' | 'not built';
  /** True for the configured version. */
  defined: boolean;
  /** Position of the last event applied, or null before the first. */
  position: string | null;
  /** Positions between it and the log's head (an upper bound where positions have gaps). */
  lag: number;
  lastError: NonNullable<ProjectionVersionState['lastError']> | null;
}

/** What {@link rebuildProjection} did. */
export interface RebuildProjectionResult {
  name: string;
  version: number;
  /** False when the configured version was already live: nothing was built. */
  built: boolean;
  /** Position the new version is live at, when built. */
  position: string | null;
  /** The version that was live before and was dropped, if any. */
  replaced: number | null;
  /** With `force` on a live version: the rows the rebuild replaced, per table. */
  repaired?: TableDifference[];
}

/**
 * The projection called `name`, or all of them when `name` is undefined.
 * @throws NotFoundError naming the configured ones
 */
export function selectProjections<Tx>(
  projections: readonly CompiledProjection<Tx>[],
  name: string | undefined,
): readonly CompiledProjection<Tx>[] {
  if (name === undefined) return projections;
  const found = projections.find((p) => p.name === name);
  if (found) return [found];
  throw new NotFoundError(
    `no projection named "${name}" (configured: ${projections.map((p) => p.name).join(', ') || 'none'})`,
    { resource: 'projection', projection: name },
  );
}

/** Each configured projection with its configured and live versions. */
export async function listProjections<Tx>(
  storage: ProjectionStorage<Tx>,
  projections: readonly CompiledProjection<Tx>[],
): Promise<ProjectionListing[]> {
  return Promise.all(
    projections.map(async (p) => ({
      name: p.name,
      version: p.version,
      live: (await storage.state(p.name)).live ?? null,
      tables: p.tables,
    })),
  );
}

/**
 * Every stored version of each projection (live or building), plus the configured version
 * when it has not been built yet, with its lag behind the log's head.
 */
export async function projectionStatuses<Tx>(
  store: Pick<EventStore, 'headPosition'>,
  storage: ProjectionStorage<Tx>,
  projections: readonly CompiledProjection<Tx>[],
): Promise<ProjectionVersionReport[]> {
  const head = Number(await store.headPosition());
  const rows: ProjectionVersionReport[] = [];
  for (const p of projections) {
    const state = await storage.state(p.name);
    for (const v of state.versions) {
      rows.push({
        name: p.name,
        version: v.version,
        mode: state.live === v.version ? 'live' : 'building',
        defined: v.version === p.version,
        position: v.position ?? null,
        lag: Math.max(0, head - Number(v.position ?? 0)),
        lastError: v.lastError ?? null,
      });
    }
    if (!state.versions.some((v) => v.version === p.version)) {
      rows.push({
        name: p.name,
        version: p.version,
        mode: 'not built',
        defined: true,
        position: null,
        lag: head,
        lastError: null,
      });
    }
  }
  return rows;
}

/** Options for {@link rebuildProjection}. */
export interface RebuildProjectionOptions<Tx> {
  store: EventStore;
  storage: ProjectionStorage<Tx>;
  projection: CompiledProjection<Tx>;
  /** Stop building (the work done so far stays, and resumes next time). @defaultValue never */
  signal?: AbortSignal;
  /**
   * Rebuild a projection live at its configured version too: in place, from the log, its
   * rows replaced in one transaction ({@link repairProjection}). @defaultValue false
   */
  force?: boolean;
  /** @defaultValue a silent logger */
  logger?: Logger;
}

/**
 * Build the configured version of a projection from the start of the log beside the live
 * one, swap it in once it has caught up, and drop the old version: what `eventfabric
 * projections rebuild` and `POST /v1/projections/:name/rebuild` do. A projection already live
 * at its configured version is left as is (`built: false`), unless `force` rebuilds it in
 * place. Do not run it while a daemon
 * (`projections run`) runs the same projection elsewhere.
 * @throws InvalidArgumentError when `signal` aborts before the swap
 */
export async function rebuildProjection<Tx>(
  options: RebuildProjectionOptions<Tx>,
): Promise<RebuildProjectionResult> {
  const { store, storage, projection, signal } = options;
  const before = await storage.state(projection.name);
  const replaced = before.live ?? null;
  if (before.live === projection.version && options.force === true) {
    const repaired = await repairProjection({ store, storage, projection });
    return {
      name: projection.name,
      version: projection.version,
      built: true,
      position: repaired.position ?? null,
      replaced: null,
      repaired: repaired.differences,
    };
  }
  if (before.live === projection.version) {
    return {
      name: projection.name,
      version: projection.version,
      built: false,
      position: null,
      replaced: null,
    };
  }
  const daemon = await startProjections({
    store,
    storage,
    projections: [projection],
    logger: options.logger,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const aborted = () =>
        reject(new InvalidArgumentError(`the rebuild of ${projection.name} was stopped`));
      if (signal?.aborted === true) return aborted();
      signal?.addEventListener('abort', aborted, { once: true });
      daemon.whenLive(projection.name).then(resolve, reject);
    });
  } finally {
    await daemon.stop();
  }
  const [status] = await daemon.status();
  return {
    name: projection.name,
    version: projection.version,
    built: true,
    position: status?.position ?? null,
    replaced,
  };
}
