import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { createEmulator, type Emulator } from 'typeorm-sharepoint/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE, runCli } from '../cli/run.js';
import { ensureBuilt } from '../support/build.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { waitFor } from '../support/wait.js';

const TOKEN = 'cli-console-token-0123456789';
/** test/workspaces/fixtures/workspaces.ts (acme, globex) with `workspaceIds` and a DataSource on their database. */
const WORKSPACES = path.resolve(import.meta.dirname, 'fixtures/workspaces.ts');
const ACME = 'contoso.sharepoint.com:/sites/Twenty-acme';
const GLOBEX = 'contoso.sharepoint.com:/sites/Twenty-globex';
let bin: string;
let db: TestDatabase;
let emulator: Emulator;
let env: Record<string, string | undefined>;

beforeAll(async () => {
  bin = await ensureBuilt();
  db = await createTestDatabase();
  emulator = createEmulator({ sites: ['contoso.sharepoint.com:/sites/cli', ACME, GLOBEX] });
  const { url } = await emulator.listen();
  env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    CLI_DATABASE_URL: db.url,
    WS_DATABASE_URL: db.url,
    WS_GRAPH_URL: `${url}/v1.0`,
    SHAREPOINT_SITE_HOSTNAME: 'contoso.sharepoint.com',
    SHAREPOINT_SITE_PATH: '/sites/cli',
    SHAREPOINT_GRAPH_BASE_URL: `${url}/v1.0`,
  };
}, 300_000);

afterAll(async () => {
  await emulator?.close();
  await db?.drop();
});

function start(args: string[], extra: Record<string, string> = {}, fixture = FIXTURE) {
  const child: ChildProcess = spawn(process.execPath, [bin, '--datasource', fixture, ...args], {
    env: { ...env, ...extra },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (d) => {
    out.stdout += d;
  });
  child.stderr!.on('data', (d) => {
    out.stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, out, exited };
}

/** The console's address, once the server listens (`--json` prints one document). */
function addressOf(run: ReturnType<typeof start>): Promise<string> {
  return waitFor(() => /"url":\s*"([^"]+)"/.exec(run.out.stdout)?.[1], {
    timeoutMs: 120_000,
    intervalMs: 100,
    message: `the console's address (stderr: ${run.out.stderr})`,
  });
}

const asOperator = { headers: { Authorization: `Bearer ${TOKEN}` }, redirect: 'manual' as const };

/** One workspace's row of the Workspaces page: its cells by `data-figure`, its link, its health. */
function workspaceRow(html: string, id: string) {
  const row = new RegExp(`<tr data-workspace="${id}">([\\s\\S]*?)</tr>`).exec(html)?.[1];
  expect(row, `row of ${id}`).toBeDefined();
  const cell = (figure: string) => new RegExp(`data-figure="${figure}">([^<]*)<`).exec(row!)?.[1];
  return {
    link: /<a href="([^"]+)">/.exec(row!)?.[1],
    health: /class="health [^"]*">([^<]*)</.exec(row!)?.[1],
    text: row!.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' '),
    attached: cell('attached'),
    pending: cell('pending'),
    deadLetters: cell('dead-letters'),
    openConflicts: cell('open-conflicts'),
  };
}

describe('typeorm-sharepoint console (built binary)', { timeout: 180_000 }, () => {
  it('refuses to start without a token (exit 2), naming the variables', async () => {
    const run = start(['console', '--port', '0']);
    expect(await run.exited).toBe(2);
    expect(run.out.stderr).toContain('TYPEORM_SHAREPOINT_CONSOLE_TOKEN');
  });

  it('serves the console behind the token under --base-path, and stops on SIGTERM', async () => {
    const run = start(['--json', 'console', '--port', '0', '--base-path', '/ops'], {
      TYPEORM_SHAREPOINT_CONSOLE_TOKEN: TOKEN,
    });
    try {
      const { url } = await waitFor(
        () => {
          // One JSON document (pretty-printed) once the server listens.
          const match = /"url":\s*"([^"]+)"/.exec(run.out.stdout);
          return match ? { url: match[1]! } : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 100, message: `the console's address (stderr: ${run.out.stderr})` },
      );
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/ops\/$/);
      const anonymous = await fetch(url);
      expect(anonymous.status).toBe(401);
      expect(await anonymous.text()).not.toContain(TOKEN);
      const overview = await fetch(`${url}api/overview`, { headers: { Authorization: `Bearer ${TOKEN}` } });
      expect(overview.status).toBe(200);
      const body = (await overview.json()) as { lists: { entity: string; priority: string }[] };
      expect(body.lists.map((l) => `${l.entity} ${l.priority}`).sort()).toEqual([
        'CliCompany P1',
        'CliPerson P2',
      ]);
      const page = await fetch(`${url}dead-letters`, { headers: { Authorization: `Bearer ${TOKEN}` } });
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('No dead letters');
    } finally {
      run.child.kill('SIGTERM');
    }
    expect(await run.exited).toBe(0);
  });
});

