import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const databases: TestDatabase[] = [];
afterAll(async () => {
  for (const db of databases) await db.drop();
});

const CHILD = path.join(import.meta.dirname, 'child-exits.ts');
/** Start-up under tsx on a loaded machine is slow; the end of the script is what is measured. */
const SCRIPT_DEADLINE_MS = 90_000;
const EXIT_DEADLINE_MS = 10_000;

/** Runs the child script; resolves with how it ended, killing it if it outlives the deadlines. */
async function runScript(mode: 'flushed' | 'unsent') {
  const db = await createTestDatabase();
  databases.push(db);
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    cwd: path.resolve(import.meta.dirname, '../..'),
    env: { ...process.env, EXITS_CHILD: JSON.stringify({ databaseUrl: db.url, mode }) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let endedAt: number | undefined;
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk;
    if (endedAt === undefined && stdout.includes('ended\n')) endedAt = Date.now();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk;
  });
  const exit = await new Promise<{ code: number | null; killed: boolean }>((resolve) => {
    let killed = false;
    const kill = () => {
      killed = true;
      child.kill('SIGKILL');
    };
    const scriptTimer = setTimeout(kill, SCRIPT_DEADLINE_MS);
    // Once the script's last line ran, the process has EXIT_DEADLINE_MS to end by itself.
    const watch = setInterval(() => {
      if (endedAt !== undefined && Date.now() - endedAt > EXIT_DEADLINE_MS) kill();
    }, 100);
    child.on('exit', (code) => {
      clearTimeout(scriptTimer);
      clearInterval(watch);
      resolve({ code, killed });
    });
  });
  return { ...exit, stdout, stderr, exitAfterMs: endedAt === undefined ? undefined : Date.now() - endedAt };
}

it(
  'a script that writes, flushes, destroys its DataSource and closes the emulator exits without sync.close()',
  async () => {
    const run = await runScript('flushed');
    console.log(`exited ${run.exitAfterMs} ms after its last line (code ${run.code}, killed ${run.killed})`);
    expect(run.stdout).toContain('ended');
    expect(run.killed, run.stderr).toBe(false);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).not.toMatch(/not in SharePoint yet|write-back cycle failed/);
  },
  SCRIPT_DEADLINE_MS + 30_000,
);

it(
  'with a change still unsent, destroying the DataSource warns clearly and the process still exits',
  async () => {
    const run = await runScript('unsent');
    expect(run.killed, run.stderr).toBe(false);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/destroyed with 1 change\(s\) not in SharePoint yet .*next attach sends them/);
  },
  SCRIPT_DEADLINE_MS + 30_000,
);
