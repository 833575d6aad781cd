import { statSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, resolve } from 'node:path';
import {
  InvalidConfigError,
  type AnySaga,
  type CompiledProjection,
  type EventHandler,
} from '@eventfabric/core';
import {
  findConfigFile,
  loadConfigFile,
  readJsonConfig,
  type LoadedConfigFile,
} from './config-file.js';
import type { IncomingSourceConfig } from '@eventfabric/webhooks';
import { isServiceName } from './handlers.js';

export {
  CONFIG_FILE_NAME,
  CONFIG_FILE_NAMES,
  findConfigFile,
  loadConfigFile,
  readConfigFile,
  type ConfigFile,
  type LoadConfigFileOptions,
  type LoadedConfigFile,
} from './config-file.js';

/** The store every command uses when nothing else names one. */
export const DEFAULT_STORE_URL = 'sqlite:.eventfabric/eventfabric.db';
/** The schema directory loaded when it exists and nothing else names one. */
export const DEFAULT_SCHEMAS_DIR = 'schemas';
/** The service handlers run in (their groups are `<service>.<handler>`) when none is named. */
export const DEFAULT_SERVICE = 'app';
/** Environment variable naming the store. */
export const STORE_ENV = 'EVENTFABRIC_STORE';
/** Environment variable naming the service. */
export const SERVICE_ENV = 'EVENTFABRIC_SERVICE';

/**
 * A parsed store URL: a SQLite file, or a PostgreSQL server and the schema holding the
 * store's tables (`?schema=name`, default `eventfabric`; the rest of the URL is passed to
 * the driver as is).
 */
export type StoreLocation =
  { kind: 'sqlite'; path: string } | { kind: 'postgres'; connectionString: string; schema: string };

/** The PostgreSQL schema used when a `postgres://` store URL names none. */
export const DEFAULT_POSTGRES_SCHEMA = 'eventfabric';

/** What `?schema=` accepts: the PostgreSQL store's rule for schema names. */
const POSTGRES_SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,47}$/;

/** Where a setting came from, for messages and `--json` diagnostics. */
export type ConfigSource = 'flag' | 'env' | 'config-file' | 'default';

/** What a command runs against, after flags, environment and config file are merged. */
export interface ResolvedConfig {
  storeUrl: string;
  store: StoreLocation;
  storeSource: ConfigSource;
  /** Absolute schema directory to load, or undefined when there is none. */
  schemasDir: string | undefined;
  service: string;
  serviceSource: ConfigSource;
  /** The config file's handlers; empty without one. */
  handlers: readonly EventHandler[];
  /** The config file's projections; empty without one. */
  projections: readonly CompiledProjection[];
  /** The config file's sagas; empty without one. */
  sagas: readonly AnySaga[];
  /** The config file's incoming webhook sources; empty without one. */
  hooks: Readonly<Record<string, IncomingSourceConfig>>;
  /** The absolute path of the config file used, if any. */
  configFile: string | undefined;
}

/** Inputs to {@link resolveConfig} and {@link loadConfig}. */
export interface ResolveConfigOptions {
  /** `--store`, when given. */
  store?: string;
  /** `--schemas`, when given. */
  schemas?: string;
  /** `--service`, when given. */
  service?: string;
  /** `--config`: the config file to load instead of looking in `cwd` ({@link loadConfig} only). */
  config?: string;
  /**
   * The config file, already loaded by {@link loadConfigFile}; `null` for none.
   * @defaultValue `eventfabric.config.json` read from `cwd` (a JavaScript config there is an
   *   error: it can only be loaded asynchronously, by {@link loadConfig})
   */
  file?: LoadedConfigFile | null;
  /** @defaultValue `process.env` */
  env?: NodeJS.ProcessEnv;
  /** @defaultValue `process.cwd()` */
  cwd?: string;
}

/**
 * Merge configuration, first match wins: flag, then environment, then the config file, then
 * the default. The store: `--store`, `EVENTFABRIC_STORE`, the file's `store`,
 * {@link DEFAULT_STORE_URL}. The service: `--service`, `EVENTFABRIC_SERVICE`, the file's
 * `service`, {@link DEFAULT_SERVICE}. The schema directory: `--schemas`, the file's
 * `schemas`, then `./schemas` when that exists.
 *
 * @throws InvalidConfigError for an unknown store URL, a malformed config file, a bad
 *   service name, or a named schema directory that does not exist
 */
export function resolveConfig(options: ResolveConfigOptions = {}): ResolvedConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const file = options.file === undefined ? readJsonConfigOnly(cwd) : (options.file ?? undefined);
  const fileDir = file === undefined ? cwd : dirname(file.path);

  const store = pick(options.store, env[STORE_ENV], file?.config.store, DEFAULT_STORE_URL);
  const service = pick(options.service, env[SERVICE_ENV], file?.config.service, DEFAULT_SERVICE);
  if (!isServiceName(service.value)) {
    throw new InvalidConfigError(
      `service "${service.value}" must be lower-case: a letter, then letters, digits, _ or -`,
      { service: service.value, source: service.source },
    );
  }
  return {
    storeUrl: store.value,
    store: parseStoreUrl(store.value, store.source === 'config-file' ? fileDir : cwd, store.source),
    storeSource: store.source,
    schemasDir: resolveSchemasDir(options.schemas, file?.config.schemas, cwd, fileDir),
    service: service.value,
    serviceSource: service.source,
    handlers: file?.config.handlers ?? [],
    projections: file?.config.projections ?? [],
    sagas: file?.config.sagas ?? [],
    hooks: file?.config.hooks ?? {},
    configFile: file?.path,
  };
}

