/**
 * A CloudEvents 1.0 structured JSON event with EventFabric's extensions.
 * This is the one shape of an event on the wire and in storage.
 */
export interface CloudEvent<T = unknown> {
  specversion: '1.0';
  /** UUIDv7 when EventFabric creates the event; any non-empty string from outside. */
  id: string;
  /** `<context>.<entity>.<past-tense-verb>.v<N>`, e.g. `treasury.contribution.approved.v1`. */
  type: string;
  /** URI-reference of the producer, e.g. `/habitat/treasury`. */
  source: string;
  /** RFC 3339 time of when it happened. */
  time: string;
  /** The stream id, `<category>-<id>`. */
  subject: string;
  datacontenttype: 'application/json';
  /** The registry id of the schema version `data` conforms to. */
  dataschema?: string;
  data: T;
  /** Id of the first event or command of the flow. A flow's first event correlates to itself. */
  correlationid: string;
  /** Id of the event or command that caused this one. Absent on the first event of a flow. */
  causationid?: string;
  /** W3C trace context. */
  traceparent: string;
  tracestate?: string;
  /** Ordering key; defaults to `subject`. */
  partitionkey: string;
  tenantid?: string;
}

/** An event as read back from a store: the envelope plus its place in the log. */
export interface StoredEvent<T = unknown> extends CloudEvent<T> {
  /** 0-based version of the event within its stream. */
  streamversion: number;
  /** Global position in `$all`, as a decimal string so it stays bigint-safe. */
  position: string;
}

/** The category of a stream id: the part before the first `-` (`contribution-42` → `contribution`). */
export function streamCategory(streamId: string): string {
  const dash = streamId.indexOf('-');
  return dash === -1 ? streamId : streamId.slice(0, dash);
}
