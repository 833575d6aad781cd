import { existsSync, readFileSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  defineProjection,
  defineSaga,
  InvalidConfigError,
  isEventFabricError,
  type AnySaga,
  type CompiledProjection,
  type EventHandler,
  type ProjectionDefinition,
  type SagaDefinition,
} from '@eventfabric/core';
import type { IncomingSourceConfig } from '@eventfabric/webhooks';
import { isServiceName, validateHandlers } from './handlers.js';

// Finding and loading the config file: eventfabric.config.mjs / .js (an ES module whose default
// export is the configuration, handlers included) or eventfabric.config.json.

/** The JSON config file `init` writes. It cannot hold handlers. */
export const CONFIG_FILE_NAME = 'eventfabric.config.json';
/** Config files looked up in the working directory. At most one of them may exist. */
export const CONFIG_FILE_NAMES = [
  'eventfabric.config.mjs',
  'eventfabric.config.js',
  CONFIG_FILE_NAME,
] as const;
/** Node 20 cannot import these without a loader: they must be compiled to `.mjs` first. */
const TYPESCRIPT_CONFIG_NAMES = [
  'eventfabric.config.ts',
  'eventfabric.config.mts',
  'eventfabric.config.cts',
];
const JSON_FIELDS = ['store', 'schemas'];
const MODULE_FIELDS = ['store', 'schemas', 'service', 'handlers', 'projections', 'sagas', 'hooks'];

/**
 * The project configuration: the default export of `eventfabric.config.mjs` (or `.js`), or
 * the contents of `eventfabric.config.json` (`store` and `schemas` only).
 */
export interface ConfigFile {
  /** A store URL, as for `--store`. A relative path is relative to the config file. */
  store?: string;
  /** The schema directory, relative to the config file's directory. */
  schemas?: string;
  /** The service the handlers belong to. @defaultValue {@link DEFAULT_SERVICE} */
  service?: string;
  /** The handlers `dlq retry` and `replay` run. */
  handlers?: EventHandler[];
  /** The projections `projections` builds, keeps and verifies (`defineProjection` results or definitions). */
  projections?: CompiledProjection[];
  /** The sagas `sagas run` runs (`defineSaga` results or definitions). */
  sagas?: AnySaga[];
  /** Incoming webhook sources `serve` verifies at `POST /v1/hooks/<name>`, by name. */
  hooks?: Record<string, IncomingSourceConfig>;
}

/** A config file, found and loaded. */
export interface LoadedConfigFile {
  /** Its absolute path. */
  path: string;
  config: ConfigFile;
}

/** Inputs to {@link loadConfigFile}. */
export interface LoadConfigFileOptions {
  /** A config file to load (`--config`), relative to `cwd`. @defaultValue look in `cwd` */
  path?: string;
  /** @defaultValue `process.cwd()` */
  cwd?: string;
}

/**
 * Find and load the config file: `path` when given, else the one of
 * {@link CONFIG_FILE_NAMES} in `cwd`. A JavaScript config is imported (once per process)
 * and its default export validated, handlers included.
 *
 * @returns undefined when no path is given and `cwd` holds no config file
 * @throws InvalidConfigError when the file is missing, ambiguous, TypeScript, cannot be
 *   imported or parsed, or holds something other than a valid configuration
 */
export async function loadConfigFile(
  options: LoadConfigFileOptions = {},
): Promise<LoadedConfigFile | undefined> {
  const cwd = options.cwd ?? process.cwd();
  if (options.path !== undefined) {
    const path = resolve(cwd, options.path);
    if (!existsSync(path)) {
      throw new InvalidConfigError(`config file ${options.path} does not exist`, {
        file: path,
        source: 'flag',
      });
    }
    return { path, config: await loadFile(path, options.path) };
  }
  const path = findConfigFile(cwd);
  if (path === undefined) return undefined;
  return { path, config: await loadFile(path, basename(path)) };
}

