import { randomUUID } from 'node:crypto';
import {
  EventFabricError,
  InvalidArgumentError,
  NotFoundError,
  replay,
  type EventHandler,
  type EventStore,
  type ReplayBound,
  type ReplayProgress,
  type ReplayResult,
} from '@eventfabric/core';
import type { Logger } from 'pino';
import type { ReplaySetup } from '../server-options.js';

/** What `POST /v1/replays` asks for, checked (see routes/replays.ts). */
export interface ReplayRequest {
  handler: string;
  from: string | null;
  to: string | null;
  types: string[] | null;
  stream: string | null;
  correlationId: string | null;
  dryRun: boolean;
}

/** Where a replay run is. `stopped`: the server shut down before it finished. */
export type ReplayRunStatus = 'queued' | 'running' | 'finished' | 'failed' | 'stopped';

/** One replay run, as `/v1/replays` shows it. */
export interface ReplayRun {
  id: string;
  handler: string;
  /** The tenant whose events it replays (its API key's), or null for every tenant (open mode). */
  tenant: string | null;
  status: ReplayRunStatus;
  request: ReplayRequest;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** After each page of the log; the result's counts once finished. */
  progress: ReplayProgress | null;
  /** Once finished: what core's replay() returned. Events that failed are listed there. */
  result: ReplayResult | null;
  /** Why the run failed: the replay itself could not go on (a store error, say). */
  error: { code: string; message: string } | null;
}

/** Thrown from onProgress to stop a replay at the next page when the server closes. */
class ReplayStopped extends Error {}

/**
 * The server's replay runs, in memory: runs of one handler go one after another (two at
 * once could both handle an event before either records it), runs of different handlers
 * run side by side. Finished runs are kept up to `keepFinished`; a restart forgets them all
 * (the replays' effects are in the handler's idempotency record, so a rerun skips them).
 */
export class ReplayRuns {
  private readonly runs = new Map<string, ReplayRun>();
  private readonly queues = new Map<string, Promise<void>>();
  private readonly handlers: ReadonlyMap<string, EventHandler>;
  private readonly keepFinished: number;
  private stopping = false;

  constructor(
    private readonly setup: ReplaySetup,
    private readonly store: EventStore,
    private readonly logger: Logger,
  ) {
    if (!Array.isArray(setup.handlers) || typeof setup.processed?.has !== 'function') {
      throw new InvalidArgumentError('replays need handlers and their processed-event record');
    }
    this.handlers = new Map(setup.handlers.map((h) => [h.name, h]));
    const keep = setup.keepFinished ?? 100;
    if (!Number.isSafeInteger(keep) || keep < 0) {
      throw new InvalidArgumentError('replays.keepFinished must be an integer ≥ 0', {
        keepFinished: keep,
      });
    }
    this.keepFinished = keep;
  }

  /** The handlers' names, for error messages. */
  handlerNames(): string[] {
    return [...this.handlers.keys()];
  }

  hasHandler(name: string): boolean {
    return this.handlers.has(name);
  }

  /** Queue a run behind the handler's earlier ones; resolves with it as it stands now. */
  start(
    request: ReplayRequest,
    bounds: { from?: ReplayBound; to?: ReplayBound },
    tenant?: string,
  ): ReplayRun {
    const handler = this.handlers.get(request.handler)!;
    const run: ReplayRun = {
      id: randomUUID(),
      handler: handler.name,
      tenant: tenant ?? null,
      status: 'queued',
      request,
      createdAt: new Date().toISOString(),
      startedAt: null,
      finishedAt: null,
      progress: null,
      result: null,
      error: null,
    };
    this.runs.set(run.id, run);
    const previous = this.queues.get(handler.name) ?? Promise.resolve();
    const next = previous.then(() => this.execute(run, handler, bounds, tenant));
    this.queues.set(handler.name, next);
    void next.finally(() => {
      if (this.queues.get(handler.name) === next) this.queues.delete(handler.name);
    });
    return structuredClone(run);
  }

  /** The runs `tenant` may see (all of them for undefined: open mode), oldest first. */
  list(tenant: string | undefined): ReplayRun[] {
    return [...this.runs.values()]
      .filter((run) => tenant === undefined || run.tenant === tenant)
      .map((run) => structuredClone(run));
  }

  /**
   * One run; another tenant's reads as not found.
   * @throws NotFoundError
   */
  get(id: string, tenant: string | undefined): ReplayRun {
    const run = this.runs.get(id);
    if (run === undefined || (tenant !== undefined && run.tenant !== tenant)) {
      throw new NotFoundError(`no replay ${id}`, { resource: 'replay', id });
    }
    return structuredClone(run);
  }

  /** Stop at the next page: queued runs never start, running ones end `stopped`. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.queues.values()]);
  }

  private async execute(
    run: ReplayRun,
    handler: EventHandler,
    bounds: { from?: ReplayBound; to?: ReplayBound },
    tenant: string | undefined,
  ): Promise<void> {
    if (this.stopping) return this.finish(run, 'stopped', null);
    run.status = 'running';
    run.startedAt = new Date().toISOString();
    const log = this.logger.child({ replay: run.id, handler: handler.name });
    log.info({ request: run.request, tenant: run.tenant }, 'replay started');
    try {
      const result = await replay({
        store: this.store,
        handler,
        processed: this.setup.processed,
        service: this.setup.service,
        schemas: this.setup.schemas,
        from: bounds.from,
        to: bounds.to,
        types: run.request.types ?? undefined,
        stream: run.request.stream ?? undefined,
        correlationId: run.request.correlationId ?? undefined,
        tenant,
        dryRun: run.request.dryRun,
        onProgress: (progress) => {
          run.progress = progress;
          if (this.stopping) throw new ReplayStopped();
        },
      });
      run.result = result;
      run.progress = pick(result);
      this.finish(run, 'finished', null);
      log.info({ result: pick(result) }, 'replay finished');
    } catch (error) {
      if (error instanceof ReplayStopped) {
        this.finish(run, 'stopped', null);
        log.warn({ progress: run.progress }, 'replay stopped: the server is shutting down');
        return;
      }
      const code = error instanceof EventFabricError ? error.code : 'INTERNAL';
      this.finish(run, 'failed', { code, message: (error as Error).message ?? String(error) });
      log.error({ err: error }, 'replay failed');
    }
  }

  private finish(run: ReplayRun, status: ReplayRunStatus, error: ReplayRun['error']): void {
    run.status = status;
    run.error = error;
    run.finishedAt = new Date().toISOString();
    const finished = [...this.runs.values()].filter(
      (r) => r.status !== 'queued' && r.status !== 'running',
    );
    for (const old of finished.slice(0, Math.max(0, finished.length - this.keepFinished))) {
      this.runs.delete(old.id);
    }
  }
}

function pick(result: ReplayResult): ReplayProgress {
  const { scanned, matched, handled, skipped, failed, position, head } = result;
  return { scanned, matched, handled, skipped, failed, position, head };
}
