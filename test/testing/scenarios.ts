// biome-ignore-all lint/suspicious/noExplicitAny: JSON read off the wire, asserted field by field
import { describe, expect, it } from 'vitest';
import { createEmulator } from '../../src/testing/index.js';
import { shapeViolations } from '../support/graph-schema.js';
import { waitFor } from '../support/wait.js';
import { allPages, call, SITE, SITE_PATH, startReceiver, type Transport, useEmulator } from './support.js';

const TWENTY_LIST = {
  displayName: 'Companies',
  columns: [
    { name: 'TwentyId', text: { maxLength: 36 }, indexed: true, enforceUniqueValues: true, required: true },
    { name: 'Code', text: { maxLength: 10 } },
    { name: 'Size', number: { decimalPlaces: 'none' }, indexed: true },
  ],
  list: { template: 'genericList' },
};

const q = (filter: string) => encodeURIComponent(filter);

/**
 * Each describe walks one emulator's state: later tests use the lists, items, budget and clock that earlier
 * ones left. They keep their order under --sequence.shuffle (files and describes still shuffle).
 */
const ORDERED = { shuffle: false };

/** Every behaviour of the emulator, proven over one transport (the msw and loopback files both run these). */
export function emulatorScenarios(transport: Transport): void {
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

    it('keeps numbers to 15 significant digits and date-times to the second', async () => {
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
      expect((await ctx.call('GET', `${items}?$filter=${q('fields/Nope eq 1')}`)).status).toBe(400);
      expect((await ctx.call('GET', `${items}?$filter=${q('fields/Size eq')}`)).status).toBe(400);
    });
  });

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
      const changes = await call('', 'GET', quiet.json['@odata.deltaLink']);
      expect(changes.json.value).toHaveLength(3);
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
      expect((await call('', 'GET', restart)).json['@odata.deltaLink']).toBeDefined();
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

  describe(`$batch (${transport.name})`, ORDERED, () => {
    const ctx = useEmulator(transport, { seed: 3 });
    let items: string;

    it('more than 20 requests answer 400; 20 are answered in a seeded shuffled order, matched by id', async () => {
      const list = ctx.emulator.site(SITE).createList({ displayName: 'Batched' });
      items = `/sites/${ctx.siteId}/lists/${list.id}/items`;
      const requests = Array.from({ length: 21 }, (_, i) => ({
        id: String(i + 1),
        method: 'POST',
        url: items,
        headers: { 'Content-Type': 'application/json' },
        body: { fields: { Title: `b${i + 1}` } },
      }));
      const tooMany = await ctx.call('POST', '/$batch', { requests });
      expect(tooMany.status).toBe(400);
      expect(tooMany.json.error.message).toMatch(/20/);
      expect(list.items()).toHaveLength(0);
      const ok = await ctx.call('POST', '/$batch', { requests: requests.slice(0, 20) });
      expect(ok.status).toBe(200);
      const ids = ok.json.responses.map((r: any) => r.id);
      expect([...ids].sort((a: string, b: string) => Number(a) - Number(b))).toEqual(
        requests.slice(0, 20).map((r) => r.id),
      );
      expect(ids).not.toEqual(requests.slice(0, 20).map((r) => r.id));
      for (const r of ok.json.responses) {
        expect(r.status).toBe(201);
        expect(r.body.fields.Title).toBe(`b${r.id}`);
        expect(shapeViolations('listItem', r.body)).toEqual([]);
      }
      // Each inner request is logged and charged on its own; the envelope costs nothing.
      const inner = ctx.emulator.log.entries.filter((e) => e.inBatch);
      expect(inner).toHaveLength(20);
      expect(inner.every((e) => e.resourceUnits === 2 && e.method === 'POST')).toBe(true);
      const outer = ctx.emulator.log.entries.filter((e) => !e.inBatch && e.path === '/$batch');
      expect(outer.map((e) => e.resourceUnits)).toEqual([0, 0]);
      expect(ctx.emulator.log.counters().batchRequests).toBe(20);
    });

    it('dependsOn runs after its dependency; a failed dependency answers 424', async () => {
      const requests = [
        {
          id: 'a',
          method: 'POST',
          url: items,
          headers: { 'Content-Type': 'application/json' },
          body: { fields: { Title: 'first' } },
        },
        { id: 'b', method: 'GET', url: `${items}/1?$expand=fields`, dependsOn: ['a'] },
        { id: 'c', method: 'DELETE', url: `${items}/424242` },
        { id: 'd', method: 'GET', url: `${items}/1`, dependsOn: ['c'] },
      ];
      const answer = await ctx.call('POST', '/$batch', { requests });
      const byId = new Map<string, any>(answer.json.responses.map((r: any) => [r.id, r]));
      expect(byId.get('a').status).toBe(201);
      expect(byId.get('b').status).toBe(200);
      expect(byId.get('c').status).toBe(404);
      expect(byId.get('d').status).toBe(424);
      expect((await ctx.call('POST', '/$batch', { requests: [{ id: 'x' }, { id: 'x' }] })).status).toBe(400);
      // A write with a body and no Content-Type fails the whole envelope, as Graph validates it first.
      const before = ctx.emulator.site(SITE).list('Batched')!.items().length;
      const untyped = await ctx.call('POST', '/$batch', {
        requests: [
          {
            id: '1',
            method: 'POST',
            url: items,
            headers: { 'Content-Type': 'application/json' },
            body: { fields: { Title: 'typed' } },
          },
          { id: '2', method: 'POST', url: items, body: { fields: { Title: 'untyped' } } },
        ],
      });
      expect(untyped.status).toBe(400);
      expect(untyped.json.error.message).toBe(
        "Write request with id '2' does not contain a Content-Type header.",
      );
      expect(ctx.emulator.site(SITE).list('Batched')!.items()).toHaveLength(before);
    });

    it('without shuffling the answers keep the request order', async () => {
      const emulator = createEmulator({ sites: [SITE], shuffleBatchResponses: false });
      const served = await transport.start(emulator);
      try {
        const requests = Array.from({ length: 10 }, (_, i) => ({
          id: String(i),
          method: 'GET',
          url: `/sites/${emulator.site(SITE).id}`,
        }));
        const answer = await call(served.base, 'POST', '/$batch', { requests });
        expect(answer.json.responses.map((r: any) => r.id)).toEqual(requests.map((r) => r.id));
      } finally {
        await served.stop();
        await emulator.close();
      }
    });

    it('inner faults (scope inner) fail only the matching inner requests, with their own Retry-After', async () => {
      const fault = ctx.emulator.faults.inject({
        scope: 'inner',
        method: 'POST',
        path: /\/items$/,
        status: 429,
        retryAfterSeconds: 3,
        count: 2,
      });
      const requests = Array.from({ length: 5 }, (_, i) => ({
        id: String(i),
        method: 'POST',
        url: items,
        headers: { 'Content-Type': 'application/json' },
        body: { fields: { Title: `f${i}` } },
      }));
      const before = ctx.emulator.site(SITE).list('Batched')!.items().length;
      const answer = await ctx.call('POST', '/$batch', { requests });
      expect(answer.status).toBe(200);
      const throttled = answer.json.responses.filter((r: any) => r.status === 429);
      expect(throttled).toHaveLength(2);
      for (const r of throttled) expect(r.headers['Retry-After']).toBe('3');
      expect(answer.json.responses.filter((r: any) => r.status === 201)).toHaveLength(3);
      expect(ctx.emulator.site(SITE).list('Batched')!.items().length).toBe(before + 3);
      expect(fault.hits).toBe(2);
      // The same rule never touches an outer call.
      expect((await ctx.call('POST', items, { fields: { Title: 'outer' } })).status).toBe(201);
      fault.remove();
      // And a 'request' rule never touches an inner request; inner latency delays only that request's answer.
      const outerOnly = ctx.emulator.faults.inject({ scope: 'request', path: /\/items$/, status: 500 });
      const slowInner = ctx.emulator.faults.inject({
        scope: 'inner',
        method: 'GET',
        latencyMs: 120,
        count: 1,
      });
      const started = performance.now();
      const mixed = await ctx.call('POST', '/$batch', {
        requests: [
          {
            id: 'w',
            method: 'POST',
            url: items,
            headers: { 'Content-Type': 'application/json' },
            body: { fields: { Title: 'in' } },
          },
          { id: 'r', method: 'GET', url: items },
        ],
      });
      expect(performance.now() - started).toBeGreaterThanOrEqual(110);
      expect(mixed.json.responses.map((r: any) => r.status).sort()).toEqual([200, 201]);
      expect(outerOnly.hits).toBe(0);
      expect(slowInner.hits).toBe(1);
      outerOnly.remove();
    });
  });

  describe(`throttling (${transport.name})`, ORDERED, () => {
    let clock = Date.parse('2026-01-01T00:00:00Z');
    const ctx = useEmulator(transport, { resourceUnitsPerMinute: 20, now: () => clock });

    it('RateLimit headers from 80 % of the budget, then 429 with Retry-After; the budget frees after a minute', async () => {
      const path = `/sites/${ctx.siteId}`; // 1 RU each
      const seen: Array<{ status: number; remaining: string | null; retryAfter: string | null }> = [];
      for (let i = 0; i < 22; i++) {
        const r = await ctx.call('GET', path);
        seen.push({
          status: r.status,
          remaining: r.headers.get('ratelimit-remaining'),
          retryAfter: r.headers.get('retry-after'),
        });
      }
      expect(seen.slice(0, 15).every((s) => s.remaining === null && s.status === 200)).toBe(true);
      expect(seen[15]).toMatchObject({ status: 200, remaining: '4' });
      expect(seen[19]).toMatchObject({ status: 200, remaining: '0' });
      expect(seen[20]!.status).toBe(429);
      expect(Number(seen[20]!.retryAfter)).toBeGreaterThanOrEqual(1);
      const last = await ctx.call('GET', path);
      expect(last.status).toBe(429);
      expect(last.json.error.code).toBe('activityLimitReached');
      expect(last.headers.get('ratelimit-limit')).toBe('20');
      expect(ctx.emulator.log.counters().throttled).toBe(3);
      clock += 61_000;
      expect((await ctx.call('GET', path)).status).toBe(200);
    });

    it('inside $batch each inner request is charged: the overflow answers 429 inside a 200 envelope', async () => {
      clock += 61_000;
      const requests = Array.from({ length: 12 }, (_, i) => ({
        id: String(i),
        method: 'GET',
        url: `/sites/${ctx.siteId}/lists`, // 2 RU each
      }));
      const answer = await ctx.call('POST', '/$batch', { requests });
      expect(answer.status).toBe(200);
      const statuses = answer.json.responses.map((r: any) => r.status);
      expect(statuses.filter((s: number) => s === 200)).toHaveLength(10);
      const throttled = answer.json.responses.filter((r: any) => r.status === 429);
      expect(throttled).toHaveLength(2);
      expect(Number(throttled[0].headers['Retry-After'])).toBeGreaterThanOrEqual(1);
    });
  });

  describe(`faults (${transport.name})`, ORDERED, () => {
    const ctx = useEmulator(transport, { seed: 9 });
    let items: string;
    const list = () => ctx.emulator.site(SITE).list('Faulty')!;

    it('status faults answer a Graph error with Retry-After, only for the matching route and count', async () => {
      ctx.emulator.site(SITE).createList({ displayName: 'Faulty' });
      items = `/sites/${ctx.siteId}/lists/Faulty/items`;
      const fault = ctx.emulator.faults.inject({
        method: 'POST',
        path: `/sites/${ctx.siteId}/lists/Faulty/items`,
        status: 503,
        retryAfterSeconds: 2,
        count: 1,
      });
      expect((await ctx.call('GET', items)).status).toBe(200);
      const failed = await ctx.call('POST', items, { fields: { Title: 'one' } });
      expect(failed.status).toBe(503);
      expect(failed.headers.get('retry-after')).toBe('2');
      expect(failed.json.error.code).toBe('serviceNotAvailable');
      expect(list().items()).toHaveLength(0);
      expect((await ctx.call('POST', items, { fields: { Title: 'one' } })).status).toBe(201);
      expect(fault.hits).toBe(1);
      const logged = ctx.emulator.log.entries.filter((e) => e.fault !== undefined);
      expect(logged).toEqual([expect.objectContaining({ method: 'POST', status: 503, fault: 'status:503' })]);
      for (const status of [429, 500, 502, 504] as const) {
        const f = ctx.emulator.faults.inject({ path: /\/items$/, method: 'GET', status });
        expect((await ctx.call('GET', items)).status).toBe(status);
        f.remove();
      }
      expect((await ctx.call('GET', items)).status).toBe(200);
    });

    it('drop: the connection fails and nothing is applied', async () => {
      const before = list().items().length;
      ctx.emulator.faults.inject({ method: 'POST', path: /\/items$/, drop: true, count: 1 });
      await expect(call(ctx.base, 'POST', items, { fields: { Title: 'dropped' } })).rejects.toThrow();
      expect(list().items()).toHaveLength(before);
      expect(ctx.emulator.log.entries.at(-1)).toMatchObject({ fault: 'drop' });
    });

    it('lostResponse: the write is applied, then the connection fails', async () => {
      const before = list().items().length;
      ctx.emulator.faults.inject({ method: 'POST', path: /\/items$/, lostResponse: true, count: 1 });
      await expect(call(ctx.base, 'POST', items, { fields: { Title: 'lost' } })).rejects.toThrow();
      expect(list().items()).toHaveLength(before + 1);
      expect(list().items().at(-1)!.fields.Title).toBe('lost');
      expect(ctx.emulator.log.entries.at(-1)).toMatchObject({ status: 201, fault: 'lostResponse' });
      // Inside a batch the inner write is applied and answers 504.
      ctx.emulator.faults.inject({ scope: 'inner', method: 'POST', lostResponse: true, count: 1 });
      const answer = await ctx.call('POST', '/$batch', {
        requests: [
          {
            id: '1',
            method: 'POST',
            url: items,
            headers: { 'Content-Type': 'application/json' },
            body: { fields: { Title: 'lost inside' } },
          },
        ],
      });
      expect(answer.json.responses[0].status).toBe(504);
      expect(list().items().at(-1)!.fields.Title).toBe('lost inside');
    });

    it('latency: the answer comes late but succeeds', async () => {
      const fault = ctx.emulator.faults.inject({ method: 'GET', path: /\/items$/, latencyMs: 200 });
      const started = performance.now();
      const slow = await ctx.call('GET', items);
      expect(slow.status).toBe(200);
      expect(performance.now() - started).toBeGreaterThanOrEqual(190);
      expect(ctx.emulator.log.entries.at(-1)).toMatchObject({ status: 200, fault: 'latency:200' });
      fault.remove();
      await ctx.call('GET', items);
      expect(ctx.emulator.log.entries.at(-1)!.fault).toBeUndefined();
      expect(fault.hits).toBe(1);
    });

    it('probabilities are seeded: the same seed fails the same requests', async () => {
      const pattern = async () => {
        const emulator = createEmulator({ sites: [SITE], seed: 21 });
        const served = await transport.start(emulator);
        try {
          emulator.faults.inject({ status: 500, probability: 0.3 });
          const statuses: number[] = [];
          for (let i = 0; i < 30; i++)
            statuses.push((await call(served.base, 'GET', `/sites/${emulator.site(SITE).id}`)).status);
          expect(emulator.log.counters().faults).toBe(statuses.filter((s) => s === 500).length);
          return statuses;
        } finally {
          await served.stop();
          await emulator.close();
        }
      };
      const first = await pattern();
      expect(first.filter((s) => s === 500).length).toBeGreaterThan(0);
      expect(first.filter((s) => s === 200).length).toBeGreaterThan(0);
      expect(await pattern()).toEqual(first);
    });

    it('faults.clear() removes every rule; a bad probability is refused', async () => {
      ctx.emulator.faults.inject({ status: 500 });
      ctx.emulator.faults.inject({ drop: true });
      ctx.emulator.faults.clear();
      expect((await ctx.call('GET', items)).status).toBe(200);
      expect(() => ctx.emulator.faults.inject({ status: 500, probability: 2 })).toThrow(/probability/);
    });
  });

  describe(`options, log and backdoor (${transport.name})`, ORDERED, () => {
    const ctx = useEmulator(transport, { latencyMs: 120 });

    it('latencyMs delays every outer call', async () => {
      const started = performance.now();
      expect((await ctx.call('GET', `/sites/${ctx.siteId}`)).status).toBe(200);
      expect(performance.now() - started).toBeGreaterThanOrEqual(110);
    });

    it('logs every call with its cost; backdoor edits are not logged but are visible', async () => {
      ctx.emulator.log.reset();
      const list = ctx.emulator.site(SITE).createList({ displayName: 'Logged' });
      const made = list.createItem({ Title: 'by a person' });
      expect(ctx.emulator.log.entries).toHaveLength(0);
      const items = await ctx.call('GET', `/sites/${ctx.siteId}/lists/Logged/items?$expand=fields`);
      expect(items.json.value.map((i: any) => i.fields.Title)).toEqual(['by a person']);
      await ctx.call('GET', `/sites/${ctx.siteId}/lists/Logged/items/${made.id}`);
      await ctx.call('PATCH', `/sites/${ctx.siteId}/lists/Logged/items/${made.id}/fields`, { Title: 'x' });
      expect(ctx.emulator.log.entries.map((e) => [e.method, e.status, e.resourceUnits])).toEqual([
        ['GET', 200, 2],
        ['GET', 200, 1],
        ['PATCH', 200, 2],
      ]);
      expect(ctx.emulator.log.entries[0]!.query).toBe('$expand=fields');
      expect(ctx.emulator.log.counters()).toEqual({
        requests: 3,
        batchRequests: 0,
        resourceUnits: 5,
        throttled: 0,
        faults: 0,
      });
      expect(list.item(made.id)!.fields.Title).toBe('x');
      expect(() => ctx.emulator.site('contoso.sharepoint.com:/sites/none')).toThrow(/no site/);
    });
  });

  describe(`subscriptions (${transport.name})`, ORDERED, () => {
    const ctx = useEmulator(transport, { notificationDelayMs: 20 });

    it('validates the endpoint, notifies after an item change, renews, refuses > 42,300 minutes, deletes', async () => {
      const receiver = await startReceiver();
      try {
        const list = ctx.emulator.site(SITE).createList({ displayName: 'Watched' });
        const resource = `sites/${ctx.siteId}/lists/${list.id}`;
        const body = (minutes: number) => ({
          changeType: 'updated',
          notificationUrl: receiver.url,
          resource,
          expirationDateTime: new Date(Date.now() + minutes * 60_000).toISOString(),
          clientState: 'secret',
        });
        const tooLong = await ctx.call('POST', '/subscriptions', body(42_301));
        expect(tooLong.status).toBe(400);
        expect(receiver.validations).toHaveLength(0);

        const created = await ctx.call('POST', '/subscriptions', body(60));
        expect(created.status).toBe(201);
        expect(receiver.validations).toHaveLength(1);
        expect(shapeViolations('subscription', created.json)).toEqual([]);
        expect(created.json).toMatchObject({ resource, clientState: 'secret', changeType: 'updated' });

        const listed = await ctx.call('GET', '/subscriptions');
        expect(listed.json.value.map((s: any) => s.id)).toEqual([created.json.id]);
        for (const s of listed.json.value) expect(shapeViolations('subscription', s)).toEqual([]);

        // An item change over HTTP; three quick backdoor edits coalesce into one more notification.
        await ctx.call('POST', `/sites/${ctx.siteId}/lists/${list.id}/items`, { fields: { Title: 'hello' } });
        await waitFor(() => receiver.notifications.length === 1, { message: 'the first notification' });
        expect(receiver.notifications[0].value[0]).toMatchObject({
          clientState: 'secret',
          resource,
          subscriptionId: created.json.id,
          changeType: 'updated',
        });
        const item = list.createItem({ Title: 'a' });
        list.updateItem(item.id, { Title: 'b' });
        list.deleteItem(item.id);
        await waitFor(() => ctx.emulator.subscriptions()[0]!.notificationsDelivered === 2, {
          message: 'the coalesced notification',
        });
        expect(receiver.notifications).toHaveLength(2);

        const later = new Date(Date.now() + 120 * 60_000).toISOString();
        const renewed = await ctx.call('PATCH', `/subscriptions/${created.json.id}`, {
          expirationDateTime: later,
        });
        expect(renewed.status).toBe(200);
        expect(renewed.json.expirationDateTime).toBe(later);
        expect(
          (
            await ctx.call('PATCH', `/subscriptions/${created.json.id}`, {
              expirationDateTime: new Date(Date.now() + 42_301 * 60_000).toISOString(),
            })
          ).status,
        ).toBe(400);
        expect((await ctx.call('GET', `/subscriptions/${created.json.id}`)).json.expirationDateTime).toBe(
          later,
        );

        expect((await ctx.call('DELETE', `/subscriptions/${created.json.id}`)).status).toBe(204);
        expect((await ctx.call('GET', `/subscriptions/${created.json.id}`)).status).toBe(404);
        expect(ctx.emulator.subscriptions()).toHaveLength(0);
      } finally {
        await receiver.close();
      }
    });

    it('refuses a subscription whose endpoint does not echo the validation token', async () => {
      const receiver = await startReceiver({ echo: false });
      try {
        const list = ctx.emulator.site(SITE).createList({ displayName: 'Unreachable' });
        const refused = await ctx.call('POST', '/subscriptions', {
          changeType: 'updated',
          notificationUrl: receiver.url,
          resource: `sites/${ctx.siteId}/lists/${list.id}`,
          expirationDateTime: new Date(Date.now() + 60 * 60_000).toISOString(),
        });
        expect(refused.status).toBe(400);
        expect(refused.json.error.message).toMatch(/validation/i);
        expect(receiver.validations).toHaveLength(1);
        expect(ctx.emulator.subscriptions()).toHaveLength(0);
      } finally {
        await receiver.close();
      }
    });
  });
}
