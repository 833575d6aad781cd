import type { StoredEvent } from '../envelope/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import type { EventStore, Subscription } from '../event-store/index.js';
import { BatchQueue } from '../event-store/batch-queue.js';
import type { Logger } from '../consumer/handler.js';
import { silentLogger } from '../consumer/silent-logger.js';
import {
  projectionContext,
  type CompiledProjection,
  type ProjectionContext,
} from './projection.js';
import type { ProjectionState, ProjectionStorage } from './projection-storage.js';

/** Options for {@link startProjections}. */
export interface ProjectionDaemonOptions<Tx> {
  store: EventStore;
  storage: ProjectionStorage<Tx>;
  projections: readonly CompiledProjection<Tx>[];
  /** Events per transaction. @defaultValue 500 */
  batchSize?: number;
  /** @defaultValue a silent logger */
  logger?: Logger;
}

/** A projection as the daemon runs it. */
export interface ProjectionStatus {
  name: string;
  /** The version this process builds or keeps live. */
  version: number;
  /** `building` until the version has caught up with the log and is swapped in. */
  mode: 'building' | 'live';
  /** Position of the last event applied. */
  position: string | undefined;
  /** The last event applied was this many positions behind the log's head, when read. */
  lag: number | undefined;
  lastError: ProjectionState['versions'][number]['lastError'];
}

/** Running projections: see {@link startProjections}. */
export interface ProjectionDaemon {
  status(): Promise<ProjectionStatus[]>;
  /** Resolves once `name` is live at its defined version (after a build and swap). */
  whenLive(name: string): Promise<void>;
  /** Finish the batch in hand and stop. Idempotent. */
  stop(): Promise<void>;
}

const MAX_BACKOFF_MS = 5000;

/**
 * Keep projections up to date with the log, each in its own catch-up subscription. A batch
 * of events and the checkpoint commit in one transaction, so each event's effect on the
 * read model happens exactly once. A version not yet built is built from the start of the
 * log into its own tables while the live version (if any) keeps serving; once it has caught
 * up it is swapped in, in one transaction, and the old version's tables are dropped. Side
 * effects run only for a live version, after the batch commits. A failing batch is retried
 * with backoff and recorded (`lastError`) until it succeeds: the projection never skips an
 * event.
 *
 * Run one daemon per projection set; several would apply each batch under the same
 * checkpoint, and the loser's transaction would fail.
 * @throws InvalidArgumentError for malformed options, before anything starts
 */
export async function startProjections<Tx>(
  options: ProjectionDaemonOptions<Tx>,
): Promise<ProjectionDaemon> {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('startProjections needs an options object');
  }
  const projections = options.projections;
  if (!Array.isArray(projections) || projections.some((p) => typeof p?.route !== 'function')) {
    throw new InvalidArgumentError('projections must be an array of defineProjection() results');
  }
  const names = new Set(projections.map((p) => p.name));
  if (names.size !== projections.length) {
    throw new InvalidArgumentError('two projections share a name');
  }
  const batchSize = options.batchSize ?? 500;
  if (!Number.isSafeInteger(batchSize) || batchSize <= 0) {
    throw new InvalidArgumentError('batchSize must be a positive integer', {
      batchSize: batchSize as never,
    });
  }
  const logger = options.logger ?? silentLogger;
  const runners = projections.map(
    (p) =>
      new ProjectionRunner(
        p,
        options.store,
        options.storage,
        batchSize,
        logger.child({ projection: p.name }),
      ),
  );
  await Promise.all(runners.map((r) => r.start()));
  return {
    status: () => Promise.all(runners.map((r) => r.status())),
    whenLive: (name) => {
      const runner = runners.find((r) => r.projection.name === name);
      if (!runner) throw new InvalidArgumentError(`no projection named ${name}`, { name });
      return runner.live;
    },
    stop: async () => {
      await Promise.all(runners.map((r) => r.stop()));
    },
  };
}

