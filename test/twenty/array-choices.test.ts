import pg from 'pg';
import { DataSource } from 'typeorm';
import {
  type ListSchema,
  type SharePointColumnOptions,
  SharePointSync,
  ValidationError,
} from 'typeorm-sharepoint';
import { createEmulator, type Emulator } from 'typeorm-sharepoint/testing';
import { twentyLists, twentyWorkspaceSchema } from 'typeorm-sharepoint/twenty';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pet } from '../../examples/twenty-crm/metadata.js';
import {
  TWENTY_FUNCTIONS_SQL,
  twentyEntitySchemas,
  twentyWorkspaceDdl,
} from '../../examples/twenty-crm/workspace.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

// Issue 18: Twenty's ARRAY (`text[]`) is multi-line text holding a JSON array, "or multi-choice when the user
// says so" — the column option `choices` (src/schema/columns.ts, kindOf). End to end: the column SharePoint
// gets, the values it holds after a flush, and the rows a rebuild gives back (real PostgreSQL, loopback
// emulator).

const SITE = 'contoso.sharepoint.com:/sites/pet-facts';
const SCHEMA = twentyWorkspaceSchema('5d0c6e2a-8f3b-4b1e-9c7d-2a4f6b8c0e13');
const CHOICES = ['naps', 'walks', 'treats, crunchy ones'];

let db: TestDatabase;
let emulator: Emulator;
let ds: DataSource;
let sync: SharePointSync;

/** Every column of every pet row as PostgreSQL prints it. */
async function snapshot(): Promise<Record<string, string | null>[]> {
  const rows: { row: Record<string, string | null> }[] = await ds.query(
    `SELECT (SELECT jsonb_object_agg(key, value) FROM jsonb_each_text(to_jsonb(p))) AS row
       FROM "${SCHEMA}"."_pet" p ORDER BY name`,
  );
  return rows.map((r) => r.row);
}

async function insert(values: Record<string, unknown>) {
  const columns = Object.keys(values);
  await ds.query(
    `INSERT INTO "${SCHEMA}"."_pet" (${columns.map((c) => `"${c}"`).join(', ')})
     SELECT ${columns.map((c) => `r."${c}"`).join(', ')}
       FROM jsonb_populate_record(NULL::"${SCHEMA}"."_pet", $1) r`,
    [JSON.stringify(values)],
  );
}

const field = (property: string) =>
  (sync.lists[0] as ListSchema).fields.find((f) => f.property === property)!;

beforeAll(async () => {
  db = await createTestDatabase();
  emulator = createEmulator({ sites: [SITE] });
  const baseUrl = `${(await emulator.listen()).url}/v1.0`;
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query(TWENTY_FUNCTIONS_SQL);
  for (const statement of twentyWorkspaceDdl([pet], SCHEMA)) await client.query(statement);
  await client.end();
  ds = await new DataSource({
    type: 'postgres',
    url: db.url,
    entities: twentyEntitySchemas([pet], SCHEMA),
  }).initialize();
  // The operator's word: this ARRAY field holds a fixed set of values.
  const lists = twentyLists([pet]);
  const columns = lists.pet!.columns!;
  columns.interestingFacts = { ...(columns.interestingFacts as SharePointColumnOptions), choices: CHOICES };
  sync = await SharePointSync.attach(ds, {
    site: { hostname: 'contoso.sharepoint.com', path: '/sites/pet-facts' },
    graph: { baseUrl },
    writeback: { runWorker: false },
    inbound: { pollIntervalSeconds: 0 },
    lists,
  });
});

afterAll(async () => {
  await sync?.close();
  if (ds?.isInitialized) await ds.destroy();
  await emulator?.close();
  await db?.drop();
});

describe('text[] as multi-choice when the operator says so (real PostgreSQL, loopback emulator)', {
  shuffle: false,
}, () => {
  it('bootstrap creates a multi-choice column with the given choices', () => {
    const column = emulator
      .site(SITE)
      .list('Pets')!
      .columns()
      .find((c) => c.name === field('interestingFacts').name);
    expect(column).toMatchObject({
      displayName: 'Interesting facts',
      choice: { choices: CHOICES, displayAs: 'checkBoxes', allowTextEntry: false },
    });
    expect((column as unknown as Record<string, unknown>).text).toBeUndefined();
  });

  it('a flush sends the array as a multi-choice value (not JSON text); an empty one as no value', async () => {
    await insert({ name: 'Rex', interestingFacts: ['naps', 'treats, crunchy ones'] });
    await insert({ name: 'Empty', interestingFacts: [] });
    await insert({ name: 'Nulls' });
    expect((await sync.flush()).sent).toBe(3);
    const items = emulator.site(SITE).list('Pets')!.items();
    const facts = (name: string) =>
      items.find((i) => i.fields.Title === name)!.fields[field('interestingFacts').name] ?? null;
    expect(facts('Rex')).toEqual(['naps', 'treats, crunchy ones']);
    expect(facts('Empty')).toBeNull();
    expect(facts('Nulls')).toBeNull();
  });

  it('refuses before commit a value that is not one of the choices', async () => {
    const error = await ds
      .getRepository('pet')
      .save({ name: 'Bad', interestingFacts: ['naps', 'swims'] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ entity: 'pet', field: 'interestingFacts', rule: 'choice' });
    expect((await snapshot()).map((r) => r.name)).not.toContain('Bad');
  });

  it('a rebuild gives back every row (an empty selection comes back NULL, as documented)', async () => {
    const before = await snapshot();
    expect(before.find((r) => r.name === 'Rex')!.interestingFacts).toBe('["naps", "treats, crunchy ones"]');
    expect(before.find((r) => r.name === 'Empty')!.interestingFacts).toBe('[]');
    await sync.rebuild();
    const after = await snapshot();
    expect(after).toEqual(
      before.map((row) => (row.name === 'Empty' ? { ...row, interestingFacts: null } : row)),
    );
    expect((await sync.verify()).ok).toBe(true);
  });
});
