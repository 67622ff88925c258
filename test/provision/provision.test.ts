import { Column, DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphClient } from '../../src/graph/index.js';
import {
  applyProvisioning,
  DriftError,
  formatPlan,
  formatProvisioningResult,
  PermissionError,
  planProvisioning,
  resolveSite,
  SiteNotFoundError,
} from '../../src/provision/index.js';
import { readListSchemas, SharePointList } from '../../src/schema/index.js';
import { createEmulator, type Emulator } from '../../src/testing/index.js';
import { twentyModel } from '../schema/model.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const SITE = { hostname: 'contoso.sharepoint.com', path: '/sites/provision' };
const SITE_REF = 'contoso.sharepoint.com:/sites/provision';

@SharePointList({ title: 'Firms' })
@Entity('firm_v1')
class FirmV1 {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 80 }) name!: string;
}

/** The same list one release later: one property more. */
@SharePointList({ title: 'Firms' })
@Entity('firm_v2')
class FirmV2 {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 80 }) name!: string;
  @Column({ type: 'integer', nullable: true }) headcount?: number | null;
}

@SharePointList({ title: 'Drifty' })
@Entity('drifty')
class Drifty {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'integer', nullable: true }) score?: number | null;
}

/** A list made by an earlier release, when TwentyId was required. */
@SharePointList({ title: 'Legacy Firms' })
@Entity('legacy_firm')
class LegacyFirm {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 50 }) name!: string;
}

let db: TestDatabase;
let emulator: Emulator;
let graph: GraphClient;
const sources: DataSource[] = [];

async function lists(entities: Function[]) {
  const ds = new DataSource({ type: 'postgres', url: db.url, entities });
  await ds.initialize();
  sources.push(ds);
  return readListSchemas(ds);
}

const writes = () => emulator.log.entries.filter((e) => e.method !== 'GET' && e.path !== '/$batch');

beforeAll(async () => {
  db = await createTestDatabase();
  emulator = createEmulator({ sites: [SITE_REF] });
  const { url } = await emulator.listen();
  graph = new GraphClient({ baseUrl: `${url}/v1.0`, budget: { resourceUnitsPerMinute: 1_000_000 } });
});
afterAll(async () => {
  for (const ds of sources) await ds.destroy();
  await emulator.close();
  await db.drop();
});