/**
 * The config file in `cwd`, or undefined.
 * @throws InvalidConfigError when several exist, or only a TypeScript one
 */
export function findConfigFile(cwd: string = process.cwd()): string | undefined {
  const found = CONFIG_FILE_NAMES.filter((name) => existsSync(resolve(cwd, name)));
  if (found.length > 1) {
    throw new InvalidConfigError(
      `found ${found.join(' and ')}: keep one config file (${found[0]} can hold store and ` +
        'schemas too)',
      { files: found },
    );
  }
  if (found.length === 1) return resolve(cwd, found[0]!);
  const typescript = TYPESCRIPT_CONFIG_NAMES.find((name) => existsSync(resolve(cwd, name)));
  if (typescript !== undefined) throw typescriptConfigError(resolve(cwd, typescript), typescript);
  return undefined;
}

/** Read `eventfabric.config.json` from `cwd`, or undefined when there is none. */
export function readConfigFile(cwd: string = process.cwd()): ConfigFile | undefined {
  const path = resolve(cwd, CONFIG_FILE_NAME);
  if (!existsSync(path)) return undefined;
  return readJsonConfig(path, CONFIG_FILE_NAME);
}

async function loadFile(path: string, label: string): Promise<ConfigFile> {
  const extension = extname(path);
  if (extension === '.json') return readJsonConfig(path, label);
  if (extension === '.mjs' || extension === '.js') return importConfigModule(path, label);
  if (['.ts', '.mts', '.cts'].includes(extension)) throw typescriptConfigError(path, label);
  throw new InvalidConfigError(`config file ${label}: expected a .mjs, .js or .json file`, {
    file: path,
  });
}

export function readJsonConfig(path: string, label: string): ConfigFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new InvalidConfigError(
      `${label} is not valid JSON: ${(error as Error).message}`,
      { file: path },
      { cause: error },
    );
  }
  if (!isPlainObject(parsed)) {
    throw new InvalidConfigError(`${label} must hold a JSON object`, { file: path });
  }
  for (const [key, value] of Object.entries(parsed)) {
    if (!JSON_FIELDS.includes(key)) {
      const hint = MODULE_FIELDS.includes(key)
        ? `; "${key}" needs a JavaScript config: rename the file to eventfabric.config.mjs ` +
          'and export the object as default'
        : '';
      throw new InvalidConfigError(
        `${label}: unknown field "${key}" (known: ${JSON_FIELDS.join(', ')})${hint}`,
        { file: path, field: key },
      );
    }
    assertNonEmptyString(value, key, label, path);
  }
  return parsed as ConfigFile;
}

