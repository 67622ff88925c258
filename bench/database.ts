import pg from 'pg';
import { startEmbeddedPostgres } from '../src/testing/postgres.js';

/**
 * A database of the benchmark's own: created on the server of TEST_DATABASE_URL and dropped at the end (the
 * server's other databases are left alone), or an embedded PostgreSQL when no server is given.
 */
export async function benchDatabase(label: string): Promise<{ url: string; stop(): Promise<void> }> {
  const given = process.env.TEST_DATABASE_URL;
  if (!given) return startEmbeddedPostgres();
  const name = `tsp_bench_${label}_${process.pid}`;
  const admin = async (statement: string) => {
    const client = new pg.Client({ connectionString: given });
    await client.connect();
    await client.query(statement).finally(() => client.end());
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(given);
  url.pathname = `/${name}`;
  return { url: url.toString(), stop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}
