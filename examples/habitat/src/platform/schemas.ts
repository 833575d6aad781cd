import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSchemaFiles, type SchemaRegistry } from '@eventfabric/core';
import { registerPeopleUpcasters, PEOPLE_VERSIONED } from '../people/upcasters.js';
import { registerAgreementsUpcasters, AGREEMENTS_VERSIONED } from '../agreements/upcasters.js';

/** `examples/habitat/schemas`: the same from `src/platform` and `dist/platform`. */
export const SCHEMAS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'schemas');

/**
 * Register every Habitat schema file and the upcasters. Types with a v2 change shape on
 * purpose (the upcaster bridges them), so their subjects use compatibility NONE.
 */
export async function loadHabitatSchemas(registry: SchemaRegistry): Promise<string[]> {
  for (const base of [...PEOPLE_VERSIONED, ...AGREEMENTS_VERSIONED]) {
    registry.setCompatibility(base, 'NONE');
  }
  const registered = await loadSchemaFiles(registry, SCHEMAS_DIR);
  registerPeopleUpcasters(registry);
  registerAgreementsUpcasters(registry);
  return registered;
}
