import {
  compileTopicPattern,
  type CompiledProjection,
  type EventHandler,
  type EventStore,
  type ProcessedEvents,
  type ProjectionDaemon,
  type SagaDaemon,
} from '@eventfabric/core';

/**
 * Whether every part of Habitat has handled the log up to its head: handlers (their
 * idempotency record holds every event they subscribe to), projections and sagas. Tests,
 * the seed and the benchmark wait on it; the application itself never does.
 */
export class Settlement {
  private readonly handlers: { name: string; matches: (type: string) => boolean }[];
  private scanned: string | undefined;
  private readonly pending = new Map<string, { handler: string; id: string; type: string }>();

  constructor(
    private readonly store: EventStore,
    private readonly processed: ProcessedEvents,
    handlers: readonly EventHandler[],
    private readonly projections: readonly CompiledProjection<unknown>[],
    private readonly projectionDaemon: ProjectionDaemon,
    private readonly sagas: SagaDaemon,
  ) {
    this.handlers = handlers.map((h) => {
      const matchers = h.on.map((p) => compileTopicPattern(p));
      return { name: h.name, matches: (type: string) => matchers.some((m) => m(type)) };
    });
  }

  /** Resolves once everything has handled the log as it stands (and nothing new arrived). */
  async settled(timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const head = await this.store.headPosition();
      await this.scan();
      const handlersDone = await this.handlersDone();
      const readModels = await this.readModelsPosition();
      if (handlersDone && BigInt(readModels) >= BigInt(head)) {
        await this.sagas.caughtUp(head);
        if ((await this.store.headPosition()) === head) return head;
      }
      if (Date.now() > deadline) {
        const waiting = [...this.pending.values()].slice(0, 10);
        throw new Error(
          `Habitat did not settle within ${timeoutMs} ms: head ${head}, read models at ${readModels}, handlers waiting on ${JSON.stringify(waiting)}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /**
   * The position up to which every projection has applied the log: the head when none has
   * an event left to apply.
   */
  async readModelsPosition(): Promise<string> {
    const head = BigInt(await this.store.headPosition());
    let lowest = head;
    const statuses = await this.projectionDaemon.status();
    for (const projection of this.projections) {
      const status = statuses.find((s) => s.name === projection.name && s.mode === 'live');
      const reached = await this.reached(projection, status?.position, head);
      if (reached < lowest) lowest = reached;
    }
    return lowest.toString();
  }

  private async reached(
    projection: CompiledProjection<unknown>,
    position: string | undefined,
    head: bigint,
  ): Promise<bigint> {
    let after = position;
    for (;;) {
      // Upcast, as the projection reads them: it routes by the latest version's type.
      const page = await this.store.readAll({
        after,
        typePrefixes: projection.typePrefixes,
        limit: 200,
      });
      const first = page.find((e) => projection.route(e.type).handlers.length > 0);
      if (first !== undefined) return BigInt(first.position!) - 1n;
      if (page.length < 200) return head;
      after = page[page.length - 1]!.position;
    }
  }

  private async scan(): Promise<void> {
    for (;;) {
      const page = await this.store.readAll({ after: this.scanned, limit: 1000, raw: true });
      for (const event of page) {
        for (const h of this.handlers) {
          if (h.matches(event.type)) {
            this.pending.set(`${h.name}\u0000${event.id}`, {
              handler: h.name,
              id: event.id,
              type: event.type,
            });
          }
        }
      }
      if (page.length === 0) return;
      this.scanned = page[page.length - 1]!.position;
      if (page.length < 1000) return;
    }
  }

  private async handlersDone(): Promise<boolean> {
    for (const [key, item] of this.pending) {
      if (!(await this.processed.has(item.handler, item.id))) return false;
      this.pending.delete(key);
    }
    return true;
  }
}