class ProjectionRunner<Tx> {
  readonly live: Promise<void>;
  private markLive!: () => void;
  private isLive = false;
  private position: string | undefined;
  private lastError: ProjectionStatus['lastError'];
  private subscription: Subscription | undefined;
  private readonly queue: BatchQueue<StoredEvent>;
  private stopped = false;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly projection: CompiledProjection<Tx>,
    private readonly store: EventStore,
    private readonly storage: ProjectionStorage<Tx>,
    private readonly batchSize: number,
    private readonly logger: Logger,
  ) {
    this.live = new Promise((resolve) => (this.markLive = resolve));
    this.queue = new BatchQueue(batchSize, (batch) => this.apply(batch));
  }

  async start(): Promise<void> {
    const { name, version } = this.projection;
    const state = await this.storage.state(name);
    const mine = state.versions.find((v) => v.version === version);
    if (!mine) {
      await this.storage.transaction(async (tx) => {
        await this.projection.setup(this.context(tx, true));
        await this.storage.register(tx, name, version, this.projection.tables);
      });
    }
    this.position = mine?.position;
    this.lastError = mine?.lastError;
    if (state.live === version) this.goLive();
    else this.logger.info({ version, live: state.live ?? null }, 'building projection');
    this.subscription = this.store.subscribe({
      after: this.position,
      typePrefixes: this.projection.typePrefixes,
      batchSize: this.batchSize,
      handler: (event) => this.take(event),
    });
    this.subscription.done.catch((error: unknown) =>
      this.logger.error({ err: error }, 'projection subscription failed'),
    );
    // A build swaps in once the subscription has caught up and every batch is applied.
    if (!this.isLive) this.idleTimer = setInterval(() => void this.promoteWhenCaughtUp(), 50);
  }

  async status(): Promise<ProjectionStatus> {
    const head = Number(await this.store.headPosition().catch(() => NaN));
    return {
      name: this.projection.name,
      version: this.projection.version,
      mode: this.isLive ? 'live' : 'building',
      position: this.position,
      lag: Number.isFinite(head) ? Math.max(0, head - Number(this.position ?? 0)) : undefined,
      lastError: this.lastError,
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.idleTimer) clearInterval(this.idleTimer);
    await this.subscription?.stop();
    await this.queue.flush();
  }

  private take(event: StoredEvent): Promise<void> | void {
    if (this.projection.route(event.type).handlers.length === 0 && !this.hasSideEffects(event))
      return;
    return this.queue.push(event);
  }

  private hasSideEffects(event: StoredEvent): boolean {
    return this.isLive && this.projection.route(event.type).sideEffects.length > 0;
  }

  /** Apply a batch and its checkpoint in one transaction, retrying until it commits. */
  private async apply(batch: StoredEvent[]): Promise<void> {
    const { name, version } = this.projection;
    const last = batch[batch.length - 1]!.position!;
    for (let attempt = 1; ; attempt++) {
      const rebuilding = !this.isLive;
      let applied = batch;
      try {
        await this.storage.transaction(async (tx) => {
          const context = this.context(tx, rebuilding);
          // Events an inline projector applied in their own append's transaction.
          if (this.projection.inline) {
            const positions = batch.map((e) => e.position!);
            const done = await this.storage.takeInline(tx, name, version, positions);
            if (done.size > 0) applied = batch.filter((e) => !done.has(e.position!));
          }
          for (const event of applied) {
            for (const handler of this.projection.route(event.type).handlers) {
              await handler(event, context);
            }
          }
          await this.storage.advance(tx, name, version, last);
        });
        this.position = last;
        this.lastError = undefined;
        if (!rebuilding) await this.runSideEffects(applied);
        return;
      } catch (error) {
        const at = new Date().toISOString();
        this.lastError = { message: (error as Error).message ?? String(error), at, position: last };
        this.logger.error({ err: error, attempt }, 'projection batch failed; retrying');
        await this.storage.fail(name, version, this.lastError).catch(() => undefined);
        if (this.stopped) return;
        await new Promise((resolve) =>
          setTimeout(resolve, Math.min(MAX_BACKOFF_MS, 100 * 2 ** (attempt - 1))),
        );
      }
    }
  }

  /** After the commit; a failure is logged and recorded, never retried (the update stands). */
  private async runSideEffects(batch: StoredEvent[]): Promise<void> {
    for (const event of batch) {
      for (const effect of this.projection.route(event.type).sideEffects) {
        try {
          await effect(event, this.context(undefined as Tx, false));
        } catch (error) {
          this.logger.error({ err: error, eventId: event.id }, 'projection side effect failed');
          this.lastError = {
            message: `side effect: ${(error as Error).message ?? String(error)}`,
            at: new Date().toISOString(),
            position: event.position,
          };
        }
      }
    }
  }

  private async promoteWhenCaughtUp(): Promise<void> {
    if (this.isLive || this.stopped || !this.subscription?.live) return;
    if (!this.queue.empty) return;
    await this.queue.settled();
    if (this.isLive || this.stopped || !this.queue.empty) return;
    if (this.idleTimer) clearInterval(this.idleTimer);
    const { name, version, tables } = this.projection;
    try {
      await this.storage.transaction((tx) => this.storage.promote(tx, name, version, tables));
    } catch (error) {
      this.logger.error({ err: error }, 'projection swap failed; trying again');
      this.idleTimer = setInterval(() => void this.promoteWhenCaughtUp(), 500);
      return;
    }
    this.logger.info({ version }, 'projection version is live');
    this.goLive();
  }

  private goLive(): void {
    this.isLive = true;
    this.markLive();
  }

  private context(tx: Tx, rebuilding: boolean): ProjectionContext<Tx> {
    return projectionContext(
      this.projection,
      this.projection.version,
      (name, version, table) => this.storage.tableName(name, version, table),
      tx,
      rebuilding,
    );
  }
}
