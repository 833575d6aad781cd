import { v7 as uuidv7 } from 'uuid';
import { InvalidEventError, type ValidationIssue } from '../errors/index.js';
import { createAjv, toIssues } from '../json-schema/index.js';
import type { CloudEvent } from './cloud-event.js';
import { EVENT_TYPE_PATTERN } from './event-type.js';
import { childTraceparent, isTraceparent } from './trace-context.js';

/** Options for {@link normalizeEvent}. */
export interface NormalizeEventOptions {
  /**
   * Admit types that do not follow `<context>.<entity>.<verb>.v<N>` (e.g. `com.github.push`).
   * @defaultValue false
   */
  allowForeignTypes?: boolean;
  /** When set, the event's subject must equal it, and a missing subject takes it. */
  subject?: string;
}

const envelopeSchema = {
  type: 'object',
  required: ['specversion', 'id', 'type', 'source'],
  properties: {
    specversion: { const: '1.0' },
    id: { type: 'string', minLength: 1, maxLength: 256 },
    type: { type: 'string', minLength: 1, maxLength: 256 },
    source: { type: 'string', minLength: 1, maxLength: 2048, format: 'uri-reference' },
    time: { type: 'string', format: 'date-time' },
    subject: { type: 'string', minLength: 1, maxLength: 512 },
    datacontenttype: { const: 'application/json' },
    dataschema: { type: 'string', minLength: 1, format: 'uri' },
    correlationid: { type: 'string', minLength: 1, maxLength: 256 },
    causationid: { type: 'string', minLength: 1, maxLength: 256 },
    traceparent: { type: 'string' },
    tracestate: { type: 'string', maxLength: 512 },
    partitionkey: { type: 'string', minLength: 1, maxLength: 512 },
    tenantid: { type: 'string', minLength: 1, maxLength: 256 },
  },
  // CloudEvents extension attribute names: lower-case letters and digits only.
  propertyNames: { pattern: '^[a-z0-9]+$' },
} as const;

const validateEnvelope = createAjv().compile(envelopeSchema);

/**
 * Events built by `createEvent`, with their envelope attributes as they were built: such an
 * event passed unchanged
 * (to an append, a publish) skips the schema check; any change to an attribute (not to
 * `data`, which the envelope schema does not look at) checks it again.
 */
const checked = new WeakMap<object, string>();

/** The envelope's attributes (all but `data`), as one comparable string. */
function envelopeKey(event: Record<string, unknown>): string {
  let key = '';
  for (const name in event) {
    if (name === 'data') continue;
    const value = event[name];
    key += `${name}\u0000${typeof value === 'string' ? value : JSON.stringify(value)}\u0001`;
  }
  return key;
}

/** Attributes a store assigns; accepted on input (a re-appended read) and dropped. */
const STORE_ASSIGNED = ['streamversion', 'position'] as const;

/**
 * Check an incoming event against CloudEvents 1.0 and EventFabric's rules, and fill the
 * attributes EventFabric defaults: `time` (now), `subject`, `datacontenttype`,
 * `correlationid` (the event itself), `partitionkey` (the subject) and `traceparent` (a new
 * root trace). Returns a new object; the input is not modified.
 *
 * @throws InvalidEventError listing every problem, when the event is malformed.
 */
export function normalizeEvent(input: unknown, options: NormalizeEventOptions = {}): CloudEvent {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidEventError('an event must be a JSON object', [
      { path: '/', message: 'must be object' },
    ]);
  }
  const event: Record<string, unknown> = { ...(input as Record<string, unknown>) };
  for (const key of STORE_ASSIGNED) delete event[key];
  const issues: ValidationIssue[] = [];
  const known = checked.get(input);
  const unchanged = known !== undefined && known === envelopeKey(event);
  if (!unchanged && !validateEnvelope(event)) issues.push(...toIssues(validateEnvelope.errors));
  const type = event.type;
  if (typeof type === 'string' && !options.allowForeignTypes && !EVENT_TYPE_PATTERN.test(type)) {
    issues.push({
      path: '/type',
      message: `must look like <context>.<entity>.<verb>.v<N> (lower-case), got "${type}"`,
      keyword: 'pattern',
    });
  }
  if (!unchanged && typeof event.traceparent === 'string' && !isTraceparent(event.traceparent)) {
    issues.push({ path: '/traceparent', message: 'must be a W3C traceparent', keyword: 'format' });
  }
  if (
    options.subject !== undefined &&
    event.subject !== undefined &&
    event.subject !== options.subject
  ) {
    issues.push({
      path: '/subject',
      message: `must equal the stream id "${options.subject}"`,
      keyword: 'const',
    });
  }
  if (event.subject === undefined && options.subject === undefined) {
    issues.push({
      path: '/subject',
      message: 'must have required property subject',
      keyword: 'required',
    });
  }
  if (issues.length > 0) {
    const id = typeof event.id === 'string' ? event.id : undefined;
    throw new InvalidEventError(
      `invalid event${id ? ` ${id}` : ''}: ` +
        issues.map((i) => `${i.path} ${i.message}`).join('; '),
      issues,
      id ? { eventId: id } : {},
    );
  }
  event.subject ??= options.subject;
  event.time ??= new Date().toISOString();
  event.datacontenttype ??= 'application/json';
  event.correlationid ??= event.id;
  event.partitionkey ??= event.subject;
  event.traceparent ??= childTraceparent();
  // CloudEvents JSON has no `undefined`; an absent payload is stored as null.
  if (event.data === undefined) event.data = null;
  return event as unknown as CloudEvent;
}

/**
 * Remember that `event`'s envelope is valid as it stands (what `createEvent` returns), so
 * normalising it again unchanged skips the schema check. @internal
 */
export function markChecked(event: CloudEvent): void {
  checked.set(event, envelopeKey(event as unknown as Record<string, unknown>));
}

/** A new UUIDv7: time-ordered, so ids sort roughly by creation time. */
export function newEventId(): string {
  return uuidv7();
}
