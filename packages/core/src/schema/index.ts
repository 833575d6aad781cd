export * from './event-schemas.js';
export {
  readerCanRead,
  type JsonSchema,
  type ReaderAge,
  type SchemaDifference,
} from './compatibility.js';
export * from './compatibility-mode.js';
export { SCHEMA_ID_PREFIX, parseSchemaId, schemaIdOf } from './schema-id.js';
export type { SchemaRecord } from './schema-record.js';
export * from './schema-registry.js';
export type {
  CheckCompatibilityOptions,
  CheckCompatibilityResult,
  RegisterOptions,
  RegisterResult,
  SchemaRegistryOptions,
  UnknownTypesPolicy,
} from './schema-registry-options.js';
export type { Upcaster } from './upcasters.js';
export { readSchemaFiles, type SchemaFile } from './schema-files.js';
export { checkSchemaFiles, loadSchemaFiles, type SchemaFileCheck } from './load-schema-files.js';
