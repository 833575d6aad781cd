import type { ValidateFunction } from 'ajv';
import { eventTypeOf, type StoredEvent } from '../envelope/index.js';
import {
  InvalidArgumentError,
  SchemaNotFoundError,
  UpcasterFailedError,
  ValidationFailedError,
} from '../errors/index.js';
import { toIssues } from '../json-schema/index.js';
import type { CompiledSchema } from './compiled-schemas.js';
import { parseRegistrableType } from './schema-id.js';

/**
 * Turns the `data` of a vN event into the `data` of vN+1. It must be a pure function of its
 * input: it runs on every read of an old event, and stored events are never rewritten.
 * It receives its own copy of the data, so changing it in place is safe; `event` is the
 * stored event as read, at its original type.
 */
export type Upcaster<From = unknown, To = unknown> = (data: From, event: StoredEvent) => To;

/** One registered step of an upcaster chain: vN → vN+1. */
export interface UpcastLink {
  readonly fromType: string;
  readonly toType: string;
  /** The schema id of `toType`, set as the upcast event's `dataschema`. */
  readonly toId: string;
  readonly upcaster: Upcaster;
  /** The compiled schema of `toType`: an upcaster's output must satisfy it. */
  readonly validate: ValidateFunction;
}

/**
 * Build the link from `fromType` (vN) to vN+1.
 * @throws InvalidArgumentError for a bad type name or a non-function upcaster
 * @throws SchemaNotFoundError when vN or vN+1 is not registered
 */
export function createUpcastLink<From, To>(
  fromType: string,
  upcaster: Upcaster<From, To>,
  registered: (type: string) => CompiledSchema | undefined,
): UpcastLink {
  const { base, version } = parseRegistrableType(fromType);
  if (typeof upcaster !== 'function') {
    throw new InvalidArgumentError(`the upcaster from ${fromType} must be a function`, {
      fromType,
    });
  }
  const toType = eventTypeOf(base, version + 1);
  if (registered(fromType) === undefined) {
    throw new SchemaNotFoundError(fromType, { upcasterFrom: fromType });
  }
  const target = registered(toType);
  if (target === undefined) throw new SchemaNotFoundError(toType, { upcasterFrom: fromType });
  return {
    fromType,
    toType,
    toId: target.record.id,
    // Stored as taking unknown: the chain only ever hands it data valid for `fromType`.
    upcaster: upcaster as unknown as Upcaster,
    validate: target.validate,
  };
}

/**
 * Run `event` through the chain of links starting at its type, as far as the chain goes.
 * Returns `event` itself when no link starts at its type (the hot path: the latest version,
 * or a type without upcasters); otherwise a new event with `type`, `dataschema` and `data`
 * of the last version reached. The input is not modified.
 *
 * @throws UpcasterFailedError when an upcaster throws or its output fails the next version's
 *   schema; the cause is the thrown error or a ValidationFailedError.
 */
export function upcastEvent(
  event: StoredEvent,
  links: ReadonlyMap<string, UpcastLink>,
): StoredEvent {
  let link = links.get(event.type);
  if (link === undefined) return event;
  // One copy for the whole chain protects the caller's event from in-place upcasters.
  let data: unknown = structuredClone(event.data);
  let last: UpcastLink;
  do {
    data = runLink(link, data, event);
    last = link;
    link = links.get(link.toType);
  } while (link !== undefined);
  return Object.assign({}, event, { type: last.toType, dataschema: last.toId, data });
}

function runLink(link: UpcastLink, data: unknown, event: StoredEvent): unknown {
  let result: unknown;
  try {
    result = link.upcaster(data, event);
  } catch (error) {
    throw new UpcasterFailedError(link.fromType, event.id, { cause: error });
  }
  if (!link.validate(result)) {
    const issues = toIssues(link.validate.errors, '/data');
    const cause = new ValidationFailedError(
      `upcast data does not satisfy ${link.toType}: ` +
        issues.map((i) => `${i.path} ${i.message}`).join('; '),
      issues,
      { type: link.toType, eventId: event.id },
    );
    throw new UpcasterFailedError(link.fromType, event.id, { cause });
  }
  return result;
}
