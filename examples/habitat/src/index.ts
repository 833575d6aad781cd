// Habitat: the reference application. People, Agreements and Treasury, coordinating only
// through events. See examples/habitat/README.md.
export { startHabitat, CONTEXTS, type Habitat, type HabitatOptions } from './app.js';
export {
  openEmbeddedBackend,
  openPostgresBackend,
  type Backend,
  type EmbeddedBackendOptions,
  type PostgresBackendOptions,
} from './platform/backend.js';
export { EventPublisher, type UnitOfWork, type Published } from './platform/event-publisher.js';
export type { Faults, AllocationStepName, BoundedContext, Observer } from './platform/context.js';
export { allocatePatronage, type MemberAllocation } from './treasury/allocation.js';
export { SCHEMAS_DIR, loadHabitatSchemas } from './platform/schemas.js';
export { auditAllocation, formatAudit, type AllocationAudit } from './treasury/audit.js';
export { renderCatalog, CATALOG_PATH } from './catalog/render.js';
export { startDemo, banner, type StartOptions, type RunningDemo } from './cli/start.js';
export { seedDemo } from './cli/seed.js';
