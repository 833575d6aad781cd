import { configDefaults, defineConfig } from 'vitest/config';

const conditions = ['@eventfabric/source', 'module', 'node', 'development|production'];

// Tests run against each package's TypeScript source through the `@eventfabric/source`
// export condition, so one copy of every class exists in a test run (instanceof holds
// across packages). Child processes spawned by tests use the built `dist/` instead.
export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    include: [
      'packages/*/test/**/*.test.ts',
      'examples/*/test/**/*.test.ts',
      'docs/examples/**/*.test.ts',
    ],
    // Fault tests stop shared services: they run alone, in `vitest.fault.config.ts`.
    exclude: [...configDefaults.exclude, '**/*.fault.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