async function importConfigModule(path: string, label: string): Promise<ConfigFile> {
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    const err = error instanceof Error ? error : new Error(String(error));
    // V8 keeps a syntax error's line out of the message and the stack; node --check shows it.
    const hint = err.name === 'SyntaxError' ? ` (node --check ${label} shows where)` : '';
    throw new InvalidConfigError(
      `${label} cannot be loaded: ${err.name}: ${err.message}${hint}`,
      { file: path },
      { cause: error },
    );
  }
  const config = module.default;
  if (config === undefined) {
    throw new InvalidConfigError(
      `${label} has no default export; write export default { store, schemas, service, handlers, projections, sagas, hooks }`,
      { file: path },
    );
  }
  if (!isPlainObject(config)) {
    throw new InvalidConfigError(`${label}: the default export must be an object`, {
      file: path,
    });
  }
  for (const [key, value] of Object.entries(config)) {
    if (!MODULE_FIELDS.includes(key)) {
      throw new InvalidConfigError(
        `${label}: unknown field "${key}" (known: ${MODULE_FIELDS.join(', ')})`,
        { file: path, field: key },
      );
    }
    if (!['handlers', 'projections', 'sagas', 'hooks'].includes(key) && value !== undefined)
      assertNonEmptyString(value, key, label, path);
  }
  const { store, schemas, service, handlers, projections, sagas, hooks } = config as Record<
    string,
    unknown
  >;
  if (
    hooks !== undefined &&
    (typeof hooks !== 'object' || hooks === null || Array.isArray(hooks))
  ) {
    throw new InvalidConfigError(
      `${label}: "hooks" must be an object of incoming webhook sources by name`,
      { file: path, field: 'hooks' },
    );
  }
  if (typeof service === 'string' && !isServiceName(service)) {
    throw new InvalidConfigError(
      `${label}: service "${service}" must be lower-case: a letter, then letters, digits, _ or -`,
      { file: path, field: 'service' },
    );
  }
  return {
    ...(store === undefined ? {} : { store: store as string }),
    ...(schemas === undefined ? {} : { schemas: schemas as string }),
    ...(service === undefined ? {} : { service: service as string }),
    ...(handlers === undefined ? {} : { handlers: validateHandlers(handlers, label, path) }),
    ...(projections === undefined
      ? {}
      : { projections: validateProjections(projections, label, path) }),
    ...(sagas === undefined ? {} : { sagas: validateSagas(sagas, label, path) }),
    ...(hooks === undefined ? {} : { hooks: hooks as Record<string, IncomingSourceConfig> }),
  };
}

/** Each saga compiled by `defineSaga`; names unique. */
function validateSagas(value: unknown, label: string, file: string): AnySaga[] {
  if (!Array.isArray(value)) {
    throw new InvalidConfigError(`${label}: "sagas" must be an array of sagas`, { file });
  }
  const names = new Set<string>();
  return value.map((definition: unknown, index) => {
    let compiled: AnySaga;
    try {
      compiled = defineSaga(definition as SagaDefinition<unknown>);
    } catch (error) {
      if (!isEventFabricError(error)) throw error;
      throw new InvalidConfigError(
        `${label}: sagas[${index}]: ${error.message}`,
        { file, saga: `sagas[${index}]` },
        { cause: error },
      );
    }
    if (names.has(compiled.name)) {
      throw new InvalidConfigError(`${label}: saga name "${compiled.name}" is used twice`, {
        file,
        saga: compiled.name,
      });
    }
    names.add(compiled.name);
    return compiled;
  });
}

/** Each projection compiled by `defineProjection`; names unique. */
function validateProjections(value: unknown, label: string, file: string): CompiledProjection[] {
  if (!Array.isArray(value)) {
    throw new InvalidConfigError(`${label}: "projections" must be an array of projections`, {
      file,
    });
  }
  const names = new Set<string>();
  return value.map((definition: unknown, index) => {
    let compiled: CompiledProjection;
    try {
      compiled = defineProjection(definition as ProjectionDefinition);
    } catch (error) {
      if (!isEventFabricError(error)) throw error;
      throw new InvalidConfigError(
        `${label}: projections[${index}]: ${error.message}`,
        { file, projection: `projections[${index}]` },
        { cause: error },
      );
    }
    if (names.has(compiled.name)) {
      throw new InvalidConfigError(`${label}: projection name "${compiled.name}" is used twice`, {
        file,
        projection: compiled.name,
      });
    }
    names.add(compiled.name);
    return compiled;
  });
}

function typescriptConfigError(path: string, label: string): InvalidConfigError {
  return new InvalidConfigError(
    `${label}: Node.js 20 cannot import TypeScript without a loader; compile it to ` +
      '.mjs first, e.g. npx tsc eventfabric.config.mts --module nodenext --target es2022 ' +
      '--skipLibCheck',
    { file: path },
  );
}

function assertNonEmptyString(value: unknown, key: string, label: string, path: string): void {
  if (typeof value !== 'string' || value === '') {
    throw new InvalidConfigError(`${label}: "${key}" must be a non-empty string`, {
      file: path,
      field: key,
    });
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
