import pg from 'pg';
import { createEmulator, type Emulator } from 'typeorm-sharepoint/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureBuilt } from '../support/build.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { waitFor } from '../support/wait.js';
import { FIXTURE, runCli } from './run.js';

const SITE = 'contoso.sharepoint.com:/sites/migration';
const ROWS = 20_000;

let bin: string;
let db: TestDatabase;
let emulator: Emulator;
let env: Record<string, string>;
let client: pg.Client;

beforeAll(async () => {
  bin = await ensureBuilt();
  db = await createTestDatabase();
  emulator = createEmulator({ sites: [SITE] });
  const { url } = await emulator.listen();
  env = {
    CLI_DATABASE_URL: db.url,
    SHAREPOINT_SITE_HOSTNAME: 'contoso.sharepoint.com',
    SHAREPOINT_SITE_PATH: '/sites/migration',
    SHAREPOINT_GRAPH_BASE_URL: `${url}/v1.0`,
    // The emulator has no tenant budget; the default 1,200 RU/min would pace 20,000 creates over 33 minutes.
    SHAREPOINT_GRAPH_RU_PER_MINUTE: '100000000',
  };
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
}, 300_000);

afterAll(async () => {
  await client?.end();
  await emulator?.close();
  await db?.drop();
});

it(`migrates ${ROWS} existing rows, survives SIGKILL halfway, and the re-run ends with zero drift and zero duplicates`, async () => {
  // An existing application: tables and rows exist before the library ever ran.
  const boot = await runCli(bin, ['--datasource', FIXTURE, 'bootstrap'], env);
  expect(boot.code, boot.stderr).toBe(0);
  await client.query(`
    ALTER TABLE cli_company DISABLE TRIGGER USER;
    INSERT INTO cli_company (id, name, employees)
      SELECT gen_random_uuid(), 'Company ' || g, g FROM generate_series(1, ${ROWS}) g;
    ALTER TABLE cli_company ENABLE TRIGGER USER;`);
  const list = () => emulator.site(SITE).list('Cli Companies')!;

  const first = runCli(bin, ['--datasource', FIXTURE, 'migrate'], env, (child) => {
    void waitFor(() => list().items().length >= ROWS / 2, { timeoutMs: 240_000, intervalMs: 50 }).then(
      () => child.kill('SIGKILL'),
      () => child.kill('SIGKILL'),
    );
  });
  const killed = await first;
  expect(killed.signal).toBe('SIGKILL');
  const atKill = list().items().length;
  expect(atKill).toBeGreaterThanOrEqual(ROWS / 2);
  expect(atKill).toBeLessThan(ROWS);

  const second = await runCli(bin, ['--datasource', FIXTURE, 'migrate', '--json'], env);
  expect(second.code, second.stderr).toBe(0);
  const report = JSON.parse(second.stdout);
  expect(report.verify.ok).toBe(true);
  const company = report.lists.find((l: { entity: string }) => l.entity === 'CliCompany');
  expect(company.rows).toBe(ROWS);
  // The interrupted run's work is kept: the re-run queues only what SharePoint did not confirm.
  expect(company.alreadyInSharePoint).toBeGreaterThan(0);

  const items = list().items();
  expect(items).toHaveLength(ROWS);
  const ids = new Set(items.map((i) => i.fields.TwentyId));
  expect(ids.size).toBe(ROWS);
  const { rows } = await client.query(`SELECT id::text FROM cli_company`);
  expect(rows.every((r: { id: string }) => ids.has(r.id))).toBe(true);
  const verify = await runCli(bin, ['--datasource', FIXTURE, 'verify'], env);
  expect(verify.code, verify.stdout).toBe(0);
}, 600_000);
