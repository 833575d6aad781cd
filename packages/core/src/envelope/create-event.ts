import type { CloudEvent } from './cloud-event.js';
import { childTraceparent } from './trace-context.js';
import { markChecked, newEventId, normalizeEvent } from './validate-event.js';

/** The part of a parent event (or command) a new event inherits from. */
export type EventParent = Pick<CloudEvent, 'id' | 'correlationid'> &
  Partial<Pick<CloudEvent, 'traceparent' | 'tracestate' | 'tenantid'>>;

/** Options for {@link createEvent}. */
export interface CreateEventOptions<T> {
  type: string;
  /** URI-reference of the producer, e.g. `/habitat/treasury`. */
  source: string;
  /** The stream id. */
  subject: string;
  data: T;
  /** The event or command that caused this one: correlation, causation, trace and tenant follow it. */
  parent?: EventParent;
  /** @defaultValue a new UUIDv7 */
  id?: string;
  /** @defaultValue now */
  time?: Date | string;
  /** @defaultValue `subject` */
  partitionkey?: string;
  /** @defaultValue the parent's tenant */
  tenantid?: string;
  dataschema?: string;
  /** @defaultValue a child span of the parent's trace, or a new root trace */
  traceparent?: string;
  tracestate?: string;
  /** @defaultValue false */
  allowForeignTypes?: boolean;
}

/**
 * Build a valid CloudEvent. With a `parent`, the new event copies its `correlationid`,
 * sets `causationid` to the parent's id, continues its trace and inherits its tenant.
 *
 * @throws InvalidEventError when the result breaks an envelope rule.
 */
export function createEvent<T>(options: CreateEventOptions<T>): CloudEvent<T> {
  const id = options.id ?? newEventId();
  const parent = options.parent;
  const time = options.time instanceof Date ? options.time.toISOString() : options.time;
  const event: Record<string, unknown> = {
    specversion: '1.0',
    id,
    type: options.type,
    source: options.source,
    time: time ?? new Date().toISOString(),
    subject: options.subject,
    datacontenttype: 'application/json',
    data: options.data,
    correlationid: parent?.correlationid ?? id,
    traceparent: options.traceparent ?? childTraceparent(parent?.traceparent),
    partitionkey: options.partitionkey ?? options.subject,
  };
  if (parent) event.causationid = parent.id;
  const tracestate = options.tracestate ?? parent?.tracestate;
  if (tracestate !== undefined) event.tracestate = tracestate;
  const tenantid = options.tenantid ?? parent?.tenantid;
  if (tenantid !== undefined) event.tenantid = tenantid;
  if (options.dataschema !== undefined) event.dataschema = options.dataschema;
  const allowForeignTypes = options.allowForeignTypes ?? false;
  const created = normalizeEvent(event, { allowForeignTypes }) as CloudEvent<T>;
  markChecked(created);
  return created;
}
