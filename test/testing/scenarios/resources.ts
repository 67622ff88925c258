// biome-ignore-all lint/suspicious/noExplicitAny: JSON read off the wire, asserted field by field
import { describe, expect, it } from 'vitest';
import { createEmulator } from '../../../src/testing/index.js';
import { shapeViolations } from '../../support/graph-schema.js';
import { allPages, call, SITE, SITE_PATH, type Transport, useEmulator } from '../support.js';
import { ORDERED, q, TWENTY_LIST } from './common.js';

/** Every behaviour of the emulator, proven over one transport (the msw and loopback files both run these). */
/** Sites, lists and columns: a site by path and id, lists, columns. */
export function sitesListsAndColumnsScenario(transport: Transport): void {
  describe(`sites, lists and columns (${transport.name})`, ORDERED, () => {
    const ctx = useEmulator(transport);

    it('answers a site by path (with or without the closing colon) and by id; 404 for a site not listed', async () => {
      const byPath = await ctx.call('GET', SITE_PATH);
      expect(byPath.status).toBe(200);
      expect(byPath.json.id).toBe(ctx.siteId);
      expect(shapeViolations('site', byPath.json)).toEqual([]);
      expect((await ctx.call('GET', `${SITE_PATH}:`)).json.id).toBe(ctx.siteId);
      expect((await ctx.call('GET', `/sites/${ctx.siteId}`)).json.webUrl).toBe(
        'https://contoso.sharepoint.com/sites/emu',
      );
      const missing = await ctx.call('GET', '/sites/contoso.sharepoint.com:/sites/other');
      expect(missing.status).toBe(404);
      expect(missing.json.error.code).toBe('itemNotFound');
      expect((await ctx.call('GET', '/sites/not-a-site-id/lists')).status).toBe(404);
    });

    it('creates a list with columns, refuses a second list of the same title, finds it by id and by title', async () => {
      const created = await ctx.call('POST', `/sites/${ctx.siteId}/lists`, TWENTY_LIST);
      expect(created.status).toBe(201);
      expect(shapeViolations('list', created.json)).toEqual([]);
      expect(created.json.columns.map((c: any) => c.name)).toEqual(
        expect.arrayContaining(['Title', 'TwentyId', 'Code', 'Size']),
      );
      const again = await ctx.call('POST', `/sites/${ctx.siteId}/lists`, TWENTY_LIST);
      expect(again.status).toBe(409);
      const byId = await ctx.call('GET', `/sites/${ctx.siteId}/lists/${created.json.id}`);
      expect(byId.json.displayName).toBe('Companies');
      expect(byId.json.columns).toBeUndefined();
      const byTitle = await ctx.call('GET', `/sites/${ctx.siteId}/lists/Companies?$expand=columns`);
      expect(byTitle.json.id).toBe(created.json.id);
      expect(shapeViolations('list', byTitle.json)).toEqual([]);
      expect((await ctx.call('GET', `/sites/${ctx.siteId}/lists/Nope`)).status).toBe(404);
    });

    it('lists: $expand=columns, $select and $filter on displayName', async () => {
      await ctx.call('POST', `/sites/${ctx.siteId}/lists`, { displayName: "O'Brien notes" });
      const all = await ctx.call('GET', `/sites/${ctx.siteId}/lists?$expand=columns`);
      expect(all.status).toBe(200);
      for (const list of all.json.value) expect(shapeViolations('list', list)).toEqual([]);
      expect(all.json.value.every((l: any) => Array.isArray(l.columns))).toBe(true);
      const narrowed = await ctx.call('GET', `/sites/${ctx.siteId}/lists?$select=id,displayName`);
      const plain = (o: Record<string, unknown>) => Object.keys(o).filter((k) => !k.startsWith('@odata.'));
      for (const list of narrowed.json.value) expect(plain(list).sort()).toEqual(['displayName', 'id']);
      const filtered = await ctx.call(
        'GET',
        `/sites/${ctx.siteId}/lists?$filter=${q("displayName eq 'O''Brien notes'")}&$select=displayName`,
      );
      expect(filtered.json.value.map(plain)).toEqual([['displayName']]);
      expect(filtered.json.value[0].displayName).toBe("O'Brien notes");
    });

    it('columns: create, get by name, PATCH indexed; reserved names, unique without index, renames refused', async () => {
      const columns = `/sites/${ctx.siteId}/lists/Companies/columns`;
      const made = await ctx.call('POST', columns, { name: 'Email', displayName: 'E-mail', text: {} });
      expect(made.status).toBe(201);
      expect(shapeViolations('columnDefinition', made.json)).toEqual([]);
      expect(made.json).toMatchObject({ name: 'Email', displayName: 'E-mail', indexed: false });
      for (const name of ['Title', 'ID', 'Created', 'Modified', 'Author', 'Editor']) {
        const reserved = await ctx.call('POST', columns, { name, text: {} });
        expect(reserved.status, name).toBe(400);
        expect(reserved.json.error.message).toMatch(/reserved/);
      }
      const unique = await ctx.call('POST', columns, { name: 'Vat', text: {}, enforceUniqueValues: true });
      expect(unique.status).toBe(400);
      expect(unique.json.error.code).toBe('invalidRequest');
      const patched = await ctx.call('PATCH', `${columns}/${made.json.id}`, { indexed: true });
      expect(patched.status).toBe(200);
      expect((await ctx.call('GET', `${columns}/Email`)).json.indexed).toBe(true);
      expect((await ctx.call('PATCH', `${columns}/${made.json.id}`, { name: 'Mail' })).status).toBe(400);
      const selected = await ctx.call('GET', `${columns}?$select=id,name,required`);
      expect(selected.json.value.find((c: any) => c.name === 'TwentyId')).toEqual({
        id: expect.any(String),
        name: 'TwentyId',
        required: true,
      });
      const all = await ctx.call('GET', columns);
      for (const c of all.json.value) expect(shapeViolations('columnDefinition', c)).toEqual([]);
    });
  });
}

