import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from './embedded-postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Server URL (any database on it) that tests create their own databases from. */
    databaseServerUrl: string;
  }
}

/**
 * CI exports TEST_DATABASE_URL (a real PostgreSQL). A fresh laptop has none, so we start
 * embedded-postgres once for the whole run and share it between test files.
 */
export default async function setup(project: TestProject) {
  const given = process.env.TEST_DATABASE_URL;
  if (given) {
    project.provide('databaseServerUrl', given);
    return;
  }
  const server = await startEmbeddedPostgres();
  project.provide('databaseServerUrl', server.url);
  return () => server.stop();
}
