/**
 * The option and result types of the `SchemaRegistry` API, and the one place the
 * registry's option defaults live.
 */
import { InvalidArgumentError, type SchemaChange } from '../errors/index.js';
import type { SchemaStorage } from '../event-store/event-store.js';
import {
  assertCompatibilityMode,
  DEFAULT_COMPATIBILITY,
  type CompatibilityMode,
} from './compatibility-mode.js';

/** What the registry does with an event whose type has no registered schema. */
export type UnknownTypesPolicy = 'reject' | 'allow';

/** Options for `SchemaRegistry.create`. */
export interface SchemaRegistryOptions {
  /**
   * Where schemas persist; every store provides one. `create` loads and compiles every stored
   * version, and each new version is saved before it becomes visible.
   * @defaultValue none: schemas live in this registry's memory only
   */
  storage?: SchemaStorage;
  /**
   * The compatibility mode of a subject (base type) that has none of its own: set neither by
   * `SchemaRegistry.setCompatibility` nor recorded with a stored version.
   * @defaultValue `'BACKWARD'`
   */
  defaultCompatibility?: CompatibilityMode;
  /**
   * What `validate` does with a type that has no registered schema (including foreign types
   * such as `com.github.push`): `'reject'` throws `SchemaNotFoundError`, `'allow'` passes the
   * event through unvalidated and unchanged.
   * @defaultValue `'reject'`
   */
  unknownTypes?: UnknownTypesPolicy;
}

/** Options for `SchemaRegistry.register`. */
export interface RegisterOptions {
  /**
   * The subject's compatibility mode from this version on. This registration is checked
   * under it, and it is recorded with the version.
   * @defaultValue the subject's current mode (see `SchemaRegistry.getCompatibility`)
   */
  compatibility?: CompatibilityMode;
}

/** What `SchemaRegistry.register` did. */
export interface RegisterResult {
  base: string;
  version: number;
  type: string;
  /** The schema version id: `urn:eventfabric:schema:<base>:v<N>`. */
  id: string;
  /** False when the same schema was already registered under this version: nothing changed. */
  created: boolean;
}

/** Options for `SchemaRegistry.checkCompatibility`. */
export interface CheckCompatibilityOptions {
  /** @defaultValue the subject's current mode */
  compatibility?: CompatibilityMode;
}

/** The outcome of `SchemaRegistry.checkCompatibility`. */
export interface CheckCompatibilityResult {
  compatible: boolean;
  /** One entry per breaking change; empty when compatible. */
  changes: SchemaChange[];
  /** The mode the schema was checked under. */
  mode: CompatibilityMode;
  /** True when the version is not registered yet. */
  new: boolean;
}

/** The options with every default filled in. */
export interface ResolvedSchemaRegistryOptions {
  storage: SchemaStorage | undefined;
  defaultCompatibility: CompatibilityMode;
  unknownTypes: UnknownTypesPolicy;
}

const KNOWN_OPTIONS = new Set(['storage', 'defaultCompatibility', 'unknownTypes']);

/**
 * Check the options and fill in the defaults, the one place they live.
 * @throws InvalidArgumentError naming the bad option.
 */
export function resolveSchemaRegistryOptions(options: unknown): ResolvedSchemaRegistryOptions {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidArgumentError('schema registry options must be an object');
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) {
      throw new InvalidArgumentError(
        `unknown schema registry option "${key}"; known options are ${[...KNOWN_OPTIONS].join(', ')}`,
        { option: key },
      );
    }
  }
  const { storage, defaultCompatibility, unknownTypes } = options as SchemaRegistryOptions;
  if (storage !== undefined && !isSchemaStorage(storage)) {
    throw new InvalidArgumentError(
      'storage must implement SchemaStorage (loadSchemas() and saveSchema(record))',
    );
  }
  const mode = defaultCompatibility ?? DEFAULT_COMPATIBILITY;
  assertCompatibilityMode(mode, 'defaultCompatibility');
  const policy = unknownTypes ?? 'reject';
  if (policy !== 'reject' && policy !== 'allow') {
    throw new InvalidArgumentError(
      `unknownTypes must be "reject" or "allow"; got ${JSON.stringify(policy) ?? String(policy)}`,
      { unknownTypes: String(policy) },
    );
  }
  return { storage, defaultCompatibility: mode, unknownTypes: policy };
}

function isSchemaStorage(value: unknown): value is SchemaStorage {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<Record<keyof SchemaStorage, unknown>>;
  return typeof candidate.loadSchemas === 'function' && typeof candidate.saveSchema === 'function';
}
