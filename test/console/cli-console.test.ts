import { type ChildProcess, spawn } from 'node:child_process';
import { createEmulator, type Emulator } from 'typeorm-sharepoint/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE } from '../cli/run.js';
import { ensureBuilt } from '../support/build.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { waitFor } from '../support/wait.js';

const TOKEN = 'cli-console-token-0123456789';
let bin: string;
let db: TestDatabase;
let emulator: Emulator;
let env: Record<string, string | undefined>;

beforeAll(async () => {
  bin = await ensureBuilt();
  db = await createTestDatabase();
  emulator = createEmulator({ sites: ['contoso.sharepoint.com:/sites/cli'] });
  const { url } = await emulator.listen();
  env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    CLI_DATABASE_URL: db.url,
    SHAREPOINT_SITE_HOSTNAME: 'contoso.sharepoint.com',
    SHAREPOINT_SITE_PATH: '/sites/cli',
    SHAREPOINT_GRAPH_BASE_URL: `${url}/v1.0`,
  };
}, 300_000);

afterAll(async () => {
  await emulator?.close();
  await db?.drop();
});

function start(args: string[], extra: Record<string, string> = {}) {
  const child: ChildProcess = spawn(process.execPath, [bin, '--datasource', FIXTURE, ...args], {
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
