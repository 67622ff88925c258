import pg from 'pg';
import { createEmulator, type Emulator } from 'typeorm-sharepoint/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../support/build.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { waitFor } from '../support/wait.js';
import { FIXTURE, runCli } from './run.js';

const SITE = 'contoso.sharepoint.com:/sites/cli';

let bin: string;
let db: TestDatabase;
let emulator: Emulator;
let env: Record<string, string>;
let client: pg.Client;

const cli = (...args: string[]) => runCli(bin, ['--datasource', FIXTURE, ...args], env);

beforeAll(async () => {
  bin = await ensureBuilt();
  db = await createTestDatabase();
  emulator = createEmulator({ sites: [SITE] });
  const { url } = await emulator.listen();
  env = {
    CLI_DATABASE_URL: db.url,
    SHAREPOINT_SITE_HOSTNAME: 'contoso.sharepoint.com',
    SHAREPOINT_SITE_PATH: '/sites/cli',
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

const lists = () => emulator.site(SITE).lists();
const items = (title: string) => emulator.site(SITE).list(title)?.items() ?? [];

// One walkthrough, as an operator runs it: each step starts from the state the previous one left (lists
// bootstrapped, rows queued, drained, …), so its steps keep their order even under --sequence.shuffle.
// Each CLI run is a new Node process loading TypeScript: seconds apiece on a loaded machine, hence the deadline.
describe('typeorm-sharepoint CLI (built binary, loopback emulator, real PostgreSQL)', {
  shuffle: false,
  timeout: 180_000,
}, () => {
  it('bootstrap --dry-run prints the plan and creates nothing', async () => {
    const r = await cli('bootstrap', '--dry-run');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Cli Companies');
    expect(r.stdout).toContain('Cli People');
    expect(lists()).toHaveLength(0);
  });

  it('bootstrap creates the lists; a second run changes nothing', async () => {
    const first = await cli('bootstrap');
    expect(first.code, first.stderr).toBe(0);
    expect(
      lists()
        .map((l) => l.displayName)
        .sort(),
    ).toEqual(['Cli Companies', 'Cli People']);
    emulator.log.reset();
    const second = await cli('bootstrap', '--json');
    expect(second.code, second.stderr).toBe(0);
    JSON.parse(second.stdout);
    const writes = emulator.log.entries.filter((e) => e.method !== 'GET' && !e.path.endsWith('$batch'));
    expect(writes).toEqual([]);
  });

  it('status --json parses and counts what the capture queued', async () => {
    // Rows written by any means after attach installed the capture are queued (raw SQL too).
    await client.query(
      `INSERT INTO cli_company (id, name, employees) VALUES
         ('11111111-1111-4111-8111-111111111111', 'Contoso', 10),
         ('22222222-2222-4222-8222-222222222222', 'Fabrikam', 20)`,
    );
    const r = await cli('status', '--json');
    expect(r.code, r.stderr).toBe(0);
    const status = JSON.parse(r.stdout);
    expect(status.pending).toBe(2);
    expect(status.pendingByPriority.P1).toBe(2);
    expect(status.lists.map((l: { entity: string }) => l.entity).sort()).toEqual(['CliCompany', 'CliPerson']);
  });

  it('drain sends the outbox and SharePoint has the records', async () => {
    const r = await cli('drain');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/sent 2 change/);
    expect(
      items('Cli Companies')
        .map((i) => i.fields.Name)
        .sort(),
    ).toEqual(['Contoso', 'Fabrikam']);
    const status = JSON.parse((await cli('status', '--json')).stdout);
    expect(status.pending).toBe(0);
  });

  it('verify exits 0 when both sides agree and 1 (naming the field) when SharePoint differs', async () => {
    const ok = await cli('verify');
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    const contoso = items('Cli Companies').find((i) => i.fields.Name === 'Contoso')!;
    emulator.site(SITE).list('Cli Companies')!.updateItem(contoso.id, { Employees: 99 });
    const drift = await cli('verify');
    expect(drift.code).toBe(1);
    expect(drift.stdout).toContain('Employees');
    const json = JSON.parse((await cli('verify', '--json')).stdout);
    expect(json.ok).toBe(false);
  });

  it('load brings the SharePoint edit into PostgreSQL; verify agrees again', async () => {
    const r = await cli('load', 'CliCompany');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/CliCompany: \w+ load/);
    const { rows } = await client.query(`SELECT employees FROM cli_company WHERE name = 'Contoso'`);
    expect(rows[0].employees).toBe(99);
    expect((await cli('verify')).code).toBe(0);
  });

  it('rebuild refuses while changes are pending, and reloads with --force semantics only when asked', async () => {
    await client.query(`UPDATE cli_company SET employees = 5 WHERE name = 'Fabrikam'`);
    const refused = await cli('rebuild');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/rebuild refused: 1 change\(s\) not yet sent/);
    expect((await cli('drain')).code).toBe(0);
    const rebuilt = await cli('rebuild', '--json');
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    const results = JSON.parse(rebuilt.stdout) as { entity: string; loaded: number }[];
    expect(results.find((x) => x.entity === 'CliCompany')?.loaded).toBe(2);
    const { rows } = await client.query(`SELECT employees FROM cli_company WHERE name = 'Fabrikam'`);
    expect(rows[0].employees).toBe(5);
  });

  it('dead-letters list prints none; retry re-queues nothing', async () => {
    const list = await cli('dead-letters', 'list');
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('no dead letters');
    const retry = await cli('dead-letters', 'retry', '--json');
    expect(JSON.parse(retry.stdout)).toEqual({ requeued: 0 });
  });

  it('migrate --dry-run counts rows and changes nothing', async () => {
    await client.query(
      `ALTER TABLE cli_person DISABLE TRIGGER USER;
       INSERT INTO cli_person (id, name) SELECT gen_random_uuid(), 'p' || g FROM generate_series(1, 30) g;
       ALTER TABLE cli_person ENABLE TRIGGER USER;`,
    );
    const r = await cli('migrate', '--dry-run', '--json');
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.lists.find((l: { entity: string }) => l.entity === 'CliPerson')).toMatchObject({
      rows: 30,
      alreadyInSharePoint: 0,
      queued: 0,
    });
    expect(items('Cli People')).toHaveLength(0);
  });

  it('migrate sends rows the capture never saw, then verifies', async () => {
    const r = await cli('migrate');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('zero drift');
    expect(items('Cli People')).toHaveLength(30);
  });
});

