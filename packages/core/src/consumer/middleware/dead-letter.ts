import { EventFabricError, HandlerFailedError, NonRetryableError } from '../../errors/index.js';
import type {
  DeadLetter,
  DeadLetterError,
  DeadLetterReason,
  DeadLetterStore,
} from '../dead-letter-store.js';
import type { HandleFn, Middleware } from '../handler.js';
import type { HandlingContext } from '../handling-context.js';
import { ScheduledRetry } from '../scheduled-retry.js';
import { markOutcome } from './metrics.js';

/** Hooks the dead-letter middleware calls. */
export interface DeadLetterHooks {
  onDeadLetter?(entry: DeadLetter, context: HandlingContext): void;
}

/** The error context a dead letter keeps: code, message, stack, details. */
export function describeFailure(
  error: unknown,
  context: { handler: string; eventId: string },
): DeadLetterError {
  const wrapped =
    error instanceof EventFabricError
      ? error
      : new HandlerFailedError(context.handler, context.eventId, { cause: error });
  const original = error instanceof Error ? error : undefined;
  return {
    code: wrapped.code,
    message: original?.message ?? wrapped.message,
    ...(original?.stack === undefined ? {} : { stack: original.stack }),
    details: wrapped.details,
  };
}

/**
 * Catch what the retry middleware lets through (a non-retryable error, or the last
 * attempt's failure), store it as a dead letter with its full context, and let the
 * delivery be acked. A scheduled retry passes through untouched, after its failure is noted
 * so the dead letter can later tell when the first failure happened.
 */
export function deadLetter(store: DeadLetterStore, hooks: DeadLetterHooks = {}): Middleware {
  return (next: HandleFn): HandleFn =>
    async (event, context) => {
      const ctx = context as HandlingContext;
      try {
        await next(event, context);
      } catch (error) {
        const now = new Date();
        const note = await store.noteFailure(ctx.handler, event.id, now);
        if (error instanceof ScheduledRetry) throw error;
        const reason: DeadLetterReason =
          error instanceof NonRetryableError ? 'non_retryable' : 'exhausted';
        const entry = await store.add({
          handler: ctx.handler,
          group: ctx.group,
          origin: ctx.origin,
          reason,
          event: ctx.parent,
          error: describeFailure(error, { handler: ctx.handler, eventId: event.id }),
          attempts: ctx.attempt,
          firstFailedAt: note.firstFailedAt,
          lastFailedAt: now.toISOString(),
        });
        await store.clearFailures(ctx.handler, event.id);
        markOutcome(ctx, 'dead_lettered');
        hooks.onDeadLetter?.(entry, ctx);
        return;
      }
      // A success after failures: forget them (only then, to keep the happy path write-free).
      // This is bookkeeping, outside the try: its failure must never count as the handler's.
      if (ctx.attempt > 1) await store.clearFailures(ctx.handler, event.id);
    };
}
