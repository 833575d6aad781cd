import type { HandleFn, Middleware } from '../handler.js';
import type { HandlingContext } from '../handling-context.js';
import type { ProcessedEvents } from '../processed-events.js';
import { markOutcome } from './metrics.js';

/** Hooks the idempotency middleware calls. */
export interface IdempotencyHooks {
  onDuplicate?(context: HandlingContext): void;
}

/**
 * Run the handler at most once per (handler, event id). With `transactional`, the handler
 * runs inside the store's transaction (as `context.tx`), so its writes and the record
 * commit together: exactly-once effects over at-least-once delivery.
 */
export function idempotency(
  processed: ProcessedEvents,
  transactional: boolean,
  hooks: IdempotencyHooks = {},
): Middleware {
  return (next: HandleFn): HandleFn =>
    async (event, context) => {
      const ctx = context as HandlingContext;
      const ran = await processed.once(
        ctx.handler,
        event.id,
        (tx) => next(event, tx === undefined ? ctx : ctx.with({ tx })),
        {
          transactional,
        },
      );
      if (!ran) {
        markOutcome(ctx, 'duplicate');
        hooks.onDuplicate?.(ctx);
      }
    };
}
