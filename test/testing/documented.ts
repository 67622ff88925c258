// biome-ignore-all lint/suspicious/noExplicitAny: JSON read off the wire, asserted field by field
import { describe, expect, it } from 'vitest';
import { call, SITE_PATH, type Transport, useEmulator } from './support.js';

/**
 * Graph v1.0 as microsoftgraph/microsoft-graph-docs-contrib documents it, one behaviour per test (issue 17,
 * "Documented behaviours the emulator gets wrong"); the msw and loopback files both run these.
 */
export function documentedBehaviours(transport: Transport): void {
  describe(`documented Graph behaviours (${transport.name})`, { shuffle: false }, () => {
    const ctx = useEmulator(transport);
    let listPath = '';

    it('setup: a list with a column and two items', async () => {
      const list = await ctx.call('POST', `/sites/${ctx.siteId}/lists`, {
        displayName: 'Documented',
        columns: [
          { name: 'Code', text: {} },
          { name: 'Spare', text: {} },
        ],
        list: { template: 'genericList' },
      });
      expect(list.status).toBe(201);
      listPath = `/sites/${ctx.siteId}/lists/${list.json.id}`;
      for (const code of ['a', 'b'])
        expect(
          (await ctx.call('POST', `${listPath}/items`, { fields: { Title: code, Code: code } })).status,
        ).toBe(201);
    });

    it('columndefinition-delete.md: DELETE …/columns/{id} answers 204 and the column is gone', async () => {
      const columns = (await ctx.call('GET', `${listPath}/columns`)).json.value as any[];
      const spare = columns.find((c) => c.name === 'Spare');
      const deleted = await ctx.call('DELETE', `${listPath}/columns/${spare.id}`);
      expect(deleted.status).toBe(204);
      expect((await ctx.call('GET', `${listPath}/columns/${spare.id}`)).status).toBe(404);
      const title = columns.find((c) => c.name === 'Title');
      expect((await ctx.call('DELETE', `${listPath}/columns/${title.id}`)).status).toBe(400);
    });

    it('listitem-delta.md example 3: delta?token=latest answers 200, no items, a deltaLink of now', async () => {
      const latest = await ctx.call('GET', `${listPath}/items/delta?token=latest`);
      expect(latest.status).toBe(200);
      expect(latest.json.value).toEqual([]);
      const link = latest.json['@odata.deltaLink'] as string;
      expect(new URL(link).searchParams.get('token')).not.toBe('latest');
      await ctx.call('POST', `${listPath}/items`, { fields: { Title: 'c', Code: 'c' } });
      const since = await call('', 'GET', link);
      expect(since.json.value.map((v: any) => v.fields?.Code ?? v.id)).toHaveLength(1);
    });

    it('query-parameters.md: system options without $ (expand=fields(select=…), select=) work as with $', async () => {
      const plain = await ctx.call('GET', `${listPath}/items?expand=fields(select=Code)&select=id,fields`);
      const dollar = await ctx.call(
        'GET',
        `${listPath}/items?$expand=fields($select=Code)&$select=id,fields`,
      );
      expect(plain.status).toBe(200);
      expect(plain.json.value[0].fields).toMatchObject({ Code: 'a' });
      expect(plain.json.value[0].fields.Title).toBeUndefined();
      expect(plain.json.value).toEqual(dollar.json.value);
      const list = await ctx.call('GET', `${listPath}?expand=columns(select=name)`);
      expect(Array.isArray(list.json.columns)).toBe(true);
      const site = await ctx.call('GET', `${SITE_PATH}?select=id`);
      expect(Object.keys(site.json).filter((k) => !k.startsWith('@'))).toEqual(['id']);
    });

    it('json-batching.md: request ids are case-insensitive and unique: "a" and "A" together are a 400', async () => {
      const twice = await ctx.call('POST', '/$batch', {
        requests: [
          { id: 'a', method: 'GET', url: `${listPath}/items/1` },
          { id: 'A', method: 'GET', url: `${listPath}/items/2` },
        ],
      });
      expect(twice.status).toBe(400);
    });

    it('listitem-delta.md example 2 and listitem-get.md: deleted entries name a contentType; users have an id', async () => {
      const first = await ctx.call('GET', `${listPath}/items/delta?token=latest`);
      const item = (await ctx.call('GET', `${listPath}/items/1`)).json;
      expect(item.createdBy.user.id).toEqual(expect.any(String));
      expect(item.lastModifiedBy.user.id).toEqual(expect.any(String));
      expect((await ctx.call('DELETE', `${listPath}/items/1`)).status).toBe(204);
      const changes = await call('', 'GET', first.json['@odata.deltaLink']);
      const gone = changes.json.value.find((v: any) => v.deleted);
      expect(gone).toMatchObject({
        id: '1',
        deleted: { state: 'deleted' },
        contentType: { id: expect.any(String) },
      });
    });
  });
}
