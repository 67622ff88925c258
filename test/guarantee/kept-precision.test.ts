import {
  Column,
  CreateDateColumn,
  DataSource,
  Entity,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keptBySharePoint, SharePointList, SharePointSync } from '../../src/index.js';
import { createEmulator, type Emulator } from '../../src/testing/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

// Issue 17, "Exactly what SharePoint keeps": SharePoint keeps date-times to the second and numbers to 15
// significant digits; PostgreSQL keeps more. The capture rounds a row to what SharePoint keeps in the writing
// transaction, so what an application reads before a drop is what it reads after the rebuild, and the pull
// that follows a write never rewrites the row nor writes anything back.

@SharePointList({ title: 'Kept Values', priority: 'P0' })
@Entity('kept_value')
class Kept {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 40 }) name!: string;
  @Column({ type: 'timestamptz', nullable: true }) at?: Date | null;
  @Column({ type: 'timestamp', nullable: true }) localAt?: Date | null;
  @Column({ type: 'numeric', precision: 20, scale: 2, nullable: true }) amount?: string | null;
  @Column({ type: 'numeric', nullable: true }) fine?: string | null;
  @Column({ type: 'double precision', nullable: true }) ratio?: number | null;
  @Column({ type: 'real', nullable: true }) small?: number | null;
  @Column({ type: 'integer', nullable: true }) count?: number | null;
  @Column({ type: 'text', nullable: true }) notes?: string | null;
  @Column({ type: 'json', nullable: true }) meta?: unknown;
  @CreateDateColumn({ type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ type: 'timestamptz' }) updatedAt!: Date;
}

const SITE = 'contoso.sharepoint.com:/sites/kept';
const LONG = `${'Ünïcødé 😀 line\n'.repeat(1500)}end`; // 25,000+ UTF-16 code units of multi-line text

let emulator: Emulator;
let baseUrl = '';
const databases: TestDatabase[] = [];
const sources: DataSource[] = [];
const syncs: SharePointSync[] = [];

async function attachTo(db: TestDatabase) {
  const dataSource = await new DataSource({
    type: 'postgres',
    url: db.url,
    entities: [Kept],
    synchronize: true,
  }).initialize();
  sources.push(dataSource);
  const sync = await SharePointSync.attach(dataSource, {
    site: { hostname: 'contoso.sharepoint.com', path: '/sites/kept' },
    graph: { baseUrl, budget: { resourceUnitsPerMinute: 1_000_000 } },
    writeback: { runWorker: false },
    inbound: { pollIntervalSeconds: 0 },
  });
  syncs.push(sync);
  return { dataSource, sync };
}

/** Every row's hash (its whole text as PostgreSQL holds it), by id. */
async function rowHashes(dataSource: DataSource): Promise<Record<string, string>> {
  const rows = (await dataSource.query(
    'SELECT k.id::text AS id, md5(row_to_json(k)::text) AS hash FROM kept_value k ORDER BY k.id',
  )) as { id: string; hash: string }[];
  return Object.fromEntries(rows.map((r) => [r.id, r.hash]));
}

/** What the application reads through its repository. */
async function appRead(dataSource: DataSource): Promise<unknown> {
  return JSON.parse(JSON.stringify(await dataSource.getRepository(Kept).find({ order: { id: 'ASC' } })));
}

const itemWrites = () =>
  emulator.log.entries.filter((e) => e.method !== 'GET' && /\/items(\/|$)/.test(e.path)).length;

beforeAll(async () => {
  emulator = createEmulator({ sites: [SITE], seed: 17 });
  baseUrl = `${(await emulator.listen()).url}/v1.0`;
});

afterAll(async () => {
  for (const s of syncs) await s.close();
  for (const ds of sources) if (ds.isInitialized) await ds.destroy();
  await emulator?.close();
  for (const db of databases) await db.drop();
});