// One site walked through in order: the first step plans and creates the lists, the next ones change them,
// so the steps keep their order under --sequence.shuffle.
describe('bootstrap', { shuffle: false }, () => {
  it('plans without changing anything, then creates every list and column as defined', async () => {
    const site = await resolveSite(graph, SITE);
    const schemas = await lists(twentyModel);
    emulator.log.reset();
    const plan = await planProvisioning(graph, site.id, schemas);
    expect(writes()).toEqual([]);
    expect(plan.lists.map((l) => [l.title, l.action])).toEqual([
      ['Companies', 'create'],
      ['Tags', 'create'],
      ['People', 'create'],
      ['Opportunities', 'create'],
      ['People Tags', 'create'],
    ]);
    const text = formatPlan(plan);
    expect(text).toContain('+ create list "Companies" (Company)');
    expect(text).toContain('TwentyId text(36) indexed unique');

    const result = await applyProvisioning(graph, plan);
    expect(result.createdLists).toHaveLength(5);
    const emulated = emulator.site(SITE_REF);
    for (const schema of schemas) {
      const list = emulated.list(schema.title)!;
      expect(result.listIds.get(schema.entityName)).toBe(list.id);
      const byName = new Map(list.columns().map((c) => [c.name, c]));
      for (const field of [schema.idField, ...schema.fields]) {
        const column = byName.get(field.name)!;
        expect(column, `${schema.title}.${field.name}`).toBeDefined();
        for (const key of ['required', 'indexed', 'displayName'] as const) {
          expect(column[key], `${schema.title}.${field.name}.${key}`).toEqual(field.definition[key]);
        }
        const facet = Object.keys(field.definition).find((k) =>
          ['text', 'number', 'boolean', 'dateTime', 'choice'].includes(k),
        )!;
        expect(column[facet], `${schema.title}.${field.name} facet`).toMatchObject(
          field.definition[facet] as object,
        );
      }
      expect(byName.get('TwentyId')).toMatchObject({
        enforceUniqueValues: true,
        indexed: true,
        required: false,
      });
      expect(byName.get('Title')?.required).toBe(false);
    }
  });

  it('a second bootstrap sends zero writes and reads the site in one request', async () => {
    const site = await resolveSite(graph, SITE);
    emulator.log.reset();
    const plan = await planProvisioning(graph, site.id, await lists(twentyModel));
    const result = await applyProvisioning(graph, plan);
    expect(plan.upToDate).toBe(true);
    expect(result.createdColumns).toEqual([]);
    expect(emulator.log.entries.map((e) => `${e.method} ${e.path}`)).toEqual([`GET /sites/${site.id}/lists`]);
    expect(formatPlan(plan)).toContain('Nothing to do.');
  });

  it('adding a property to an entity adds exactly that column', async () => {
    const site = await resolveSite(graph, SITE);
    await applyProvisioning(graph, await planProvisioning(graph, site.id, await lists([FirmV1])));
    emulator.log.reset();
    const plan = await planProvisioning(graph, site.id, await lists([FirmV2]));
    expect(plan.lists[0]).toMatchObject({
      action: 'update',
      columnsToCreate: [expect.objectContaining({ name: 'Headcount' })],
    });
    const result = await applyProvisioning(graph, plan);
    expect(result.createdColumns).toEqual([{ list: 'Firms', column: 'Headcount' }]);
    const inner = emulator.log.entries.filter((e) => e.inBatch);
    expect(inner.map((e) => `${e.method} ${e.path.replace(/.*\/lists\/[^/]+/, '')}`)).toEqual([
      'POST /columns',
    ]);
  });

  it('reports drift it will not fix, and fails on it when asked', async () => {
    const site = await resolveSite(graph, SITE);
    emulator.site(SITE_REF).createList({
      displayName: 'Drifty',
      columns: [
        {
          name: 'TwentyId',
          text: { maxLength: 36 },
          indexed: true,
          enforceUniqueValues: true,
          required: true,
        },
        { name: 'Score', text: { maxLength: 20 } },
        { name: 'Remarks', text: { allowMultipleLines: true } },
      ],
    });
    const plan = await planProvisioning(graph, site.id, await lists([Drifty]));
    expect(plan.lists[0]!.drift.map((d) => [d.column, d.problem])).toEqual([
      ['Score', 'type'],
      ['Remarks', 'extraColumn'],
    ]);
    expect(formatPlan(plan)).toMatch(
      /! drift \(not changed\): Score: SharePoint has text, the entity needs number/,
    );
    emulator.log.reset();
    await expect(applyProvisioning(graph, plan, { failOnDrift: true })).rejects.toBeInstanceOf(DriftError);
    expect(writes()).toEqual([]);
    const applied = await applyProvisioning(graph, plan);
    expect(applied.drift).toHaveLength(2);
    const score = emulator
      .site(SITE_REF)
      .list('Drifty')!
      .columns()
      .find((c) => c.name === 'Score')!;
    expect(score.text).toBeDefined();
  });

  it('migrates a list whose TwentyId is required with one column PATCH, and says so', async () => {
    const site = await resolveSite(graph, SITE);
    const legacy = emulator.site(SITE_REF).createList({
      displayName: 'Legacy Firms',
      columns: [
        {
          name: 'TwentyId',
          text: { maxLength: 36 },
          indexed: true,
          enforceUniqueValues: true,
          required: true,
        },
        { name: 'Name', text: { maxLength: 50 }, required: true },
      ],
    });
    const idColumn = () => legacy.columns().find((c) => c.name === 'TwentyId')!;
    // The Title of that list was relaxed long ago: only the id column is left to migrate.
    const title = legacy.columns().find((c) => c.name === 'Title')!;
    await graph.patch(`/sites/${site.id}/lists/${legacy.id}/columns/${title.id}`, { required: false });
    const plan = await planProvisioning(graph, site.id, await lists([LegacyFirm]));
    expect(plan.lists[0]).toMatchObject({
      action: 'update',
      columnsToCreate: [],
      relaxIdColumn: { id: idColumn().id, name: 'TwentyId' },
    });
    expect(formatPlan(plan)).toContain('~ make TwentyId optional (stays indexed and unique)');

    emulator.log.reset();
    const result = await applyProvisioning(graph, plan);
    const inner = emulator.log.entries.filter((e) => e.inBatch);
    expect(inner.map((e) => `${e.method} ${e.path.replace(/.*\/lists\/[^/]+/, '')}`)).toEqual([
      `PATCH /columns/${idColumn().id}`,
    ]);
    expect(result.relaxedColumns).toEqual([{ list: 'Legacy Firms', column: 'TwentyId' }]);
    expect(formatProvisioningResult(result)).toContain(
      '~ made column Legacy Firms.TwentyId optional (still indexed and unique)',
    );
    expect(formatProvisioningResult(result)).toContain('1 column(s) made optional');
    expect(idColumn()).toMatchObject({ required: false, indexed: true, enforceUniqueValues: true });
    // Migrated once: the next bootstrap has nothing to do.
    expect((await planProvisioning(graph, site.id, await lists([LegacyFirm]))).upToDate).toBe(true);
  });

  it('a missing site tells the admin what to create', async () => {
    const error = await resolveSite(graph, {
      hostname: 'contoso.sharepoint.com',
      path: '/sites/nowhere',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SiteNotFoundError);
    expect((error as Error).message).toMatch(
      /https:\/\/contoso\.sharepoint\.com\/sites\/nowhere does not exist.*ask a SharePoint admin to create it/,
    );
  });

  it('a 403 names the permission needed', async () => {
    const denied = new GraphClient({
      baseUrl: 'http://127.0.0.1:9/v1.0',
      retry: { attempts: 1 },
      fetch: async () =>
        new Response(JSON.stringify({ error: { code: 'accessDenied', message: 'Access denied' } }), {
          status: 403,
          headers: { 'content-type': 'application/json' },
        }),
    });
    const error = await resolveSite(denied, SITE).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermissionError);
    expect((error as Error).message).toContain(
      'Sites.Selected with write access on the site, or Sites.ReadWrite.All',
    );
  });
});
