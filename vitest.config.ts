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
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['reflect-metadata'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Fail loudly on focused tests in CI (no `.only` may land).
    allowOnly: false,
    reporters: ['default'],
    // The whole suite on both TypeORM lines the peer range covers (docs/typeorm.md): 0.3.20, the version
    // Twenty pins (devDependency `typeorm`), and the newest 1.x (devDependency `typeorm-1`, aliased to
    // `typeorm`). `vitest run --project typeorm-1` runs one line.
    projects: [
      { extends: true, test: { name: 'typeorm-0.3', include: ['test/**/*.test.ts'] } },
      {
        extends: true,
        resolve: {
          alias: [
            { find: /^typeorm$/, replacement: 'typeorm-1' },
            { find: /^typeorm\/(.*)$/, replacement: 'typeorm-1/$1' },
          ],
        },
        test: {
          name: 'typeorm-1',
          include: ['test/**/*.test.ts'],
          // Child processes run by tsx (examples, crash tests) resolve `typeorm` to 1.x too.
          env: { TSX_TSCONFIG_PATH: 'tsconfig.typeorm1.json', TYPEORM_LINE: '1' },
        },
      },
    ],
  },
});
