import { normalizeEvent, type CloudEvent, type StoredEvent } from '../envelope/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import type { AppendOptions, AppendResult } from '../event-store/index.js';
import type { Logger } from '../consumer/handler.js';
import { silentLogger } from '../consumer/silent-logger.js';
import { projectionContext, type CompiledProjection } from './projection.js';
import type { ProjectionStorage } from './projection-storage.js';

/** Options for {@link createInlineProjector}. */
export interface InlineProjectorOptions<Tx> {
  storage: ProjectionStorage<Tx>;
  /** Projections defined with `inline: true`. */
  projections: readonly CompiledProjection<Tx>[];
  /** Append to the store inside `tx` (the store-specific part). */
  append(
    tx: Tx,
    streamId: string,
    events: readonly CloudEvent[],
    options: AppendOptions,
  ): Promise<AppendResult>;
  /** As the store's option: admit foreign CloudEvents types. @defaultValue false */
  allowForeignTypes?: boolean;
  /** @defaultValue a silent logger */
  logger?: Logger;
}

/** Appends that update inline projections in their own transaction. */
export interface InlineProjector {
  /**
   * `store.appendToStream`, with the live version of every inline projection updated in the
   * same transaction: when it resolves, the read model already holds the events. A failing
   * handler rolls the append back too. Side effects run after the commit.
   */
  appendToStream(
    streamId: string,
    events: readonly unknown[],
    options?: AppendOptions,
  ): Promise<AppendResult>;
}

/**
 * Build an inline projector: the store packages wrap it as `createSqliteInlineProjector`
 * and `createPostgresInlineProjector`. Each event applied inline is marked in the same
 * transaction, so the projection daemon (which still has to run, to build new versions and
 * to apply events appended any other way) skips it, and a retried append applies nothing
 * twice. Only the live version is updated inline; a version being built catches up from
 * the log.
 * @throws InvalidArgumentError when a projection is not defined with `inline: true`
 */
export function createInlineProjector<Tx>(options: InlineProjectorOptions<Tx>): InlineProjector {
  const { storage, projections, append } = options;
  if (!Array.isArray(projections) || projections.some((p) => typeof p?.route !== 'function')) {
    throw new InvalidArgumentError('projections must be an array of defineProjection() results');
  }
  for (const p of projections) {
    if (p.inline !== true) {
      throw new InvalidArgumentError(
        `projection ${p.name} is not inline: define it with inline: true`,
        { projection: p.name },
      );
    }
  }
  const logger = options.logger ?? silentLogger;
  const tableName = (name: string, version: number, table: string) =>
    storage.tableName(name, version, table);

  return {
    async appendToStream(streamId, events, appendOptions = {}) {
      if (!Array.isArray(events)) {
        throw new InvalidArgumentError('events must be an array');
      }
      // Normalised here, so the handlers see exactly what is stored.
      const normalized = events.map((event) =>
        normalizeEvent(event, {
          subject: streamId,
          allowForeignTypes: options.allowForeignTypes ?? false,
        }),
      );
      const applied: { projection: CompiledProjection<Tx>; version: number; event: StoredEvent }[] =
        [];
      const result = await storage.transaction(async (tx) => {
        const appended = await append(tx, streamId, normalized, appendOptions);
        if (appended.deduplicated) return appended;
        const first = appended.streamVersion - (normalized.length - 1);
        const stored = normalized.map((event, i): StoredEvent => ({
          ...event,
          streamversion: first + i,
          position: appended.positions[i]!,
        }));
        for (const projection of projections) {
          const live = await storage.liveVersion(tx, projection.name);
          // Not live yet, or live at another version (a deploy in progress): the daemon applies it.
          if (live === undefined || live !== projection.version) continue;
          const context = projectionContext(projection, live, tableName, tx, false);
          for (const event of stored) {
            const { handlers, sideEffects } = projection.route(event.type);
            if (handlers.length === 0 && sideEffects.length === 0) continue;
            if (!(await storage.markInline(tx, projection.name, live, event.position))) continue;
            for (const handler of handlers) await handler(event, context);
            applied.push({ projection, version: live, event });
          }
        }
        return appended;
      });
      for (const { projection, version, event } of applied) {
        for (const effect of projection.route(event.type).sideEffects) {
          try {
            await effect(
              event,
              projectionContext(projection, version, tableName, undefined as Tx, false),
            );
          } catch (error) {
            logger.error(
              { err: error, projection: projection.name, eventId: event.id },
              'inline projection side effect failed',
            );
          }
        }
      }
      return result;
    },
  };
}