describe('what SharePoint keeps', () => {
  it('a drop and rebuild gives every row back identical; the pull after a write rewrites nothing and sends nothing', async () => {
    const first = await createTestDatabase();
    databases.push(first);
    const a = await attachTo(first);
    await a.sync.ensureLoaded(Kept);
    const repo = a.dataSource.getRepository(Kept);
    await repo.save([
      {
        name: 'precise',
        at: new Date('2026-12-01T03:18:17.310Z'),
        localAt: new Date('2026-12-01T03:18:17.999Z'),
        amount: '123456789012345678.91',
        fine: '0.12345678901234567890',
        ratio: 0.1 + 0.2,
        small: 1.1,
        count: 42,
        notes: LONG,
        meta: { b: 1, a: [1, 2, { d: true, c: 'x' }] },
      },
      {
        name: 'empty',
        notes: '',
        amount: '0.10',
        ratio: -1234.5678,
        at: new Date('1969-12-31T23:59:59.500Z'),
      },
      { name: 'nulls' },
    ]);
    await repo.update({ name: 'nulls' }, { at: new Date('2026-01-01T00:00:00.001Z') });
    await a.sync.flush();

    const before = await rowHashes(a.dataSource);
    const readBefore = await appRead(a.dataSource);
    expect(Object.keys(before)).toHaveLength(3);
    const precise = (readBefore as Record<string, unknown>[]).find((r) => r.name === 'precise')!;
    expect(precise.at).toBe('2026-12-01T03:18:17.000Z');
    // numeric(20, 2) and an unconstrained numeric are beyond a SharePoint number's 15 digits: kept exactly, as
    // decimal text (docs/schema.md, "Exact numbers"); a double is rounded to 15 significant digits.
    expect(precise.amount).toBe('123456789012345678.91');
    expect(precise.fine).toBe('0.12345678901234567890');
    expect(precise.ratio).toBe(0.3);
    expect(precise.notes).toBe(LONG);
    expect((readBefore as Record<string, unknown>[]).find((r) => r.name === 'empty')!.notes).toBeNull();

    // The pull after the write: nothing rewritten (same row versions), nothing queued, nothing sent.
    const xmins = await a.dataSource.query('SELECT id::text, xmin::text FROM kept_value ORDER BY id');
    const writesBefore = itemWrites();
    await a.sync.pull(Kept);
    expect(await a.dataSource.query('SELECT id::text, xmin::text FROM kept_value ORDER BY id')).toEqual(
      xmins,
    );
    expect((await a.sync.pending()).total).toBe(0);
    await a.sync.flush();
    expect(itemWrites()).toBe(writesBefore);
    expect((await a.sync.verify()).ok).toBe(true);

    // The database is lost: a new one, rebuilt from SharePoint.
    const second = await createTestDatabase();
    databases.push(second);
    const b = await attachTo(second);
    await b.sync.rebuild();
    expect(await rowHashes(b.dataSource)).toEqual(before);
    expect(await appRead(b.dataSource)).toEqual(readBefore);

    // And the pull after the rebuild writes nothing back either.
    await b.sync.pull(Kept);
    await b.sync.flush();
    expect((await b.sync.pending()).total).toBe(0);
    expect(itemWrites()).toBe(writesBefore);
    expect(await rowHashes(b.dataSource)).toEqual(before);
  });

  it('keptBySharePoint: the same rule in JavaScript', () => {
    const field = (kind: string, nullable = true) => ({ kind, nullable }) as never;
    expect(keptBySharePoint(field('dateTime'), new Date('2026-12-01T03:18:17.310Z'))).toEqual(
      new Date('2026-12-01T03:18:17.000Z'),
    );
    expect(keptBySharePoint(field('dateTime'), new Date('1969-12-31T23:59:59.500Z'))).toEqual(
      new Date('1969-12-31T23:59:59.000Z'),
    );
    expect(keptBySharePoint(field('number'), 0.1 + 0.2)).toBe(0.3);
    expect(keptBySharePoint(field('number'), '123456789012345678.91')).toBe('123456789012346000');
    expect(keptBySharePoint(field('note'), '')).toBeNull();
    expect(keptBySharePoint(field('note', false), '')).toBe('');
    expect(keptBySharePoint(field('integer'), 7)).toBe(7);
  });
});
