import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  defaultWorkspaceSchema,
  legacyWorkspaceSchema,
  MAX_IDENTIFIER_BYTES,
} from '../../src/workspaces/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const SEED = Number(process.env.SCHEMA_NAMES_SEED ?? 20261201);

/** mulberry32: small, seeded, good enough to spread ids. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABETS = [
  'abcdefghijklmnopqrstuvwxyz',
  'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  '0123456789',
  '._-/ :@#+!?~*()[]{}\'"\\',
  'éèêëàâäôöûüçñß',
  'ÉÈÀÇÑ',
  '日本中国東京대한민국русскийΑθήνα',
  '😀🚀👩‍💻',
  '_',
];
const PUNCTUATION = ['.', '-', '_', ' ', '/', ':'];

function randomId(next: () => number): string {
  const length = 1 + Math.floor(next() * 200);
  let id = '';
  while ([...id].length < length) {
    const alphabet = [...ALPHABETS[Math.floor(next() * ALPHABETS.length)]!];
    id += alphabet[Math.floor(next() * alphabet.length)];
  }
  return [...id].slice(0, length).join('');
}

let db: TestDatabase;
let client: pg.Client;

beforeAll(async () => {
  db = await createTestDatabase();
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
});

afterAll(async () => {
  await client?.end();
  await db?.drop();
});

it('1,000 random workspace ids (and their case and punctuation variants) map to distinct valid schemas', async () => {
  console.info(`schema-names: seed ${SEED} (SCHEMA_NAMES_SEED to replay)`);
  const next = random(SEED);
  const ids = new Set<string>();
  while (ids.size < 1000) {
    const id = randomId(next);
    ids.add(id);
    // Variants that differ only by case or by punctuation: the old rule folded them together.
    if (next() < 0.3) ids.add(id.toUpperCase());
    if (next() < 0.3) ids.add(id.toLowerCase());
    if (next() < 0.3) {
      const from = PUNCTUATION[Math.floor(next() * PUNCTUATION.length)]!;
      const to = PUNCTUATION[Math.floor(next() * PUNCTUATION.length)]!;
      ids.add(`${id}${from}x`.replaceAll(from, to));
      ids.add(`${id}${from}x`);
    }
  }
  // The examples and the short, short-safe and long-safe edges.
  for (const id of [
    'acme.corp',
    'acme-corp',
    'acme_corp',
    'Acme_Corp',
    'ACME.CORP',
    'café',
    'cafè',
    '日本',
    '中国',
  ]) {
    ids.add(id);
  }
  ids.add('a'.repeat(53));
  ids.add('a'.repeat(54));
  ids.add('x'.repeat(200));

  const bySchema = new Map<string, string>();
  for (const id of ids) {
    const schema = defaultWorkspaceSchema(id);
    expect(schema, id).toMatch(/^[a-z_][a-z0-9_]*$/);
    expect(Buffer.byteLength(schema, 'utf8'), id).toBeLessThanOrEqual(MAX_IDENTIFIER_BYTES);
    expect(defaultWorkspaceSchema(id), 'stable').toBe(schema);
    const other = bySchema.get(schema);
    expect(other, `"${id}" and "${other}" share ${schema}`).toBeUndefined();
    bySchema.set(schema, id);
  }
  expect(bySchema.size).toBe(ids.size);
  console.info(`schema-names: ${ids.size} ids, ${bySchema.size} distinct schemas`);

  // PostgreSQL's own word: no name is truncated, and every one can be created and told apart.
  const names = [...bySchema.keys()];
  const { rows } = await client.query<{ cut: number }>(
    'SELECT count(*)::int AS cut FROM unnest($1::text[]) AS t(v) WHERE v::name::text <> v',
    [names],
  );
  expect(rows[0]!.cut).toBe(0);
  const sample = names.filter((_, i) => i % 50 === 0);
  for (const name of sample) await client.query(`CREATE SCHEMA "${name}"`);
  const { rows: created } = await client.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = ANY($1::text[])',
    [sample],
  );
  expect(created[0]!.n).toBe(sample.length);
});

it('ids differing only by case or punctuation never share a schema; the old rule folded them', () => {
  const groups = [
    ['acme.corp', 'acme-corp', 'acme_corp', 'Acme_Corp', 'ACME.CORP', 'acme corp', 'acme__corp'],
    ['café', 'cafè', 'cafe', 'CAFÉ'],
    ['日本', '中国', '한국'],
  ];
  for (const group of groups) {
    const schemas = group.map(defaultWorkspaceSchema);
    expect(new Set(schemas).size, group.join(', ')).toBe(group.length);
    expect(new Set(group.map(legacyWorkspaceSchema)).size).toBeLessThan(group.length);
  }
});

it('the rule is stable: ids that were already plain identifiers keep their old schema name', () => {
  for (const id of ['acme', 'globex', 'big', 'acme_corp', 'tenant_42', 'a'.repeat(53)]) {
    expect(defaultWorkspaceSchema(id)).toBe(legacyWorkspaceSchema(id));
    expect(defaultWorkspaceSchema(id)).toBe(`workspace_${id}`);
  }
  // Pinned: a later version must derive the same names, or existing caches would be orphaned.
  expect(defaultWorkspaceSchema('acme.corp')).toBe('workspace_acme_corp__80a1d5cc623b165f66275c16');
  expect(defaultWorkspaceSchema('Acme')).toBe('workspace_acme__37036cd8f9746d335038eca9');
  expect(defaultWorkspaceSchema('日本')).toBe('workspace___cf2abf0c5be326cb922a70f8');
  expect(defaultWorkspaceSchema('a'.repeat(100))).toHaveLength(63);
});
