export { main } from './program.js';
export {
  CONFIG_FILE_NAME,
  CONFIG_FILE_NAMES,
  DEFAULT_SCHEMAS_DIR,
  DEFAULT_SERVICE,
  DEFAULT_STORE_URL,
  SERVICE_ENV,
  STORE_ENV,
  findConfigFile,
  loadConfig,
  loadConfigFile,
  parseStoreUrl,
  readConfigFile,
  resolveConfig,
  type ConfigFile,
  type ConfigSource,
  type LoadConfigFileOptions,
  type LoadedConfigFile,
  type ResolveConfigOptions,
  type ResolvedConfig,
  type StoreLocation,
} from './config.js';
export { ExitCode, type CliIo } from './output.js';
