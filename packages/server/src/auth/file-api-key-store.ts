import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { InvalidArgumentError, InvalidConfigError } from '@eventfabric/core';
import {
  matchSecret,
  newApiKey,
  type ApiKeyRecord,
  type ApiKeyStore,
  type CreatedApiKey,
} from './api-keys.js';

/**
 * API keys in one JSON file (mode 0600), written whole and renamed into place, so a reader
 * never sees half a file. The server re-reads it when its modification time changes, so keys
 * created or revoked by `eventfabric keys` apply without a restart.
 */
export class FileApiKeyStore implements ApiKeyStore {
  private cache: { mtimeMs: number; records: ApiKeyRecord[] } | undefined;

  constructor(readonly path: string) {}

  async list(): Promise<ApiKeyRecord[]> {
    return this.read().map((r) => ({ ...r, scopes: [...r.scopes] }));
  }

  async find(secret: string): Promise<ApiKeyRecord | undefined> {
    return matchSecret(this.read(), secret);
  }

  /** True when the file holds at least one key that is not revoked. */
  async hasLiveKeys(): Promise<boolean> {
    return this.read().some((r) => r.revokedAt === undefined);
  }

  /** Create a key; the secret is returned once and not kept. */
  async create(options: {
    tenant: string;
    scopes: readonly string[];
    name?: string;
  }): Promise<CreatedApiKey> {
    const created = newApiKey(options);
    this.write([...this.read(), created.record]);
    return created;
  }

  /**
   * Revoke a key by id: it stops working at once (at the server's next request).
   * @throws InvalidArgumentError for an unknown id
   */
  async revoke(id: string): Promise<ApiKeyRecord> {
    const records = this.read();
    const record = records.find((r) => r.id === id);
    if (record === undefined) throw new InvalidArgumentError(`no API key ${id}`, { id });
    record.revokedAt ??= new Date().toISOString();
    this.write(records);
    return record;
  }

  private read(): ApiKeyRecord[] {
    let mtimeMs: number;
    try {
      mtimeMs = statSync(this.path).mtimeMs;
    } catch {
      return [];
    }
    if (this.cache?.mtimeMs === mtimeMs) return this.cache.records;
    let records: ApiKeyRecord[];
    try {
      const parsed = JSON.parse(readFileSync(this.path, 'utf8')) as { keys?: unknown };
      if (!Array.isArray(parsed.keys)) throw new Error('it has no "keys" array');
      records = parsed.keys as ApiKeyRecord[];
    } catch (error) {
      throw new InvalidConfigError(
        `API key file ${this.path} is unreadable: ${(error as Error).message}`,
        { file: this.path },
        { cause: error },
      );
    }
    this.cache = { mtimeMs, records };
    return records;
  }

  private write(records: ApiKeyRecord[]): void {
    mkdirSync(dirname(this.path), { recursive: true });
    const temporary = `${this.path}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify({ keys: records }, null, 2)}\n`, { mode: 0o600 });
    renameSync(temporary, this.path);
    this.cache = undefined;
  }
}
