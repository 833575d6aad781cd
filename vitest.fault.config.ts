import { configDefaults, defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// The fault tier: tests that stop and restart shared services (PostgreSQL), so they run one
// file at a time and never beside the normal suite (which excludes them).
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['packages/*/test/**/*.fault.test.ts', 'examples/*/test/**/*.fault.test.ts'],
    exclude: [...configDefaults.exclude],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
