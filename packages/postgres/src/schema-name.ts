import { InvalidArgumentError } from '@eventfabric/core';

/** Lower-case identifiers only: no quoting surprises, and `<schema>_events` fits a channel name. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,47}$/;

/** @throws InvalidArgumentError unless `schema` is a plain lower-case identifier of ≤ 48 characters. */
export function assertSchemaName(schema: unknown): asserts schema is string {
  if (typeof schema !== 'string' || !SCHEMA_NAME.test(schema)) {
    throw new InvalidArgumentError(
      'schema must be a lower-case identifier ([a-z_][a-z0-9_]*, at most 48 characters)',
      { schema: schema as never },
    );
  }
}

export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
