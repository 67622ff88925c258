import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { DataSource } from 'typeorm';
import { expect, it } from 'vitest';

// The suite runs once per TypeORM line (vitest.config.ts projects): this proves each run really uses its line,
// in this process and in the tsx child processes the examples and crash tests start.

const root = path.resolve(import.meta.dirname, '../..');
const wanted = process.env.TYPEORM_LINE === '1' ? '1.' : '0.3.';
const installed = (name: string) =>
  (
    JSON.parse(readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')) as {
      version: string;
    }
  ).version;

it('runs on the TypeORM line of its project', async () => {
  const version = installed(process.env.TYPEORM_LINE === '1' ? 'typeorm-1' : 'typeorm');
  expect(version.startsWith(wanted)).toBe(true);
  // The DataSource imported here is that line's (1.x exports no `Connection`, 0.3 still does).
  const typeorm = await import('typeorm');
  expect('Connection' in typeorm).toBe(wanted === '0.3.');
  expect(typeof DataSource).toBe('function');
  const { stdout } = await promisify(execFile)(
    'npx',
    ['tsx', '-e', "import('typeorm').then((t) => console.log('Connection' in t ? '0.3.' : '1.'))"],
    { cwd: root, env: process.env },
  );
  expect(stdout.trim()).toBe(wanted);
});