/**
 * {@link resolveConfig} after loading the config file: `options.config`, or the one in
 * `cwd` (`eventfabric.config.mjs`, `.js` or `.json`).
 * @throws InvalidConfigError as {@link resolveConfig} and {@link loadConfigFile} do
 */
export async function loadConfig(options: ResolveConfigOptions = {}): Promise<ResolvedConfig> {
  const file = await loadConfigFile({ path: options.config, cwd: options.cwd });
  return resolveConfig({ ...options, file: file ?? null });
}

/**
 * Parse a store URL: `sqlite:<path>` (relative paths resolve against `cwd`),
 * `sqlite::memory:`, or `postgres://user@host:port/db[?schema=name]` (also `postgresql://`).
 * Nothing is opened or created here.
 * @throws InvalidConfigError for anything else, or a malformed PostgreSQL URL
 */
export function parseStoreUrl(
  url: string,
  cwd: string = process.cwd(),
  source: ConfigSource = 'flag',
): StoreLocation {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (path === '') {
      throw new InvalidConfigError('store URL "sqlite:" needs a path, e.g. sqlite:data/app.db', {
        store: url,
        source,
      });
    }
    if (path === ':memory:') return { kind: 'sqlite', path };
    return { kind: 'sqlite', path: isAbsolute(path) ? path : resolve(cwd, path) };
  }
  if (/^postgres(ql)?:\/\//i.test(url)) return parsePostgresUrl(url, source);
  throw new InvalidConfigError(
    `unknown store URL "${redactUrl(url)}"; expected sqlite:<path>, sqlite::memory: or ` +
      'postgres://user@host:port/database[?schema=name]',
    { store: redactUrl(url), source },
  );
}

/** `postgres://user[:password]@host[:port]/database[?schema=name&…]`, checked before any I/O. */
function parsePostgresUrl(url: string, source: ConfigSource): StoreLocation {
  const shown = redactUrl(url);
  const malformed = (why: string): InvalidConfigError =>
    new InvalidConfigError(
      `malformed PostgreSQL store URL "${shown}": ${why}; expected ` +
        'postgres://user@host:port/database[?schema=name]',
      { store: shown, source },
    );
  if (/\s/.test(url)) throw malformed('it contains white space');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw malformed('it is not a valid URL');
  }
  if (parsed.hostname === '') throw malformed('it names no host');
  if (parsed.pathname.replace(/^\//, '') === '' || parsed.pathname.slice(1).includes('/')) {
    throw malformed('it must name one database');
  }
  const schemas = parsed.searchParams.getAll('schema');
  if (schemas.length > 1) throw malformed('schema is given twice');
  const schema = schemas[0] ?? DEFAULT_POSTGRES_SCHEMA;
  if (!POSTGRES_SCHEMA_NAME.test(schema)) {
    throw malformed(
      `schema "${schema}" must be a lower-case identifier ([a-z_][a-z0-9_]*, at most 48 characters)`,
    );
  }
  parsed.searchParams.delete('schema');
  return { kind: 'postgres', connectionString: parsed.toString(), schema };
}

/** The synchronous default of {@link resolveConfig}: a JSON config only. */
function readJsonConfigOnly(cwd: string): LoadedConfigFile | undefined {
  const path = findConfigFile(cwd);
  if (path === undefined) return undefined;
  if (extname(path) !== '.json') {
    throw new InvalidConfigError(
      `${basename(path)} is a JavaScript config: load it with loadConfig() or loadConfigFile()`,
      { file: path },
    );
  }
  return { path, config: readJsonConfig(path, basename(path)) };
}

/** The first value that is set, and where it came from. An empty variable counts as unset. */
function pick(
  flag: string | undefined,
  env: string | undefined,
  file: string | undefined,
  fallback: string,
): { value: string; source: ConfigSource } {
  if (flag !== undefined) return { value: flag, source: 'flag' };
  if (env !== undefined && env !== '') return { value: env, source: 'env' };
  if (file !== undefined) return { value: file, source: 'config-file' };
  return { value: fallback, source: 'default' };
}

function resolveSchemasDir(
  flag: string | undefined,
  fromFile: string | undefined,
  cwd: string,
  fileDir: string,
): string | undefined {
  if (flag === undefined && fromFile === undefined) {
    const fallback = resolve(cwd, DEFAULT_SCHEMAS_DIR);
    return isDirectory(fallback) ? fallback : undefined;
  }
  const named = (flag ?? fromFile)!;
  const dir = flag === undefined ? resolve(fileDir, named) : resolve(cwd, named);
  if (!isDirectory(dir)) {
    throw new InvalidConfigError(`schema directory ${named} does not exist`, {
      schemas: named,
      source: flag === undefined ? 'config-file' : 'flag',
    });
  }
  return dir;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Hide a password in a URL before it reaches a message or a log. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
}