describe('typeorm-sharepoint console over a SharePointWorkspaces (built binary)', {
  timeout: 240_000,
}, () => {
  beforeAll(async () => {
    // acme exists (lists, schema, tables) and holds one change no process has sent; globex was never attached.
    const bootstrap = await runCli(
      bin,
      ['--datasource', WORKSPACES, '--workspace', 'acme', 'bootstrap'],
      env,
    );
    expect(bootstrap.code, bootstrap.stderr).toBe(0);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query(
        `INSERT INTO workspace_acme.ws_company (id, name) VALUES (gen_random_uuid(), 'Acme pending')`,
      );
    } finally {
      await client.end();
    }
  }, 240_000);

  it('lists every workspace with its stored figures before any is attached, links each, and opens one', async () => {
    const run = start(
      ['--json', 'console', '--port', '0'],
      { TYPEORM_SHAREPOINT_CONSOLE_TOKEN: TOKEN },
      WORKSPACES,
    );
    try {
      const url = await addressOf(run);
      expect((await fetch(`${url}workspaces`)).status).toBe(401);
      const page = await fetch(`${url}workspaces`, asOperator);
      expect(page.status).toBe(200);
      const html = await page.text();
      // A fresh process: nothing attached, yet acme's figures are read from its schema.
      const acme = workspaceRow(html, 'acme');
      expect(acme.attached).toBe('no');
      expect(acme.pending).toBe('1');
      expect(acme.deadLetters).toBe('0');
      expect(acme.openConflicts).toBe('0');
      expect(acme.health).toBe('ok');
      expect(acme.link).toBe('/?workspace=acme');
      // globex has no tables yet: no figures, but it opens (attaching it, read-side only) like acme.
      const globex = workspaceRow(html, 'globex');
      expect(globex.health).toBe('not attached');
      expect(globex.text).toContain('never attached');
      expect(globex.pending).toBe('–');
      expect(globex.link).toBe('/?workspace=globex');
      // Following acme's link attaches it in this process; the change is still the one pending.
      const overview = await fetch(`${url}?workspace=acme`, asOperator);
      expect(overview.status).toBe(200);
      expect(await overview.text()).toContain('Ws Companies');
      const figures = (await (await fetch(`${url}api/overview?workspace=acme`, asOperator)).json()) as {
        workspace: string;
        pending: number;
        lists: { entity: string; pending: number }[];
      };
      expect(figures).toMatchObject({ workspace: 'acme', pending: 1 });
      expect(figures.lists).toMatchObject([{ entity: 'WsCompany', pending: 1 }]);
      const after = workspaceRow(await (await fetch(`${url}workspaces`, asOperator)).text(), 'acme');
      expect(after).toMatchObject({ attached: 'yes', pending: '1', health: 'ok', link: '/?workspace=acme' });
    } finally {
      run.child.kill('SIGTERM');
    }
    expect(await run.exited).toBe(0);
  });

  it('--workspace acme console serves that one workspace', async () => {
    const run = start(
      ['--json', '--workspace', 'acme', 'console', '--port', '0'],
      { TYPEORM_SHAREPOINT_CONSOLE_TOKEN: TOKEN },
      WORKSPACES,
    );
    try {
      const url = await addressOf(run);
      const figures = (await (await fetch(`${url}api/overview`, asOperator)).json()) as {
        workspace: string;
        pending: number;
        lists: { entity: string; title: string; pending: number }[];
      };
      expect(figures).toMatchObject({ workspace: 'acme', pending: 1 });
      expect(figures.lists).toMatchObject([{ entity: 'WsCompany', title: 'Ws Companies', pending: 1 }]);
      // One workspace: no Workspaces page (it leads to the overview), and no ?workspace= needed.
      const workspaces = await fetch(`${url}workspaces`, asOperator);
      expect(workspaces.status).toBe(303);
      expect(workspaces.headers.get('location')).toBe('/');
      const page = await (await fetch(url, asOperator)).text();
      expect(page).toContain('Ws Companies');
      expect(page).not.toContain('href="/workspaces"');
    } finally {
      run.child.kill('SIGTERM');
    }
    expect(await run.exited).toBe(0);
  });
});