describe('typeorm-sharepoint CLI: commands on their own', { timeout: 180_000 }, () => {
  it('emulator serves every --site on the port it prints, and stops on SIGTERM', async () => {
    let url: string | undefined;
    let stop: (() => void) | undefined;
    const done = runCli(
      bin,
      [
        'emulator',
        '--port',
        '0',
        '--site',
        'a.sharepoint.com:/sites/one',
        '--site',
        'a.sharepoint.com:/sites/two',
        '--json',
      ],
      {},
      (child) => {
        stop = () => child.kill('SIGTERM');
        child.stdout!.on('data', (d: Buffer) => {
          url ??= /"url":\s*"([^"]+)"/.exec(String(d))?.[1];
        });
      },
    );
    await waitFor(() => url, { timeoutMs: 60_000, message: 'the emulator to print its URL' });
    const status = async (path: string) => (await fetch(`${url}/sites/a.sharepoint.com:${path}`)).status;
    expect([await status('/sites/one'), await status('/sites/two'), await status('/sites/three')]).toEqual([
      200, 200, 404,
    ]);
    stop!();
    const r = await done;
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).sites).toEqual([
      'a.sharepoint.com:/sites/one',
      'a.sharepoint.com:/sites/two',
    ]);
  });

  it('a bad environment variable is a usage error (exit 2) naming the variable and what is allowed', async () => {
    const r = await runCli(bin, ['--datasource', FIXTURE, 'status'], {
      ...env,
      SHAREPOINT_CACHE_TTL_SECONDS: 'soon',
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('SHAREPOINT_CACHE_TTL_SECONDS');
    expect(r.stderr).toContain('soon');
  });

  it('missing --datasource and unknown commands are usage errors (exit 2)', async () => {
    const missing = await runCli(bin, ['status'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--datasource');
    const unknown = await runCli(bin, ['frobnicate'], env);
    expect(unknown.code).toBe(2);
  });

  it('a failing operation exits 1 with a readable message (site that does not exist)', async () => {
    const r = await runCli(bin, ['--datasource', FIXTURE, 'status'], {
      ...env,
      SHAREPOINT_SITE_PATH: '/sites/nowhere',
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/nowhere/);
  });
});
