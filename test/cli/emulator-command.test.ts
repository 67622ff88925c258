import { describe, expect, it } from 'vitest';
import { ensureBuilt } from '../support/build.js';
import { waitFor } from '../support/wait.js';
import { runCli } from './run.js';

const SITE_PATH = '/sites/a.sharepoint.com:/sites/one';

/** Starts `typeorm-sharepoint emulator … --json`; resolves its Graph URL and a stop that awaits the exit. */
async function startEmulator(bin: string, args: string[]) {
  let url: string | undefined;
  let kill: (() => void) | undefined;
  const done = runCli(
    bin,
    ['emulator', '--port', '0', '--site', 'a.sharepoint.com:/sites/one', '--json', ...args],
    {},
    (child) => {
      kill = () => child.kill('SIGTERM');
      child.stdout!.on('data', (d: Buffer) => {
        url ??= /"url":\s*"([^"]+)"/.exec(String(d))?.[1];
      });
    },
  );
  await waitFor(() => url, { timeoutMs: 60_000, message: 'the emulator to print its URL' });
  return {
    url: url!,
    stop: async () => {
      kill!();
      return done;
    },
  };
}

describe('typeorm-sharepoint emulator: budget, latency and faults (issues 17, 19)', {
  timeout: 300_000,
}, () => {
  it('--ru-per-minute throttles, --latency-ms / --latency-per-item-ms slow answers, --fault injects', async () => {
    const bin = await ensureBuilt();
    const emulator = await startEmulator(bin, [
      '--ru-per-minute',
      '6',
      '--latency-ms',
      '50',
      '--latency-per-item-ms',
      '20',
      '--fault',
      '{"method":"POST","pathPattern":"/lists$","status":503,"retryAfterSeconds":3,"count":1}',
    ]);
    try {
      const started = performance.now();
      const site = await fetch(`${emulator.url}${SITE_PATH}`);
      expect(site.status).toBe(200);
      expect(performance.now() - started).toBeGreaterThanOrEqual(50);
      const { id } = (await site.json()) as { id: string };
      const create = () =>
        fetch(`${emulator.url}/sites/${id}/lists`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ displayName: 'Cli' }),
        });
      const faulted = await create();
      expect(faulted.status).toBe(503);
      expect(faulted.headers.get('retry-after')).toBe('3');
      expect((await create()).status).toBe(201); // 1 + 2 RU spent
      const item = await fetch(`${emulator.url}/sites/${id}/lists/Cli/items`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ fields: { Title: 'one' } }),
      }); // 2 RU more: 5 of 6
      expect(item.status).toBe(201);
      const pageStarted = performance.now();
      const page = await fetch(`${emulator.url}/sites/${id}/lists/Cli/items`); // 2 RU: over the budget
      expect(page.status).toBe(429);
      expect(Number(page.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(performance.now() - pageStarted).toBeGreaterThanOrEqual(50);
    } finally {
      const r = await emulator.stop();
      expect(r.code).toBe(0);
    }
  });

  it('a per-item latency counts every item of a page', async () => {
    const bin = await ensureBuilt();
    const emulator = await startEmulator(bin, ['--latency-per-item-ms', '10', '--seed', '3']);
    try {
      const { id } = (await (await fetch(`${emulator.url}${SITE_PATH}`)).json()) as { id: string };
      const post = (path: string, body: unknown) =>
        fetch(`${emulator.url}/sites/${id}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      expect((await post('/lists', { displayName: 'Slow' })).status).toBe(201);
      for (let i = 0; i < 30; i++)
        expect((await post('/lists/Slow/items', { fields: { Title: `${i}` } })).status).toBe(201);
      const started = performance.now();
      const page = (await (await fetch(`${emulator.url}/sites/${id}/lists/Slow/items`)).json()) as {
        value: unknown[];
      };
      expect(page.value).toHaveLength(30);
      expect(performance.now() - started).toBeGreaterThanOrEqual(300);
    } finally {
      await emulator.stop();
    }
  });

  it('bad values are usage errors (exit 2) naming the option', async () => {
    const bin = await ensureBuilt();
    for (const [option, value] of [
      ['--ru-per-minute', '0'],
      ['--latency-ms', '-1'],
      ['--latency-per-item-ms', 'slow'],
      ['--delta-repeat-probability', '2'],
      ['--fault', '{"status":503,"often":true}'],
      ['--fault', 'not json'],
    ] as const) {
      const r = await runCli(bin, ['emulator', '--port', '0', option, value], {});
      expect(r.code, `${option} ${value}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(option);
    }
  });
});
