import type { CloudEvent, StoredEvent } from '../envelope/index.js';

/**
 * What a store needs from a schema registry: validation on append and upcasting on read.
 * `SchemaRegistry` implements it.
 */
export interface EventSchemas {
  /**
   * Check `event.data` against the schema of `event.type` and return the event with
   * `dataschema` set to that schema version's id. Must not mutate the input. Compiled
   * validators are reused: no schema is compiled on this path.
   * @throws ValidationFailedError listing every failing path
   * @throws SchemaNotFoundError for a type with no registered schema, unless unknown types
   *   are admitted
   */
  validate(event: CloudEvent): CloudEvent;

  /** Bring a stored event up to the latest version of its type through the upcaster chain. */
  upcast(event: StoredEvent): StoredEvent;
}
