import {
  SpanKind,
  SpanStatusCode,
  context as otelContext,
  trace,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { childTraceparent, isTraceparent } from '@eventfabric/core';

/** The trace a request runs in: what its events and log lines carry. */
export interface RequestTrace {
  /** The W3C traceparent of this request's own span: the parent of what it publishes. */
  traceparent: string;
  traceId: string;
  spanId: string;
  /** The server span, when an OpenTelemetry SDK records it. */
  span: Span | undefined;
}

/**
 * Continue the caller's trace (its `traceparent` header), or start a new one: a SERVER span
 * when an OpenTelemetry SDK is registered, else a new span id on the caller's trace id, so
 * events and logs still carry the caller's trace without an SDK.
 */
export function startRequestTrace(
  tracer: Tracer,
  name: string,
  header: string | string[] | undefined,
  attributes: Record<string, string>,
): RequestTrace {
  const incoming = typeof header === 'string' && isTraceparent(header) ? header : undefined;
  const parent = incoming
    ? trace.setSpanContext(otelContext.active(), {
        traceId: incoming.slice(3, 35),
        spanId: incoming.slice(36, 52),
        traceFlags: parseInt(incoming.slice(53, 55), 16),
        isRemote: true,
      })
    : otelContext.active();
  const span = tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
  if (!span.isRecording()) {
    span.end();
    const traceparent = childTraceparent(incoming);
    return {
      traceparent,
      traceId: traceparent.slice(3, 35),
      spanId: traceparent.slice(36, 52),
      span: undefined,
    };
  }
  const own = span.spanContext();
  return {
    traceparent: `00-${own.traceId}-${own.spanId}-0${own.traceFlags & 1}`,
    traceId: own.traceId,
    spanId: own.spanId,
    span,
  };
}

/** End a request's span with its HTTP status. */
export function endRequestTrace(requestTrace: RequestTrace | undefined, status: number): void {
  const span = requestTrace?.span;
  if (span === undefined) return;
  span.setAttribute('http.response.status_code', status);
  if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}
