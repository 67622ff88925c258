import path from 'node:path';
import pg from 'pg';
import { createEmulator, type Emulator } from 'typeorm-sharepoint/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from '../cli/run.js';
import { ensureBuilt } from '../support/build.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const FIXTURE = path.resolve(import.meta.dirname, 'fixtures/workspaces.ts');
const ACME = 'contoso.sharepoint.com:/sites/Twenty-acme';
const GLOBEX = 'contoso.sharepoint.com:/sites/Twenty-globex';

let bin: string;
let db: TestDatabase;
let emulator: Emulator;
let env: Record<string, string>;

const cli = (...args: string[]) => runCli(bin, ['--datasource', FIXTURE, ...args], env);

beforeAll(async () => {
  bin = await ensureBuilt();
  db = await createTestDatabase();
  emulator = createEmulator({ sites: [ACME, GLOBEX] });
  const { url } = await emulator.listen();
  env = { WS_DATABASE_URL: db.url, WS_GRAPH_URL: `${url}/v1.0` };
}, 300_000);

afterAll(async () => {
  await emulator?.close();
  await db?.drop();
});

it('--workspace runs a command against that workspace only', async () => {
  const bootstrap = await cli('--workspace', 'acme', 'bootstrap');
  expect(bootstrap.code, bootstrap.stderr).toBe(0);
  expect(
    emulator
      .site(ACME)
      .lists()
      .map((l) => l.displayName),
  ).toEqual(['Ws Companies']);
  expect(emulator.site(GLOBEX).lists()).toEqual([]);

  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    await client.query(`INSERT INTO workspace_acme.ws_company (id, name) VALUES (gen_random_uuid(), 'Acme')`);
  } finally {
    await client.end();
  }
  // status neither sends nor flushes: the change is still pending afterwards.
  const status = await cli('--json', '--workspace', 'acme', 'status');
  expect(status.code, status.stderr).toBe(0);
  const parsed = JSON.parse(status.stdout);
  expect(parsed.workspace).toBe('acme');
  expect(parsed.pending).toBe(1);
  expect(emulator.site(ACME).list('Ws Companies')!.items()).toHaveLength(0);

  const drain = await cli('--workspace', 'acme', 'drain');
  expect(drain.code, drain.stderr).toBe(0);
  expect(
    emulator
      .site(ACME)
      .list('Ws Companies')!
      .items()
      .map((i) => i.fields.Title),
  ).toEqual(['Acme']);
}, 120_000);

it('--workspace refuses an unknown workspace and flags the definition sets', async () => {
  const unknown = await cli('--workspace', 'nobody', 'status');
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toContain('no workspace "nobody"');
  const combined = await cli('--workspace', 'acme', '--site', GLOBEX, 'status');
  expect(combined.code).toBe(2);
  expect(combined.stderr).toContain('--site cannot be combined with --workspace');
  const noWorkspaces = await runCli(
    bin,
    [
      '--datasource',
      path.resolve(import.meta.dirname, '../cli/fixtures/data-source.ts'),
      '--workspace',
      'acme',
      'status',
    ],
    env,
  );
  expect(noWorkspaces.code).toBe(2);
  expect(noWorkspaces.stderr).toContain('to export a SharePointWorkspaces');
}, 120_000);
