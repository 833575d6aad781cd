import type { ConsumerMetrics, ProcessOutcome } from '../consumer-metrics.js';
import type { HandleFn, Middleware } from '../handler.js';
import type { HandlingContext } from '../handling-context.js';
import { ScheduledRetry } from '../scheduled-retry.js';

/**
 * Time each delivery and count its outcome. It runs outside the dead-letter middleware,
 * which returns normally after storing a dead letter; that middleware and the idempotency
 * one mark such outcomes on the context with {@link markOutcome}.
 */
export function metrics(consumerMetrics: ConsumerMetrics): Middleware {
  return (next: HandleFn): HandleFn =>
    async (event, context) => {
      const ctx = context as HandlingContext;
      const start = performance.now();
      let outcome: ProcessOutcome = 'handled';
      try {
        await next(event, context);
        outcome = outcomeOf(ctx);
      } catch (error) {
        // Anything but a scheduled retry got past the dead letters: the delivery is nacked.
        outcome = error instanceof ScheduledRetry ? 'retried' : 'failed';
        throw error;
      } finally {
        const traceId = ctx.traceparent.slice(3, 35);
        consumerMetrics.observe(
          ctx.handler,
          outcome,
          (performance.now() - start) / 1000,
          event.time,
          traceId,
        );
      }
    };
}

const OUTCOME = Symbol('outcome');

/** Let an inner middleware say how a delivery that returned normally really ended. */
export function markOutcome(context: HandlingContext, outcome: ProcessOutcome): void {
  (context as unknown as Record<symbol, ProcessOutcome>)[OUTCOME] = outcome;
}

function outcomeOf(context: HandlingContext): ProcessOutcome {
  return (context as unknown as Record<symbol, ProcessOutcome | undefined>)[OUTCOME] ?? 'handled';
}
