import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { InvalidConfigError } from '@eventfabric/core';

/** The store every command uses when nothing else names one. */
export const DEFAULT_STORE_URL = 'sqlite:.eventfabric/eventfabric.db';
/** The project config file, looked up in the working directory. */
export const CONFIG_FILE_NAME = 'eventfabric.config.json';
/** The schema directory loaded when it exists and nothing else names one. */
export const DEFAULT_SCHEMAS_DIR = 'schemas';
/** Environment variable naming the store. */
export const STORE_ENV = 'EVENTFABRIC_STORE';

/** A parsed store URL. Only the embedded SQLite store exists in this build. */
export type StoreLocation = { kind: 'sqlite'; path: string };

/** Where a setting came from, for messages and `--json` diagnostics. */
export type ConfigSource = 'flag' | 'env' | 'config-file' | 'default';

/** The contents of `eventfabric.config.json`. */
export interface ConfigFile {
  /** A store URL, as for `--store`. */
  store?: string;
  /** The schema directory, relative to the config file's directory. */
  schemas?: string;
}

/** What a command runs against, after flags, environment and config file are merged. */
export interface ResolvedConfig {
  storeUrl: string;
  store: StoreLocation;
  storeSource: ConfigSource;
  /** Absolute schema directory to load, or undefined when there is none. */
  schemasDir: string | undefined;
}

/** Inputs to {@link resolveConfig}. */
export interface ResolveConfigOptions {
  /** `--store`, when given. */
  store?: string;
  /** `--schemas`, when given. */
  schemas?: string;
  /** @defaultValue `process.env` */
  env?: NodeJS.ProcessEnv;
  /** @defaultValue `process.cwd()` */
  cwd?: string;
}

/**
 * Merge configuration, first match wins: `--store` flag, then `EVENTFABRIC_STORE`, then
 * `eventfabric.config.json` in `cwd`, then {@link DEFAULT_STORE_URL}. The schema directory
 * comes from `--schemas`, then the config file, then `./schemas` when that exists.
 *
 * @throws InvalidConfigError for an unknown store URL, a malformed config file, or a named
 *   schema directory that does not exist
 */
export function resolveConfig(options: ResolveConfigOptions = {}): ResolvedConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const file = readConfigFile(cwd);

  let storeUrl = DEFAULT_STORE_URL;
  let storeSource: ConfigSource = 'default';
  const fromEnv = env[STORE_ENV];
  if (options.store !== undefined) {
    storeUrl = options.store;
    storeSource = 'flag';
  } else if (fromEnv !== undefined && fromEnv !== '') {
    storeUrl = fromEnv;
    storeSource = 'env';
  } else if (file?.store !== undefined) {
    storeUrl = file.store;
    storeSource = 'config-file';
  }

  return {
    storeUrl,
    store: parseStoreUrl(storeUrl, cwd, storeSource),
    storeSource,
    schemasDir: resolveSchemasDir(options.schemas, file?.schemas, cwd),
  };
}

/**
 * Parse a store URL: `sqlite:<path>` (relative paths resolve against `cwd`) or
 * `sqlite::memory:`.
 * @throws InvalidConfigError for anything else
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
  if (/^postgres(ql)?:\/\//.test(url)) {
    throw new InvalidConfigError(
      `store "${redactUrl(url)}": PostgreSQL stores are not available yet in this build; use sqlite:<path>`,
      { store: redactUrl(url), source },
    );
  }
  throw new InvalidConfigError(
    `unknown store URL "${redactUrl(url)}"; expected sqlite:<path> or sqlite::memory:`,
    { store: redactUrl(url), source },
  );
}

/** Read `eventfabric.config.json` from `cwd`, or undefined when there is none. */
export function readConfigFile(cwd: string = process.cwd()): ConfigFile | undefined {
  const path = resolve(cwd, CONFIG_FILE_NAME);
  if (!existsSync(path)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new InvalidConfigError(
      `${CONFIG_FILE_NAME} is not valid JSON: ${(error as Error).message}`,
      { file: path },
      { cause: error },
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InvalidConfigError(`${CONFIG_FILE_NAME} must hold a JSON object`, { file: path });
  }
  const config = parsed as Record<string, unknown>;
  for (const [key, value] of Object.entries(config)) {
    if (key !== 'store' && key !== 'schemas') {
      throw new InvalidConfigError(
        `${CONFIG_FILE_NAME}: unknown field "${key}" (known: store, schemas)`,
        { file: path, field: key },
      );
    }
    if (typeof value !== 'string' || value === '') {
      throw new InvalidConfigError(`${CONFIG_FILE_NAME}: "${key}" must be a non-empty string`, {
        file: path,
        field: key,
      });
    }
  }
  return config as ConfigFile;
}

function resolveSchemasDir(
  flag: string | undefined,
  fromFile: string | undefined,
  cwd: string,
): string | undefined {
  const named = flag ?? fromFile;
  if (named === undefined) {
    const fallback = resolve(cwd, DEFAULT_SCHEMAS_DIR);
    return isDirectory(fallback) ? fallback : undefined;
  }
  const dir = resolve(cwd, named);
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
function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
}
