import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: {
    // Examples and tests import the package by name, as users do; it resolves to the source here.
    alias: [
      { find: /^typeorm-sharepoint\/testing$/, replacement: source('./src/testing/index.ts') },
      { find: /^typeorm-sharepoint\/twenty$/, replacement: source('./src/twenty/index.ts') },
      { find: /^typeorm-sharepoint$/, replacement: source('./src/index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['reflect-metadata'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Fail loudly on focused tests in CI (no `.only` may land).
    allowOnly: false,
    reporters: ['default'],
  },
});
