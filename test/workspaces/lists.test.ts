import pg from 'pg';
import { DataSource, type ObjectLiteral } from 'typeorm';
import { type ListConfig, SchemaError, WorkspaceAttachError } from 'typeorm-sharepoint';
import { twentyLists, twentyWorkspaceSchema } from 'typeorm-sharepoint/twenty';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { standardObjects } from '../../examples/twenty-crm/metadata.js';
import {
  TWENTY_FUNCTIONS_SQL,
  twentyEntitySchemas,
  twentyWorkspaceDdl,
} from '../../examples/twenty-crm/workspace.js';
import { createWorkspacesHarness, type WorkspacesHarness } from './harness.js';

// Issue 18: the per-workspace `lists` setting (Twenty's objects-to-sync setting). Every workspace has the same
// Twenty-built EntitySchemas (all eight standard objects); each one's `lists` decides which of them its own site
// gets, under which titles and with which columns. A `lists` entry naming an entity the DataSource does not have
// fails that workspace's attach.

const SITES = {
  acme: 'contoso.sharepoint.com:/sites/Lists-acme',
  globex: 'contoso.sharepoint.com:/sites/Lists-globex',
  initech: 'contoso.sharepoint.com:/sites/Lists-initech',
};
const WORKSPACE_IDS: Record<keyof typeof SITES, string> = {
  acme: '0f6c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f',
  globex: '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
  initech: '2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e',
};

/** acme syncs companies and people. */
const ACME_LISTS = twentyLists(standardObjects, { objects: ['company', 'person'] });
/** globex syncs companies (its own title, one column left out) and opportunities. */
const GLOBEX_LISTS: Record<string, ListConfig> = (() => {
  const lists = twentyLists(standardObjects, {
    objects: ['company', 'opportunity'],
    titles: { company: 'Accounts' },
  });
  lists.company!.columns = { ...lists.company!.columns, tagline: false };
  return lists;
})();

let h: WorkspacesHarness;

/** Twenty's side of a workspace: its tables (as the migration runner creates them) and its EntitySchemas. */
function twentyWorkspace(id: keyof typeof SITES, lists: Record<string, ListConfig>) {
  h.definitions.set(id, {
    settings: { site: SITES[id], syncMode: 'immediate', lists },
    schema: twentyWorkspaceSchema(WORKSPACE_IDS[id]),
    dataSource: async (schema) => {
      const client = new pg.Client({ connectionString: h.db.url });
      await client.connect();
      try {
        await client.query(TWENTY_FUNCTIONS_SQL);
        for (const statement of twentyWorkspaceDdl(standardObjects, schema)) await client.query(statement);
      } finally {
        await client.end();
      }
      return new DataSource({
        type: 'postgres',
        url: h.db.url,
        entities: twentyEntitySchemas(standardObjects, schema),
        extra: { max: 4 },
      });
    },
  });
}

const listTitles = (id: keyof typeof SITES) =>
  h.emulator
    .site(SITES[id])
    .lists()
    .map((l) => l.displayName)
    .sort();
const columnsOf = (id: keyof typeof SITES, title: string) =>
  h.emulator
    .site(SITES[id])
    .list(title)!
    .columns()
    .map((c) => c.name);

beforeAll(async () => {
  h = await createWorkspacesHarness(SITES);
  twentyWorkspace('acme', ACME_LISTS);
  twentyWorkspace('globex', GLOBEX_LISTS);
  // A typo in the objects-to-sync setting.
  twentyWorkspace('initech', { compnay: { title: 'Companies' } });
});

afterAll(async () => {
  await h?.close();
});

