import { readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { createEmulator, type Emulator } from 'typeorm-sharepoint/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forTheShell } from '../../src/cli/index.js';
import { rateSince } from '../../src/cli/output.js';
import { ensureBuilt } from '../support/build.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { FIXTURE, runCli } from './run.js';

// Issue 15, "The CLI does what docs/operations.md says": each point as a newcomer meets it.

const SITE = 'contoso.sharepoint.com:/sites/newcomer';
const VERSION = (
  JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../../package.json'), 'utf8')) as {
    version: string;
  }
).version;

let bin: string;
let db: TestDatabase;
let emulator: Emulator;
let env: Record<string, string>;
let client: pg.Client;

const cli = (...args: string[]) => runCli(bin, ['--datasource', FIXTURE, ...args], env);
const list = (title: string) => emulator.site(SITE).list(title)!;

beforeAll(async () => {
  bin = await ensureBuilt();
  db = await createTestDatabase();
  emulator = createEmulator({ sites: [SITE] });
  const { url } = await emulator.listen();
  env = {
    CLI_DATABASE_URL: db.url,
    SHAREPOINT_SITE_HOSTNAME: 'contoso.sharepoint.com',
    SHAREPOINT_SITE_PATH: '/sites/newcomer',
    SHAREPOINT_GRAPH_BASE_URL: `${url}/v1.0`,
  };
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
}, 300_000);

afterAll(async () => {
  await client?.end();
  await emulator?.close();
  await db?.drop();
});

