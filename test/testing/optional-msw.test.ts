import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ensureBuilt } from '../support/build.js';

// Issue 15, "Install and docs": the library and its loopback emulator run without msw; only the msw
// handlers need it, and say so.

const root = path.resolve(import.meta.dirname, '../..');
const block = path.join(import.meta.dirname, 'fixtures/without-msw.cjs');

const script = (entry: string) => `
  const { createEmulator } = await import(${JSON.stringify(entry)});
  const emulator = createEmulator({ sites: ['contoso.sharepoint.com:/sites/crm'] });
  const { url } = await emulator.listen();
  const answer = await fetch(url + '/v1.0/sites/contoso.sharepoint.com:/sites/crm');
  let handlers;
  try { emulator.handlers; handlers = 'loaded'; } catch (error) { handlers = error.message; }
  await emulator.close();
  console.log(JSON.stringify({ status: answer.status, handlers }));
`;

async function runWithoutMsw(entry: string, type: 'module' | 'commonjs') {
  const code =
    type === 'module'
      ? script(entry)
      : `(async () => { ${script(entry)} })().catch((e) => { console.error(e); process.exit(1); });`;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--require', block, ...(type === 'module' ? ['--input-type=module'] : []), '-e', code],
    { cwd: root },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as { status: number; handlers: string };
}

describe('msw is an optional peer', () => {
  it('package.json lists msw as an optional peer (and a dev dependency), not a dependency', () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
    expect(pkg.dependencies.msw).toBeUndefined();
    expect(pkg.peerDependencies.msw).toMatch(/^\^2/);
    expect(pkg.peerDependenciesMeta.msw).toEqual({ optional: true });
  });

  it('without msw the built package (ESM and CommonJS) serves the loopback emulator; handlers explain', async () => {
    await ensureBuilt();
    for (const [entry, type] of [
      [path.join(root, 'dist/testing/index.js'), 'module'],
      [path.join(root, 'dist/testing/index.cjs'), 'commonjs'],
    ] as const) {
      const result = await runWithoutMsw(entry, type);
      expect(result.status, entry).toBe(200);
      expect(result.handlers, entry).toMatch(/emulator\.handlers needs msw 2 \(npm i -D msw\)/);
    }
  }, 300_000); // the build it may have to run takes minutes on a loaded machine
});
