import {
  SpanKind,
  SpanStatusCode,
  context as otelContext,
  trace,
  type Tracer,
} from '@opentelemetry/api';
import { childTraceparent, isTraceparent } from '../../envelope/index.js';
import type { HandleFn, Middleware } from '../handler.js';
import type { HandlingContext } from '../handling-context.js';
import { ScheduledRetry } from '../scheduled-retry.js';

/**
 * Continue the event's trace: a consumer span whose parent is the event's `traceparent`.
 * Follow-up events carry the handling's own traceparent. Without an OpenTelemetry SDK the
 * span does not record, and the traceparent still continues the event's trace id.
 */
export function tracing(tracer: Tracer = trace.getTracer('eventfabric')): Middleware {
  return (next: HandleFn): HandleFn =>
    async (event, context) => {
      const ctx = context as HandlingContext;
      const parent = isTraceparent(event.traceparent) ? event.traceparent : undefined;
      const parentContext = parent
        ? trace.setSpanContext(otelContext.active(), toSpanContext(parent))
        : otelContext.active();
      const span = tracer.startSpan(
        `handle ${event.type}`,
        {
          kind: SpanKind.CONSUMER,
          attributes: {
            'messaging.system': 'eventfabric',
            'messaging.consumer.group.name': ctx.group,
            'messaging.message.id': event.id,
            'cloudevents.event_type': event.type,
            'cloudevents.event_subject': event.subject,
          },
        },
        parentContext,
      );
      const own = span.spanContext();
      const traceparent = span.isRecording()
        ? `00-${own.traceId}-${own.spanId}-0${own.traceFlags & 1}`
        : childTraceparent(parent);
      // The context is this delivery's own: set the trace on it rather than copy it.
      ctx.span = span;
      ctx.traceparent = traceparent;
      ctx.logger = ctx.logger.child({
        traceId: traceparent.slice(3, 35),
        spanId: traceparent.slice(36, 52),
      });
      try {
        await otelContext.with(trace.setSpan(parentContext, span), () => next(event, ctx));
        span.setStatus({ code: SpanStatusCode.OK });
      } catch (error) {
        if (!(error instanceof ScheduledRetry)) span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
        throw error;
      } finally {
        span.end();
      }
    };
}

function toSpanContext(traceparent: string) {
  return {
    traceId: traceparent.slice(3, 35),
    spanId: traceparent.slice(36, 52),
    traceFlags: parseInt(traceparent.slice(53, 55), 16),
    isRemote: true,
  };
}
