import { InvalidArgumentError, compileTopics } from '@eventfabric/core';
import { secretKey } from './secrets.js';

/** What a caller may set when creating a subscription. */
export interface CreateSubscriptionInput {
  url: string;
  /** Topic patterns; @defaultValue `['*']` */
  types?: string[];
  description?: string;
  /** @defaultValue false */
  ordered?: boolean;
  /** A `whsec_` secret of the caller's; @defaultValue a new random one */
  secret?: string;
  /** Only without API keys (open mode): the tenant whose events it receives. @defaultValue `''` */
  tenant?: string;
}

/** What a caller may change. */
export interface UpdateSubscriptionInput {
  url?: string;
  types?: string[];
  description?: string;
  ordered?: boolean;
  /** true re-enables a disabled subscription (clearing its reason); false disables it. */
  enabled?: boolean;
}

const CREATE_FIELDS = ['url', 'types', 'description', 'ordered', 'secret', 'tenant'] as const;
const UPDATE_FIELDS = ['url', 'types', 'description', 'ordered', 'enabled'] as const;

/** @throws InvalidArgumentError naming the first bad field */
export function checkCreateInput(input: unknown): CreateSubscriptionInput {
  const raw = fieldsOf(input, CREATE_FIELDS);
  if (raw.url === undefined) throw new InvalidArgumentError('url is required', { field: 'url' });
  checkCommon(raw);
  if (raw.secret !== undefined) {
    if (typeof raw.secret !== 'string') {
      throw new InvalidArgumentError('secret must be a whsec_ string', { field: 'secret' });
    }
    secretKey(raw.secret);
  }
  if (raw.tenant !== undefined && typeof raw.tenant !== 'string') {
    throw new InvalidArgumentError('tenant must be a string', { field: 'tenant' });
  }
  return raw as unknown as CreateSubscriptionInput;
}

/** @throws InvalidArgumentError naming the first bad field */
export function checkUpdateInput(input: unknown): UpdateSubscriptionInput {
  const raw = fieldsOf(input, UPDATE_FIELDS);
  checkCommon(raw);
  if (raw.enabled !== undefined && typeof raw.enabled !== 'boolean') {
    throw new InvalidArgumentError('enabled must be true or false', { field: 'enabled' });
  }
  return raw as UpdateSubscriptionInput;
}

function fieldsOf(input: unknown, known: readonly string[]): Record<string, unknown> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidArgumentError('a subscription must be an object', { field: '' });
  }
  const raw = input as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (!known.includes(key)) {
      throw new InvalidArgumentError(`unknown field "${key}"; expected ${known.join(', ')}`, {
        field: key,
      });
    }
  }
  return raw;
}

function checkCommon(raw: Record<string, unknown>): void {
  if (raw.url !== undefined && (typeof raw.url !== 'string' || raw.url.length > 2048)) {
    throw new InvalidArgumentError('url must be a string of at most 2048 characters', {
      field: 'url',
    });
  }
  if (raw.types !== undefined) {
    const types = raw.types;
    if (
      !Array.isArray(types) ||
      types.length === 0 ||
      types.length > 100 ||
      types.some((t) => typeof t !== 'string' || t === '')
    ) {
      throw new InvalidArgumentError('types must be 1 to 100 type patterns', { field: 'types' });
    }
    try {
      compileTopics(types as string[]);
    } catch (error) {
      throw new InvalidArgumentError(
        `types: ${(error as Error).message}`,
        { field: 'types' },
        { cause: error },
      );
    }
  }
  if (
    raw.description !== undefined &&
    (typeof raw.description !== 'string' || raw.description.length > 1000)
  ) {
    throw new InvalidArgumentError('description must be a string of at most 1000 characters', {
      field: 'description',
    });
  }
  if (raw.ordered !== undefined && typeof raw.ordered !== 'boolean') {
    throw new InvalidArgumentError('ordered must be true or false', { field: 'ordered' });
  }
}