/** Items: create, read, update, delete, unique and required values, If-Match, $filter. */
export function itemsScenario(transport: Transport): void {
  describe(`items (${transport.name})`, ORDERED, () => {
    const ctx = useEmulator(transport, { listViewThreshold: 8 });
    let items: string;

    it('creates, reads with $expand=fields($select=…), updates two ways, and deletes', async () => {
      await ctx.call('POST', `/sites/${ctx.siteId}/lists`, TWENTY_LIST);
      items = `/sites/${ctx.siteId}/lists/Companies/items`;
      const a = await ctx.call('POST', items, {
        fields: { Title: 'Acme', TwentyId: 'id-a', Code: 'x', Size: 1 },
      });
      expect(a.status).toBe(201);
      expect(shapeViolations('listItem', a.json)).toEqual([]);
      expect(a.json.id).toMatch(/^\d+$/);
      expect(a.json.fields).toMatchObject({ Title: 'Acme', TwentyId: 'id-a', Size: 1 });
      // Without $select, SharePoint's own fields come along, as Graph returns them.
      expect(a.json.fields).toMatchObject({
        id: a.json.id,
        ContentType: 'Item',
        LinkTitle: 'Acme',
        _UIVersionString: '1.0',
        Attachments: false,
        Created: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      });
      const read = await ctx.call('GET', `${items}/${a.json.id}?$expand=fields($select=Title,Size)`);
      expect(shapeViolations('listItem', read.json)).toEqual([]);
      const { '@odata.etag': _etag, ...fields } = read.json.fields;
      expect(fields).toEqual({ Title: 'Acme', Size: 1 });
      const viaItem = await ctx.call('PATCH', `${items}/${a.json.id}`, { fields: { Code: 'y' } });
      expect(viaItem.status).toBe(200);
      expect(viaItem.json.fields.Code).toBe('y');
      const viaFields = await ctx.call('PATCH', `${items}/${a.json.id}/fields`, { Size: 5 });
      expect(viaFields.status).toBe(200);
      expect(viaFields.json).toMatchObject({ Size: 5, Code: 'y', Title: 'Acme' });
      expect(viaFields.json.eTag).toBeUndefined();
      expect(ctx.emulator.site(SITE).list('Companies')!.item(a.json.id)!.fields).toMatchObject({ Size: 5 });
      expect((await ctx.call('DELETE', `${items}/${a.json.id}`)).status).toBe(204);
      expect((await ctx.call('GET', `${items}/${a.json.id}`)).status).toBe(404);
    });

    it('409 on a duplicate unique value (any case); a required or unique column may be left empty, by several items', async () => {
      await ctx.call('POST', items, { fields: { Title: 'B', TwentyId: 'id-b' } });
      const dup = await ctx.call('POST', items, { fields: { Title: 'B2', TwentyId: 'ID-B' } });
      expect(dup.status).toBe(409);
      expect(dup.json.error.code).toBe('nameAlreadyExists');
      expect(dup.json.error.message).toContain('[TwentyId]');
      // SharePoint enforces `required` in its forms only (SharePoint/PnP-JS-Core#376); an empty unique value
      // is no value, so two items without a TwentyId do not collide.
      const first = await ctx.call('POST', items, { fields: { Title: 'no id' } });
      const second = await ctx.call('POST', items, { fields: { Title: 'no id either', TwentyId: '' } });
      expect([first.status, second.status]).toEqual([201, 201]);
      expect(first.json.fields.TwentyId).toBeUndefined();
      const cleared = await ctx.call('PATCH', `${items}/${first.json.id}/fields`, {
        Code: 'x',
        TwentyId: null,
      });
      expect(cleared.status).toBe(200);
      for (const created of [first, second])
        expect((await ctx.call('DELETE', `${items}/${created.json.id}`)).status).toBe(204);
    });

    it('keeps no empty text: an empty string is no value, left out of the fields (docs/schema.md)', async () => {
      const made = await ctx.call('POST', items, { fields: { Title: 'E', TwentyId: 'id-e', Code: '' } });
      expect(made.status).toBe(201);
      expect(made.json.fields).not.toHaveProperty('Code');
      const item = () => ctx.emulator.site(SITE).list('Companies')!.item(made.json.id)!;
      expect(item().fields).not.toHaveProperty('Code');
      const set = await ctx.call('PATCH', `${items}/${made.json.id}/fields`, { Code: 'z' });
      expect(set.json.Code).toBe('z');
      const emptied = await ctx.call('PATCH', `${items}/${made.json.id}/fields`, { Code: '' });
      expect(emptied.status).toBe(200);
      expect(emptied.json).not.toHaveProperty('Code');
      const read = await ctx.call('GET', `${items}/${made.json.id}?$expand=fields($select=Code,TwentyId)`);
      const { '@odata.etag': _etag, ...fields } = read.json.fields;
      expect(fields).toEqual({ TwentyId: 'id-e' });
      // A null is no value too, on create as on update; so is an empty string written by a person.
      const nulled = await ctx.call('POST', items, { fields: { Title: 'N', TwentyId: 'id-n', Code: null } });
      expect(nulled.json.fields).not.toHaveProperty('Code');
      expect(
        ctx.emulator.site(SITE).list('Companies')!.updateItem(made.json.id, { Title: '' }).fields,
      ).not.toHaveProperty('Title');
      for (const created of [made, nulled])
        expect((await ctx.call('DELETE', `${items}/${created.json.id}`)).status).toBe(204);
    });

    it('keeps numbers to 15 significant digits (a SQL Server float column)', async () => {
      const made = await ctx.call('POST', items, {
        fields: { Title: 'P', TwentyId: 'id-p', Size: 0.1 + 0.2 },
      });
      expect(made.status).toBe(201);
      expect(made.json.fields.Size).toBe(0.3);
      const big = await ctx.call('PATCH', `${items}/${made.json.id}/fields`, {
        Size: 123456789012345.67 * 1000,
      });
      expect(big.json.Size).toBe(123456789012346000);
      expect((await ctx.call('DELETE', `${items}/${made.json.id}`)).status).toBe(204);
    });

    it('eTag changes on every write; a stale If-Match answers 412 on PATCH and DELETE, the current one passes', async () => {
      const c = await ctx.call('POST', items, { fields: { Title: 'C', TwentyId: 'id-c' } });
      const first = c.json.eTag;
      const updated = await ctx.call(
        'PATCH',
        `${items}/${c.json.id}/fields`,
        { Code: 'a' },
        { 'If-Match': first },
      );
      expect(updated.status).toBe(200);
      const current = (await ctx.call('GET', `${items}/${c.json.id}`)).json.eTag;
      expect(current).not.toBe(first);
      const stale = await ctx.call(
        'PATCH',
        `${items}/${c.json.id}/fields`,
        { Code: 'b' },
        { 'If-Match': first },
      );
      expect(stale.status).toBe(412);
      expect(stale.json.error.code).toBe('resourceModified');
      expect(
        (await ctx.call('DELETE', `${items}/${c.json.id}`, undefined, { 'If-Match': first })).status,
      ).toBe(412);
      expect(
        (await ctx.call('DELETE', `${items}/${c.json.id}`, undefined, { 'If-Match': current })).status,
      ).toBe(204);
    });

    it('deleting or patching an item that does not exist answers 404', async () => {
      const del = await ctx.call('DELETE', `${items}/99999`);
      expect(del.status).toBe(404);
      expect(del.json.error.code).toBe('itemNotFound');
      expect((await ctx.call('PATCH', `${items}/99999/fields`, { Code: 'z' })).status).toBe(404);
    });

    it('$filter: indexed columns freely; a non-indexed one only with the Prefer header and never above the threshold', async () => {
      for (let i = 0; i < 5; i++)
        await ctx.call('POST', items, {
          fields: { Title: `t${i}`, TwentyId: `f-${i}`, Code: `c${i}`, Size: i },
        });
      const byIndexed = await ctx.call(
        'GET',
        `${items}?$expand=fields&$filter=${q("fields/TwentyId eq 'f-1' or (fields/Size ge 4 and fields/Size lt 10)")}`,
      );
      expect(byIndexed.status).toBe(200);
      expect(byIndexed.json.value.map((i: any) => i.fields.TwentyId).sort()).toEqual(['f-1', 'f-4']);
      const starts = await ctx.call(
        'GET',
        `${items}?$expand=fields&$filter=${q("startswith(fields/TwentyId,'f-')")}`,
      );
      expect(starts.json.value).toHaveLength(5);
      const nonIndexed = `${items}?$filter=${q("fields/Code eq 'c2'")}&$expand=fields`;
      const refused = await ctx.call('GET', nonIndexed);
      expect(refused.status).toBe(400);
      expect(refused.json.error.message).toContain('HonorNonIndexedQueriesWarningMayFailRandomly');
      const prefer = { Prefer: 'HonorNonIndexedQueriesWarningMayFailRandomly' };
      const allowed = await ctx.call('GET', nonIndexed, undefined, prefer);
      expect(allowed.json.value.map((i: any) => i.fields.Code)).toEqual(['c2']);
      // 7 items now; past the threshold of 8 the same query is refused even with Prefer.
      for (let i = 5; i < 8; i++)
        await ctx.call('POST', items, { fields: { Title: `t${i}`, TwentyId: `f-${i}` } });
      const tooMany = await ctx.call('GET', nonIndexed, undefined, prefer);
      expect(tooMany.status).toBe(400);
      expect(tooMany.json.error.message).toMatch(/list view threshold/);
      // Indexed columns still work on the large list.
      expect(
        (await ctx.call('GET', `${items}?$filter=${q("fields/TwentyId eq 'f-7'")}`)).json.value,
      ).toHaveLength(1);
      // The item id is indexed in every list: ranges of ids work above the threshold without Prefer, paged
      // by nextLink, in either spelling of the column (`id` as Graph's fields show it, `ID` as SharePoint's).
      const ids = (await ctx.call('GET', `${items}?$select=id&$top=100`)).json.value.map((i: any) =>
        Number(i.id),
      );
      const [lo, hi] = [ids[2], ids[6]];
      for (const name of ['fields/id', 'fields/ID']) {
        const range = `${items}?$filter=${q(`${name} ge ${lo} and ${name} lt ${hi}`)}&$top=3`;
        const first = await ctx.call('GET', range);
        expect(first.status).toBe(200);
        const next = await ctx.call('GET', first.json['@odata.nextLink']);
        const got = [...first.json.value, ...next.json.value].map((i: any) => Number(i.id));
        expect(got).toEqual(ids.filter((id: number) => id >= lo && id < hi));
        expect(next.json['@odata.nextLink']).toBeUndefined();
      }
      const open = await ctx.call(
        'GET',
        `${items}?$filter=${q(`fields/id gt ${ids.at(-2)}`)}&$select=id&$top=1`,
      );
      expect(open.json.value.map((i: any) => Number(i.id))).toEqual([ids.at(-1)]);
      expect((await ctx.call('GET', `${items}?$filter=${q('fields/Nope eq 1')}`)).status).toBe(400);
      expect((await ctx.call('GET', `${items}?$filter=${q('fields/Size eq')}`)).status).toBe(400);
    });
  });
}

