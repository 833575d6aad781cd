export { main } from './program.js';
export {
  CONFIG_FILE_NAME,
  DEFAULT_SCHEMAS_DIR,
  DEFAULT_STORE_URL,
  STORE_ENV,
  parseStoreUrl,
  readConfigFile,
  resolveConfig,
  type ConfigFile,
  type ConfigSource,
  type ResolveConfigOptions,
  type ResolvedConfig,
  type StoreLocation,
} from './config.js';
export { ExitCode, type CliIo } from './output.js';
