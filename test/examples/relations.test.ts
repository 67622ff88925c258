import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect, inject, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');

it('the relations example runs as users run it (tsx) and batches every relation', async () => {
  const { stdout } = await promisify(execFile)('npx', ['tsx', 'examples/relations/index.ts'], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: inject('databaseServerUrl') },
  });
  const result = JSON.parse(stdout);
  expect(result.people).toEqual([
    { name: 'Ada', company: 'Acme' },
    { name: 'Grace', company: 'Globex' },
    { name: 'Linus', company: 'Acme' },
  ]);
  expect(result.companies).toEqual([
    { name: 'Acme', people: 2 },
    { name: 'Globex', people: 1 },
  ]);
  // Two requests, each: one query for the list and one for all its relations.
  expect(result.sqlQueries).toBe(4);
}, 120_000);
