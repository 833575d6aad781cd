import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';
import { isEventFabricError, type Logger } from '@eventfabric/core';
import type { Published } from '../platform/event-publisher.js';
import type { BoundedContext, ContextDeps, Resolvers } from '../platform/context.js';

const BASE = `
  "Money: a whole number of cents (any safe integer, beyond GraphQL's 32-bit Int)."
  scalar Cents
  "What a mutation committed: the state change and these events, in one transaction."
  type CommandResult {
    id: ID!
    eventIds: [ID!]!
    eventTypes: [String!]!
    "The log position of the last event: queries reflect it once projections reach it."
    position: String!
  }
  type Query {
    "The log position the read models have reached (the lowest of them)."
    readModelsPosition: String!
  }
  type Mutation
`;

const Cents = new GraphQLScalarType({
  name: 'Cents',
  description: 'A whole number of cents.',
  serialize: (value) => value,
  parseValue: (value) => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
      throw new GraphQLError('Cents must be a whole number of cents', {
        extensions: { code: 'INVALID_ARGUMENT' },
      });
    }
    return value;
  },
  parseLiteral: (ast) => {
    const value = ast.kind === Kind.INT ? Number(ast.value) : NaN;
    if (!Number.isSafeInteger(value)) {
      throw new GraphQLError('Cents must be a whole number of cents', {
        extensions: { code: 'INVALID_ARGUMENT' },
      });
    }
    return value;
  },
});

/** The schema of every context, and its resolvers: mutations answer with what committed. */
export function habitatGraphql(
  contexts: readonly BoundedContext[],
  deps: ContextDeps,
  readModelsPosition: () => Promise<string>,
  logger?: Logger,
): { schema: string; resolvers: Record<string, unknown> } {
  const guard = guardWith(logger);
  const Query: Record<string, unknown> = { readModelsPosition: () => readModelsPosition() };
  const Mutation: Record<string, unknown> = {};
  for (const context of contexts) {
    const resolvers: Resolvers = context.resolvers(deps);
    for (const [name, resolve] of Object.entries(resolvers.Query ?? {})) {
      Query[name] = guard(resolve as never);
    }
    for (const [name, resolve] of Object.entries(resolvers.Mutation ?? {})) {
      Mutation[name] = guard(async (...args: unknown[]) =>
        commandResult(await (resolve as (...a: unknown[]) => Promise<Published<string>>)(...args)),
      );
    }
  }
  return {
    schema: [BASE, ...contexts.map((c) => c.typeDefs)].join('\n'),
    resolvers: { Cents, Query, Mutation },
  };
}

function commandResult(published: Published<string>) {
  return {
    id: published.result,
    eventIds: published.events.map((e) => e.id),
    eventTypes: published.events.map((e) => e.type),
    position: published.positions[published.positions.length - 1] ?? '0',
  };
}

/**
 * EventFabric errors become GraphQL errors with the code and details as extensions, so a
 * client sees `INVALID_ARGUMENT`, `NOT_FOUND`, `VALIDATION_FAILED` or `HABITAT_CONFLICT`
 * and why; anything else is reported as `INTERNAL` without its message.
 */
function guardWith(
  logger: Logger | undefined,
): (resolve: (...args: unknown[]) => unknown) => (...args: unknown[]) => Promise<unknown> {
  return (resolve) =>
    async (...args) => {
      try {
        return await resolve(...args);
      } catch (error) {
        if (isEventFabricError(error)) {
          throw new GraphQLError(error.message, {
            extensions: { code: error.code, details: error.details },
          });
        }
        if (logger) logger.error({ err: error }, 'GraphQL resolver failed');
        else console.error(error);
        throw new GraphQLError('internal error', { extensions: { code: 'INTERNAL' } });
      }
    };
}
