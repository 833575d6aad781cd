import { resolve } from 'node:path';
import type { Command } from 'commander';
import { FileApiKeyStore, type ApiKeyRecord } from '@eventfabric/server';
import { collect } from '../arguments.js';
import type { ActionRunner } from '../context.js';
import { UsageError } from '../output.js';
import { formatTable } from '../table.js';

/** Where API keys live when neither `--keys-file` nor the environment names a file. */
export const DEFAULT_KEYS_FILE = '.eventfabric/api-keys.json';
/** Environment variable naming the API key file. */
export const KEYS_FILE_ENV = 'EVENTFABRIC_KEYS_FILE';

/** The key file: `--keys-file`, then `EVENTFABRIC_KEYS_FILE`, then the default, from cwd. */
export function keysFilePath(option: string | undefined): string {
  const env = process.env[KEYS_FILE_ENV];
  return resolve(option ?? (env !== undefined && env !== '' ? env : DEFAULT_KEYS_FILE));
}

interface CreateOptions {
  tenant?: string;
  scope?: string[];
  name?: string;
  keysFile?: string;
}

export function registerKeysCommand(program: Command, run: ActionRunner): void {
  const keys = program
    .command('keys')
    .summary('create, list and revoke API keys')
    .description(
      "API keys for eventfabric serve: each belongs to one tenant and has scopes. Keys are kept hashed in the key file; a new key's secret is printed once",
    )
    .addHelpText(
      'after',
      `
Scopes: publish:<type-pattern>, read:<type-pattern> (patterns such as shop.*, an exact type,
or *) and admin (schemas registration, dead letters). The key file is --keys-file,
EVENTFABRIC_KEYS_FILE or ${DEFAULT_KEYS_FILE}. eventfabric serve requires keys once the
file holds a live one (restart it after the first key is created); revoking takes effect at
once.

Examples:
  $ eventfabric keys create --tenant acme --scope 'publish:shop.*' --scope 'read:*'
  $ eventfabric keys list
  $ eventfabric keys revoke 3f9a0c1d2e4b5a69`,
    );

  keys
    .command('create')
    .summary('create a key and print its secret once')
    .description('create an API key for a tenant with the given scopes; its secret is printed once')
    .requiredOption('--tenant <name>', 'the tenant the key acts as (lower-case, digits, _ or -)')
    .option('--scope <scope>', 'admin, publish:<pattern> or read:<pattern> (repeatable)', collect)
    .option('--name <name>', 'a label to recognise the key by')
    .option('--keys-file <file>', `the key file (default ${DEFAULT_KEYS_FILE})`)
    .action(
      run(async (ctx, command) => {
        const options = command.opts<CreateOptions>();
        if (options.scope === undefined || options.scope.length === 0) {
          throw new UsageError(
            'a key needs at least one --scope',
            'eventfabric keys create --help',
          );
        }
        const store = new FileApiKeyStore(keysFilePath(options.keysFile));
        const { record, secret } = await store.create({
          tenant: options.tenant!,
          scopes: options.scope,
          name: options.name,
        });
        ctx.out.result(
          [
            `created key ${record.id} for tenant ${record.tenant} (${record.scopes.join(' ')})`,
            secret,
            'This is the only time the key is shown: store it now.',
          ].join('\n'),
          { ...shown(record), key: secret },
        );
      }),
    );

  keys
    .command('list')
    .summary('list keys (never their secrets)')
    .description('list every key: id, tenant, scopes, name, created and revoked times')
    .option('--keys-file <file>', `the key file (default ${DEFAULT_KEYS_FILE})`)
    .action(
      run(async (ctx, command) => {
        const { keysFile } = command.opts<{ keysFile?: string }>();
        const records = await new FileApiKeyStore(keysFilePath(keysFile)).list();
        for (const record of records) ctx.out.data(shown(record));
        if (ctx.out.json) return;
        if (records.length === 0) {
          ctx.out.say('no API keys: eventfabric serve runs open, on loopback only');
          return;
        }
        const rows = [
          ['ID', 'TENANT', 'SCOPES', 'NAME', 'CREATED', 'REVOKED'],
          ...records.map((r) => [
            r.id,
            r.tenant,
            r.scopes.join(' '),
            r.name ?? '',
            r.createdAt,
            r.revokedAt ?? '',
          ]),
        ];
        for (const line of formatTable(rows)) ctx.out.say(line);
      }),
    );

  keys
    .command('revoke')
    .summary('revoke a key')
    .description('revoke a key by id: requests with it fail with UNAUTHENTICATED from then on')
    .argument('<id>', 'the key id, as keys list prints it')
    .option('--keys-file <file>', `the key file (default ${DEFAULT_KEYS_FILE})`)
    .action(
      run(async (ctx, command) => {
        const [id] = command.processedArgs as [string];
        const { keysFile } = command.opts<{ keysFile?: string }>();
        const record = await new FileApiKeyStore(keysFilePath(keysFile)).revoke(id);
        ctx.out.result(`revoked key ${record.id} of tenant ${record.tenant}`, shown(record));
      }),
    );
}

/** A key as printed: everything but its hash. */
function shown(record: ApiKeyRecord): Omit<ApiKeyRecord, 'hash'> {
  const { hash: _hash, ...rest } = record;
  return rest;
}
