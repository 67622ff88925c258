import { Column, DataSource, Entity, ManyToOne, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import {
  SchemaError,
  SharePointColumn,
  SharePointList,
  SharePointSync,
  ValidationError,
} from 'typeorm-sharepoint';
import { createEmulator, type Emulator } from 'typeorm-sharepoint/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

// Issue 15, "Validation agrees with SharePoint before commit": nothing SharePoint refuses may commit.

const SITE = 'contoso.sharepoint.com:/sites/rules';

@SharePointList({ title: 'Rule Notes' })
@Entity('rule_note')
class RuleNote {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 10 }) label!: string;
}

@SharePointList({ title: 'Rule Codes' })
@Entity('rule_code')
class RuleCode {
  @PrimaryColumn({ type: 'varchar', length: 64 }) code!: string;
  @Column({ type: 'varchar', length: 20 }) name!: string;
}

// Not a SharePoint list: a local-only table.
@Entity('rule_region')
class RuleRegion {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar' }) name!: string;
}

@SharePointList({ title: 'Rule Shops' })
@Entity('rule_shop')
class RuleShop {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 20 }) name!: string;
  @ManyToOne(() => RuleRegion, { nullable: true }) region?: RuleRegion | null;
}

@SharePointList({ title: 'Rule Depots' })
@Entity('rule_depot')
class RuleDepot {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 20 }) name!: string;
  @SharePointColumn({ localTarget: true })
  @ManyToOne(() => RuleRegion, { nullable: true })
  region?: RuleRegion | null;
}

let db: TestDatabase;
let emulator: Emulator;
let baseUrl: string;
const sources: DataSource[] = [];
const syncs: SharePointSync[] = [];

async function attach(entities: Function[]) {
  const dataSource = await new DataSource({
    type: 'postgres',
    url: db.url,
    entities,
    synchronize: true,
  }).initialize();
  sources.push(dataSource);
  const sync = await SharePointSync.attach(dataSource, {
    site: { hostname: 'contoso.sharepoint.com', path: '/sites/rules' },
    graph: { baseUrl },
    writeback: { runWorker: false },
    inbound: { pollIntervalSeconds: 0 },
  });
  syncs.push(sync);
  return { dataSource, sync };
}

beforeAll(async () => {
  db = await createTestDatabase();
  emulator = createEmulator({ sites: [SITE] });
  baseUrl = `${(await emulator.listen()).url}/v1.0`;
});

afterAll(async () => {
  for (const sync of syncs) await sync.close();
  for (const ds of sources) if (ds.isInitialized) await ds.destroy();
  await emulator?.close();
  await db?.drop();
});

// The emulator step reads the list the first step bootstrapped: the order holds under shuffle.
describe('validation counts and refuses as SharePoint does (real PostgreSQL, loopback emulator)', {
  shuffle: false,
}, () => {
  it('counts length in UTF-16 code units: 10 emoji do not fit 10 characters; 5 do, and reach SharePoint', async () => {
    const { dataSource, sync } = await attach([RuleNote]);
    const notes = dataSource.getRepository(RuleNote);
    const error = await notes.save({ label: '😀'.repeat(10) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ entity: 'RuleNote', field: 'label', rule: 'maxLength' });
    expect((error as Error).message).toContain('20 characters as SharePoint counts them');
    expect(await notes.count()).toBe(0);
    await notes.save({ label: '😀'.repeat(5) });
    await sync.flush();
    const items = emulator.site(SITE).list('Rule Notes')!.items();
    expect(items.map((i) => i.fields.Label)).toEqual(['😀'.repeat(5)]);
    expect(await sync.deadLetters()).toEqual([]);
  });

  it('the emulator refuses what validation refuses: 20 code units in a 10-character column', async () => {
    const list = emulator.site(SITE).list('Rule Notes')!;
    const siteId = (await (await fetch(`${baseUrl}/sites/contoso.sharepoint.com:/sites/rules`)).json()).id;
    const answer = await fetch(`${baseUrl}/sites/${siteId}/lists/${list.id}/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ fields: { Label: '😀'.repeat(10) } }),
    });
    expect(answer.status).toBe(400);
  });

  it('refuses a text key longer than TwentyId holds (36) before commit, naming the rule', async () => {
    const { dataSource, sync } = await attach([RuleCode]);
    const codes = dataSource.getRepository(RuleCode);
    const error = await codes.save({ code: 'k'.repeat(40), name: 'too long' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ entity: 'RuleCode', field: 'code', column: 'TwentyId', rule: 'maxLength' });
    expect(await codes.count()).toBe(0);
    await codes.save({ code: 'k'.repeat(36), name: 'fits' });
    await sync.flush();
    expect(emulator.site(SITE).list('Rule Codes')!.items()).toHaveLength(1);
  });

  it('a relation to an entity that is not a SharePoint list is a SchemaError at attach', async () => {
    const error = await attach([RuleRegion, RuleShop]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SchemaError);
    expect(error).toMatchObject({ entity: 'RuleShop', column: 'region', rule: 'relationTarget' });
    expect((error as Error).message).toContain('RuleRegion');
    expect((error as Error).message).toContain('localTarget');
  });

  it('…unless the relation opts in with @SharePointColumn({ localTarget: true })', async () => {
    const { dataSource, sync } = await attach([RuleRegion, RuleDepot]);
    const region = await dataSource.getRepository(RuleRegion).save({ name: 'North' });
    await dataSource.getRepository(RuleDepot).save({ name: 'Depot', region });
    await sync.flush();
    const [item] = emulator.site(SITE).list('Rule Depots')!.items();
    expect(item!.fields.RegionId).toBe(region.id);
  });
});