// One walkthrough: each step starts from the state the previous one left, so the order holds under shuffle.
describe('the CLI as a newcomer meets it (built binary, loopback emulator, real PostgreSQL)', {
  shuffle: false,
}, () => {
  it('a wrong site creates nothing anywhere: not even the library schema in PostgreSQL', async () => {
    const r = await runCli(bin, ['--datasource', FIXTURE, 'status'], {
      ...env,
      SHAREPOINT_SITE_PATH: '/sites/nowhere',
    });
    expect(r.code).toBe(1);
    const { rows } = await client.query(
      `SELECT count(*)::int AS n FROM information_schema.schemata WHERE schema_name = 'sharepoint_sync'`,
    );
    expect(rows[0].n).toBe(0);
    expect(emulator.site(SITE).lists()).toHaveLength(0);
  });

  it('bootstrap prints what it applied, never "Run `typeorm-sharepoint bootstrap` to apply"', async () => {
    const first = await cli('bootstrap');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).not.toContain('to apply');
    expect(first.stdout).toContain('+ created list "Cli Companies"');
    expect(first.stdout).toMatch(/Applied: 2 list\(s\) created/);
    const again = await cli('bootstrap');
    expect(again.stdout).toMatch(/Nothing to do/);
    const json = JSON.parse((await cli('bootstrap', '--json')).stdout);
    expect(Object.keys(json.listIds).sort()).toEqual(['CliCompany', 'CliPerson']);
  });

  it('load on a loaded list applies what SharePoint changed (delta), as documented', async () => {
    await client.query(
      `INSERT INTO cli_company (id, name, employees) VALUES ('33333333-3333-4333-8333-333333333333', 'Tailspin', 1)`,
    );
    expect((await cli('drain')).code).toBe(0);
    const loaded = await cli('load', 'CliCompany');
    expect(loaded.code, loaded.stderr).toBe(0);
    const item = list('Cli Companies')
      .items()
      .find((i) => i.fields.Name === 'Tailspin')!;
    list('Cli Companies').updateItem(item.id, { Employees: 42 });
    // Within the TTL: before the fix this printed "cached load, 0 loaded" and changed nothing.
    const again = await cli('load', 'CliCompany');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).not.toMatch(/cached load/);
    const { rows } = await client.query(`SELECT employees FROM cli_company WHERE name = 'Tailspin'`);
    expect(rows[0].employees).toBe(42);
  });

  it('pull applies the delta now, whatever the TTL', async () => {
    const item = list('Cli Companies')
      .items()
      .find((i) => i.fields.Name === 'Tailspin')!;
    list('Cli Companies').updateItem(item.id, { Employees: 43 });
    const r = await cli('pull', 'CliCompany', '--json');
    expect(r.code, r.stderr).toBe(0);
    const results = JSON.parse(r.stdout) as { entity: string; mode: string; loaded: number }[];
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ entity: 'CliCompany', loaded: 1 });
    const { rows } = await client.query(`SELECT employees FROM cli_company WHERE name = 'Tailspin'`);
    expect(rows[0].employees).toBe(43);
  });

  it('verify never says "identical" beside counts that differ', async () => {
    await client.query(
      `INSERT INTO cli_company (id, name) VALUES ('44444444-4444-4444-8444-444444444444', 'Unsent')`,
    );
    const r = await cli('verify');
    for (const line of r.stdout.split('\n').filter((l) => l.includes('CliCompany:'))) {
      const [, pgCount, spCount] = /PostgreSQL (\d+), SharePoint (\d+)/.exec(line)!;
      if (pgCount !== spCount) expect(line).not.toContain('identical');
    }
    expect(r.stdout).toMatch(/CliCompany: PostgreSQL 2, SharePoint 1/);
  });

  it('errors name CLI commands, not API calls', async () => {
    const refused = await cli('rebuild');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('typeorm-sharepoint drain');
    expect(refused.stderr).toContain('rebuild --force');
    expect(refused.stderr).not.toMatch(/flush\(\)|force: true/);
    expect(forTheShell('Fix the cause and call sync.retryDeadLetters().')).toBe(
      'Fix the cause and run `typeorm-sharepoint dead-letters retry`.',
    );
    expect((await cli('drain')).code).toBe(0);
  });

  it('usage errors exit 2: a port that is not a number, a site with a scheme, a bad --timeout', async () => {
    const port = await runCli(bin, ['emulator', '--port', 'abc'], {});
    expect(port.code).toBe(2);
    expect(port.stderr).toContain('--port');
    const site = await runCli(bin, ['emulator', '--site', 'https://contoso.sharepoint.com/sites/crm'], {});
    expect(site.code).toBe(2);
    expect(site.stderr).toContain('without a scheme');
    const timeout = await cli('drain', '--timeout', 'soon');
    expect(timeout.code).toBe(2);
  });

  it('--version prints the package version', async () => {
    const r = await runCli(bin, ['--version'], {});
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(VERSION);
    const json = await runCli(bin, ['--version', '--json'], {});
    expect(JSON.parse(json.stdout)).toEqual({ version: VERSION });
  });

  it('--json prints exactly one JSON document on stdout for every outcome', async () => {
    const outcomes = [
      await runCli(bin, ['frobnicate', '--json'], env),
      await runCli(bin, ['--json', 'emulator', '--port', 'abc'], {}),
      await runCli(bin, ['--json', 'status'], env),
      await cli('--json', 'status'),
      await runCli(bin, ['--datasource', FIXTURE, '--json', 'status'], {
        ...env,
        SHAREPOINT_SITE_PATH: '/sites/nowhere',
      }),
    ];
    expect(outcomes.map((o) => o.code)).toEqual([2, 2, 2, 0, 1]);
    for (const o of outcomes) {
      expect(() => JSON.parse(o.stdout), o.stdout).not.toThrow();
      expect(o.stdout.trim().startsWith('{') || o.stdout.trim().startsWith('[')).toBe(true);
    }
    expect(JSON.parse(outcomes[0]!.stdout).error).toMatch(/unknown command 'frobnicate'/);
  });

  it('progress rates stay plausible on the first tick', () => {
    const started = 1_000_000;
    expect(rateSince(3000, started, started + 1)).toBe('–');
    expect(rateSince(3000, started, started + 2000)).toBe('1500');
  });
});