/** Paging: nextLinks on the asking origin, $top capped, id-based pages. */
export function pagingScenario(transport: Transport): void {
  describe(`paging (${transport.name})`, ORDERED, () => {
    const ctx = useEmulator(transport, { defaultPageSize: 3, maxPageSize: 4 });

    it('pages with an absolute @odata.nextLink on the request origin; $top is capped at the largest page', async () => {
      const list = ctx.emulator.site(SITE).createList({ displayName: 'Paged' });
      for (let i = 0; i < 10; i++) list.createItem({ Title: `p${i}` });
      const items = `/sites/${ctx.siteId}/lists/${list.id}/items`;
      const byDefault = await allPages(await ctx.call('GET', `${items}?$expand=fields($select=Title)`));
      expect(byDefault.map((p) => p.json.value.length)).toEqual([3, 3, 3, 1]);
      for (const page of byDefault.slice(0, -1)) {
        const next = new URL(page.json['@odata.nextLink']);
        expect(`${next.origin}/v1.0`).toBe(ctx.base);
        expect(next.searchParams.get('$skiptoken')).toBeTruthy();
      }
      expect(byDefault.flatMap((p) => p.json.value.map((i: any) => i.fields.Title))).toEqual(
        Array.from({ length: 10 }, (_, i) => `p${i}`),
      );
      const capped = await allPages(await ctx.call('GET', `${items}?$top=100`));
      expect(capped.map((p) => p.json.value.length)).toEqual([4, 4, 2]);
      const two = await ctx.call('GET', `${items}?$top=2`);
      expect(two.json.value).toHaveLength(2);
      expect((await ctx.call('GET', `${items}?$top=0`)).status).toBe(400);
      // Pages continue after the last id seen: deleting a seen item between pages skips nothing.
      const first = await ctx.call('GET', `${items}?$expand=fields`);
      list.deleteItem(first.json.value[0].id);
      const second = await call('', 'GET', first.json['@odata.nextLink']);
      expect(second.json.value[0].fields.Title).toBe('p3');
      expect((await ctx.call('GET', `${items}?$skiptoken=3`)).status).toBe(400);
    });
  });
}