describe("per-workspace lists (one database, Twenty's EntitySchemas, a site per workspace)", {
  shuffle: false,
}, () => {
  it("each workspace's site gets the lists its own setting names, with its titles and columns", async () => {
    const acme = await h.workspaces.workspace('acme');
    const globex = await h.workspaces.workspace('globex');
    expect(acme.sync.lists.map((l) => [l.entityName, l.title])).toEqual([
      ['company', 'Companies'],
      ['person', 'People'],
    ]);
    expect(globex.sync.lists.map((l) => [l.entityName, l.title])).toEqual([
      ['company', 'Accounts'],
      ['opportunity', 'Opportunities'],
    ]);
    expect(listTitles('acme')).toEqual(['Companies', 'People']);
    expect(listTitles('globex')).toEqual(['Accounts', 'Opportunities']);
    expect(columnsOf('acme', 'Companies')).toContain('Tagline');
    expect(columnsOf('globex', 'Accounts')).not.toContain('Tagline');
    expect(columnsOf('globex', 'Accounts')).toContain('Name');
  });

  it('writes reach only the lists each workspace syncs; an object a workspace does not sync stays local', async () => {
    const acme = await h.workspaces.workspace('acme');
    const globex = await h.workspaces.workspace('globex');
    const repo = (ds: DataSource, name: string) => ds.getRepository<ObjectLiteral>(name);
    const acmeCorp = await repo(acme.dataSource, 'company').save({
      name: 'Acme Corp',
      tagline: 'Desert tools',
    });
    await repo(acme.dataSource, 'person').save({ nameFirstName: 'Wile', company: acmeCorp });
    await repo(acme.dataSource, 'opportunity').save({ name: 'Local deal', company: acmeCorp });
    const globexCorp = await repo(globex.dataSource, 'company').save({
      name: 'Globex',
      tagline: 'Local only',
    });
    await repo(globex.dataSource, 'opportunity').save({ name: 'Big deal', company: globexCorp });
    await repo(globex.dataSource, 'person').save({ nameFirstName: 'Hank', company: globexCorp });
    await acme.sync.flush();
    await globex.sync.flush();

    const titles = (id: keyof typeof SITES, list: string) =>
      h.emulator
        .site(SITES[id])
        .list(list)!
        .items()
        .map((i) => i.fields.Title);
    expect(titles('acme', 'Companies')).toEqual(['Acme Corp']);
    expect(titles('acme', 'People')).toEqual(['Wile']);
    expect(titles('globex', 'Accounts')).toEqual(['Globex']);
    expect(titles('globex', 'Opportunities')).toEqual(['Big deal']);
    // acme does not sync opportunities, globex not people: no list was created for them.
    expect(listTitles('acme')).toEqual(['Companies', 'People']);
    expect(listTitles('globex')).toEqual(['Accounts', 'Opportunities']);
    const [acmeItem] = h.emulator.site(SITES.acme).list('Companies')!.items();
    const [globexItem] = h.emulator.site(SITES.globex).list('Accounts')!.items();
    expect(acmeItem!.fields.Tagline).toBe('Desert tools');
    expect(Object.keys(globexItem!.fields)).not.toContain('Tagline');
  });

  it('an entity name the DataSource does not have fails the attach: WorkspaceAttachError caused by a SchemaError', async () => {
    const error = await h.workspaces.workspace('initech').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkspaceAttachError);
    expect(error).toMatchObject({ code: 'WORKSPACE_ATTACH_FAILED', workspace: 'initech' });
    const cause = (error as WorkspaceAttachError).cause;
    expect(cause).toBeInstanceOf(SchemaError);
    expect(cause).toMatchObject({
      code: 'SCHEMA_INVALID',
      entity: 'compnay',
      column: undefined,
      rule: 'unknownEntity',
    });
    expect((error as Error).message).toContain(
      'workspace "initech" could not be attached: typeorm-sharepoint: compnay: attach\'s lists names compnay, which this DataSource does not have',
    );
    // Refused before a single request to the site (the lists are read before the site is resolved).
    expect(h.requestsFor('initech')).toEqual([]);
    expect(listTitles('initech')).toEqual([]);
    expect(h.workspaces.attached()).not.toContain('initech');
  });
});
