import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { InvalidArgumentError, InvalidSchemaError } from '../errors/index.js';
import { parseEventType } from '../envelope/index.js';
import { isJsonObject } from './json-value.js';

/** A schema file read from disk: `<dir>/<context>/<entity>.<verb>.v<N>.json`. */
export interface SchemaFile {
  /** The file's path: `dir` joined with its place under it. */
  file: string;
  /** The event type the file holds the `data` schema of, e.g. `treasury.contribution.approved.v2`. */
  type: string;
  base: string;
  version: number;
  schema: Record<string, unknown>;
}

/**
 * Read every `*.json` file under `dir`, the schemas directory, sorted by base type, then
 * version: the order they must be registered in. Other files are ignored.
 *
 * @throws InvalidArgumentError when `dir` is not a readable directory
 * @throws InvalidSchemaError naming the file, for a file that is not a JSON object or whose
 *   path does not follow `<context>/<entity>.<verb>.v<N>.json`
 */
export async function readSchemaFiles(dir: string): Promise<SchemaFile[]> {
  if (typeof dir !== 'string' || dir.length === 0) {
    throw new InvalidArgumentError('the schema directory must be a non-empty path');
  }
  const paths = await listJsonFiles(dir, dir);
  const files = await Promise.all(paths.map((path) => readSchemaFile(dir, path)));
  return files.sort((a, b) =>
    a.base === b.base ? a.version - b.version : a.base < b.base ? -1 : 1,
  );
}

async function listJsonFiles(root: string, dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if (dir !== root) throw error;
    throw new InvalidArgumentError(
      `cannot read the schema directory ${dir}: ${(error as Error).message}`,
      { dir },
      { cause: error },
    );
  }
  const found: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await listJsonFiles(root, path)));
    else if (entry.isFile() && entry.name.endsWith('.json')) found.push(path);
  }
  return found;
}

async function readSchemaFile(root: string, file: string): Promise<SchemaFile> {
  const segments = relative(root, file).split(sep);
  const name =
    segments.length === 2
      ? parseEventType(`${segments[0]}.${segments[1]!.slice(0, -5)}`)
      : undefined;
  if (name === undefined || name.context !== segments[0]) {
    throw new InvalidSchemaError(
      `${file}: a schema file must be at <context>/<entity>.<verb>.v<N>.json under the schema directory (lower-case)`,
      { file },
    );
  }
  let schema: unknown;
  try {
    schema = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new InvalidSchemaError(
      `${file}: not valid JSON: ${(error as Error).message}`,
      { file },
      { cause: error },
    );
  }
  if (!isJsonObject(schema)) {
    throw new InvalidSchemaError(`${file}: a data schema must be a JSON object`, { file });
  }
  const type = `${name.base}.v${name.version}`;
  return { file, type, base: name.base, version: name.version, schema };
}