/** Delta: a full pass, then changes, repeats, expired tokens. */
export function deltaScenario(transport: Transport): void {
  describe(`delta (${transport.name})`, ORDERED, () => {
    const ctx = useEmulator(transport, { deltaRepeatProbability: 0 });

    it('a full pass over pages ending in a deltaLink, then only changes, deletions with the deleted facet', async () => {
      const list = ctx.emulator
        .site(SITE)
        .createList({ displayName: 'Delta', columns: [{ name: 'V', number: {} }] });
      for (let i = 0; i < 5; i++) list.createItem({ Title: `d${i}`, V: i });
      const pages = await allPages(
        await ctx.call('GET', `/sites/${ctx.siteId}/lists/${list.id}/items/delta?$top=2&$expand=fields`),
      );
      expect(pages.map((p) => p.json.value.length)).toEqual([2, 2, 1]);
      expect(pages.slice(0, -1).every((p) => p.json['@odata.deltaLink'] === undefined)).toBe(true);
      const deltaLink: string = pages.at(-1)!.json['@odata.deltaLink'];
      expect(new URL(deltaLink).origin).toBe(new URL(ctx.base).origin);
      for (const page of pages)
        for (const v of page.json.value) expect(shapeViolations('listItem', v)).toEqual([]);
      expect(new Set(pages.flatMap((p) => p.json.value.map((v: any) => v.id))).size).toBe(5);

      const quiet = await call('', 'GET', deltaLink);
      expect(quiet.json.value).toEqual([]);

      const [first, second] = list.items();
      list.updateItem(first!.id, { V: 100 });
      list.updateItem(first!.id, { V: 101 });
      list.deleteItem(second!.id);
      const created = list.createItem({ Title: 'new', V: 7 });
      // The deltaLink carries `$top=2` on (delta-query-overview.md): the changes come in two pages.
      const changePages = await allPages(await call('', 'GET', quiet.json['@odata.deltaLink']));
      expect(changePages.map((p) => p.json.value.length)).toEqual([2, 1]);
      const changes = {
        json: { ...changePages.at(-1)!.json, value: changePages.flatMap((p) => p.json.value) },
      };
      const byId = new Map<string, any>(changes.json.value.map((v: any) => [v.id, v]));
      expect(byId.get(first!.id).fields.V).toBe(101);
      expect(byId.get(second!.id).deleted).toEqual({ state: 'deleted' });
      expect(byId.get(second!.id).fields).toBeUndefined();
      expect(byId.get(created.id).fields.Title).toBe('new');
      for (const v of changes.json.value) expect(shapeViolations('listItem', v)).toEqual([]);

      // The function form delta(token='…') reads the same feed (1 RU, as a delta with a token).
      const token = new URL(quiet.json['@odata.deltaLink']).searchParams.get('token')!;
      const fnForm = await ctx.call(
        'GET',
        `/sites/${ctx.siteId}/lists/${list.id}/items/delta(token='${encodeURIComponent(token)}')?$expand=fields`,
      );
      expect(fnForm.json.value.map((v: any) => v.id).sort()).toEqual([...byId.keys()].sort());
      expect(new URL(fnForm.json['@odata.deltaLink']).pathname).toMatch(/\/items\/delta$/);
      expect(ctx.emulator.log.entries.at(-1)!.resourceUnits).toBe(1);

      ctx.emulator.expireDeltaTokens(list.id);
      const gone = await call('', 'GET', changes.json['@odata.deltaLink']);
      expect(gone.status).toBe(410);
      // listitem-delta.md: a documented resync code, and a Location that starts a fresh enumeration.
      expect(gone.json.error.code).toBe('resyncChangesApplyDifferences');
      const restart = gone.headers.get('location')!;
      expect(new URL(restart).pathname).toMatch(/\/items\/delta$/);
      expect(new URL(restart).searchParams.has('token')).toBe(false);
      // The restart keeps the options of the initial request (`$top=2`): a first page, then the rest.
      expect((await allPages(await call('', 'GET', restart))).at(-1)!.json['@odata.deltaLink']).toBeDefined();
      expect(
        (await ctx.call('GET', `/sites/${ctx.siteId}/lists/${list.id}/items/delta?token=garbage`)).status,
      ).toBe(410);
      // A fresh full pass works again after expiry.
      expect((await ctx.call('GET', `/sites/${ctx.siteId}/lists/${list.id}/items/delta`)).status).toBe(200);
    });

    it('writes while a pass pages shift nothing: every item once, the changed one again in the next delta', async () => {
      const list = ctx.emulator.site(SITE).createList({ displayName: 'Moving' });
      for (let i = 0; i < 6; i++) list.createItem({ Title: `m${i}` });
      const first = await ctx.call(
        'GET',
        `/sites/${ctx.siteId}/lists/${list.id}/items/delta?$top=2&$expand=fields`,
      );
      const firstIds: string[] = first.json.value.map((v: any) => v.id);
      list.updateItem(firstIds[0]!, { Title: 'm0 edited' });
      list.deleteItem(list.items()[5]!.id);
      const rest = await allPages(await call('', 'GET', first.json['@odata.nextLink']));
      const titles = [first, ...rest].flatMap((p) => p.json.value.map((v: any) => v.fields.Title));
      // m0 and m1 first; m2..m4 follow unshifted; m5 was deleted before it was served; m0's edit comes next time.
      expect(titles).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
      const next = await call('', 'GET', rest.at(-1)!.json['@odata.deltaLink']);
      expect(next.json.value.map((v: any) => v.fields?.Title ?? v.deleted?.state)).toEqual([
        'm0 edited',
        'deleted',
      ]);
    });

    it('repeats entries now and then, the same way for the same seed', async () => {
      const feed = async (seed: number) => {
        const emulator = createEmulator({ sites: [SITE], seed, deltaRepeatProbability: 0.5 });
        const served = await transport.start(emulator);
        try {
          const list = emulator.site(SITE).createList({ displayName: 'Repeats' });
          for (let i = 0; i < 20; i++) list.createItem({ Title: `r${i}` });
          const site = emulator.site(SITE).id;
          const pages = await allPages(
            await call(served.base, 'GET', `/sites/${site}/lists/${list.id}/items/delta?$top=4`),
          );
          return pages.flatMap((p) => p.json.value.map((v: any) => v.id as string));
        } finally {
          await served.stop();
          await emulator.close();
        }
      };
      const a = await feed(11);
      expect(new Set(a).size).toBe(20);
      expect(a.length).toBeGreaterThan(20);
      expect(await feed(11)).toEqual(a);
    });
  });
}
