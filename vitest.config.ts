import { defineConfig } from 'vitest/config';

export default defineConfig({
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
