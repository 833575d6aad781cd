import type { StoredEvent } from '../../envelope/index.js';
import type { EventSchemas } from '../../schema/index.js';
import type { HandleFn, Middleware } from '../handler.js';

/** Hand the handler the latest version of the event's type (stored events are untouched). */
export function upcast(schemas: EventSchemas): Middleware {
  return (next: HandleFn): HandleFn =>
    (event, context) =>
      next(schemas.upcast(event as StoredEvent), context);
}
