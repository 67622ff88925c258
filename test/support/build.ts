import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from './wait.js';

const root = path.resolve(import.meta.dirname, '../..');
const lock = path.join(root, 'node_modules', '.cache', 'typeorm-sharepoint-build.lock');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : fs.statSync(full).mtimeMs);
  }
  return newest;
}

/**
 * The CLI tests run the real binary, so `dist/` must be built from the current source. Test files that need
 * it call this; a lock directory makes parallel files build once, and an up-to-date build is reused.
 */
export async function ensureBuilt(): Promise<string> {
  const bin = path.join(root, 'dist', 'cli', 'index.js');
  fs.mkdirSync(path.dirname(lock), { recursive: true });
  await waitFor(
    () => {
      try {
        fs.mkdirSync(lock);
        return true;
      } catch {
        // A lock left by a killed run is stale after five minutes.
        const age = Date.now() - fs.statSync(lock, { throwIfNoEntry: false })!.mtimeMs;
        if (age > 5 * 60_000) fs.rmSync(lock, { recursive: true, force: true });
        return false;
      }
    },
    { timeoutMs: 5 * 60_000, intervalMs: 200, message: 'the build lock' },
  );
  try {
    const built = fs.statSync(bin, { throwIfNoEntry: false })?.mtimeMs ?? 0;
    const sources = Math.max(
      newestMtime(path.join(root, 'src')),
      fs.statSync(path.join(root, 'tsup.config.ts')).mtimeMs,
    );
    if (built < sources) {
      await promisify(execFile)('npx', ['tsup'], { cwd: root, maxBuffer: 64 * 1024 * 1024 });
    }
    return bin;
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}
