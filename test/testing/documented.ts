// biome-ignore-all lint/suspicious/noExplicitAny: JSON read off the wire, asserted field by field
import { describe, expect, it } from 'vitest';
import { createEmulator } from '../../src/testing/index.js';
import { shapeViolations } from '../support/graph-schema.js';
import { call, SITE_PATH, startReceiver, type Transport, useEmulator } from './support.js';

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
    it('list-get.md: select and expand=columns(select=…),items(expand=fields(select=…)) in one request', async () => {
      const list = ctx.emulator.site(ctx.siteId).createList({
        displayName: 'Inventory',
        columns: [
          { name: 'Name', text: {}, description: 'Customer-facing name of the SKU' },
          { name: 'Color', text: {}, description: 'Color of the item in stock' },
          { name: 'Quantity', number: {}, description: 'Number of items in stock' },
        ],
      });
      list.createItem({ Title: 'g', Name: 'Gadget', Color: 'Red', Quantity: 503 });
      list.createItem({ Title: 'w', Name: 'Widget', Color: 'Blue', Quantity: 2357 });
      const answer = await ctx.call(
        'GET',
        `/sites/${ctx.siteId}/lists/${list.id}?select=id,name,lastModifiedDateTime&expand=columns(select=name,description),items(expand=fields(select=Name,Color,Quantity))`,
      );
      expect(answer.status).toBe(200);
      const plain = (o: Record<string, unknown>) =>
        Object.keys(o)
          .filter((k) => !k.startsWith('@'))
          .sort();
      expect(plain(answer.json)).toEqual(['columns', 'id', 'items', 'lastModifiedDateTime', 'name']);
      expect(answer.json.columns.find((c: any) => c.name === 'Quantity')).toEqual({
        name: 'Quantity',
        description: 'Number of items in stock',
      });
      expect(answer.json.columns.every((c: any) => plain(c).join() === 'description,name')).toBe(true);
      expect(answer.json.items).toHaveLength(2);
      expect(answer.json.items[0].id).toBe('1');
      const { '@odata.etag': etag, ...fields } = answer.json.items[0].fields;
      expect(typeof etag).toBe('string');
      expect(fields).toEqual({ Name: 'Gadget', Color: 'Red', Quantity: 503 });
      expect(shapeViolations('list', answer.json)).toEqual([]);
      // The `$` forms answer the same; a list without items(...) carries no items.
      const dollar = await ctx.call(
        'GET',
        `/sites/${ctx.siteId}/lists/${list.id}?$select=id,name,lastModifiedDateTime&$expand=columns($select=name,description),items($expand=fields($select=Name,Color,Quantity))`,
      );
      expect(dollar.json).toEqual(answer.json);
      expect((await ctx.call('GET', `/sites/${ctx.siteId}/lists/${list.id}`)).json.items).toBeUndefined();
    });

    it('list-get.md: expanded items are a first page, with items@odata.nextLink to the rest', async () => {
      const list = ctx.emulator.site(ctx.siteId).createList({ displayName: 'Many' });
      for (let i = 0; i < 5; i++) list.createItem({ Title: `m${i}` });
      const first = await ctx.call(
        'GET',
        `/sites/${ctx.siteId}/lists/${list.id}?expand=items(top=2;expand=fields)`,
      );
      expect(first.json.items.map((i: any) => i.fields.Title)).toEqual(['m0', 'm1']);
      const rest = await call('', 'GET', first.json['items@odata.nextLink']);
      expect(rest.status).toBe(200);
      expect(rest.json.value.map((i: any) => i.fields.Title)).toEqual(['m2', 'm3']);
    });

    it('subscription-post-subscriptions.md: the 201 answer carries @odata.context and notificationContentType', async () => {
      const receiver = await startReceiver();
      try {
        const list = ctx.emulator.site(ctx.siteId).createList({ displayName: 'Subscribed' });
        const created = await ctx.call('POST', '/subscriptions', {
          changeType: 'updated',
          notificationUrl: receiver.url,
          resource: `sites/${ctx.siteId}/lists/${list.id}`,
          expirationDateTime: new Date(Date.now() + 60 * 60_000).toISOString(),
          clientState: 'secretClientValue',
          latestSupportedTlsVersion: 'v1_2',
        });
        expect(created.status).toBe(201);
        expect(created.json).toMatchObject({
          '@odata.context': `${ctx.base}/$metadata#subscriptions/$entity`,
          id: expect.any(String),
          applicationId: expect.any(String),
          changeType: 'updated',
          clientState: 'secretClientValue',
          notificationUrl: receiver.url,
          expirationDateTime: expect.any(String),
          creatorId: expect.any(String),
          latestSupportedTlsVersion: 'v1_2',
          notificationContentType: 'application/json',
        });
        expect(shapeViolations('subscription', created.json)).toEqual([]);
        const got = await ctx.call('GET', `/subscriptions/${created.json.id}`);
        expect(got.json['@odata.context']).toBe(`${ctx.base}/$metadata#subscriptions/$entity`);
        expect((await ctx.call('GET', '/subscriptions')).json['@odata.context']).toBe(
          `${ctx.base}/$metadata#subscriptions`,
        );
      } finally {
        await receiver.close();
      }
    });
    it('site-get.md, site-getbypath.md: /sites/root and /sites/{hostname} are the root site', async () => {
      const emulator = createEmulator({
        sites: ['contoso.sharepoint.com:/', 'contoso.sharepoint.com:/sites/a'],
      });
      const served = await transport.start(emulator);
      try {
        const root = await call(served.base, 'GET', '/sites/root');
        expect(root.status).toBe(200);
        expect(root.json).toMatchObject({ webUrl: 'https://contoso.sharepoint.com', root: {} });
        expect((await call(served.base, 'GET', '/sites/contoso.sharepoint.com')).json.id).toBe(root.json.id);
        expect((await call(served.base, 'GET', '/sites/contoso.sharepoint.com:/')).json.id).toBe(
          root.json.id,
        );
        expect((await call(served.base, 'GET', '/sites/fabrikam.sharepoint.com')).status).toBe(404);
        expect((await call(served.base, 'GET', '/sites/root/lists')).json.value).toEqual([]);
      } finally {
        await served.stop();
        await emulator.close();
      }
    });
    it('listitem-delta.md: $select and $top on delta narrow the entries and the page', async () => {
      const list = ctx.emulator.site(ctx.siteId).createList({ displayName: 'Narrow' });
      for (let i = 0; i < 3; i++) list.createItem({ Title: `n${i}` });
      const page = await ctx.call(
        'GET',
        `/sites/${ctx.siteId}/lists/${list.id}/items/delta?select=id,eTag&top=2`,
      );
      expect(page.status).toBe(200);
      expect(page.json.value).toHaveLength(2);
      for (const entry of page.json.value)
        expect(
          Object.keys(entry)
            .filter((k) => !k.startsWith('@'))
            .sort(),
        ).toEqual(['eTag', 'id']);
      expect(typeof page.json['@odata.nextLink']).toBe('string');
    });

    it('list-create.md: the documented body creates a generic list with its columns and Title (201)', async () => {
      const body = (author: string) => ({
        displayName: `Books ${author}`,
        columns: [
          { name: author, text: {} },
          { name: 'PageCount', number: {} },
        ],
        list: { template: 'genericList' },
      });
      const created = await ctx.call('POST', `/sites/${ctx.siteId}/lists`, body('BookAuthor'));
      expect(created.status).toBe(201);
      expect(created.json).toMatchObject({
        id: expect.any(String),
        createdDateTime: expect.any(String),
        lastModifiedDateTime: expect.any(String),
        createdBy: { user: { id: expect.any(String), displayName: expect.any(String) } },
        lastModifiedBy: { user: { id: expect.any(String), displayName: expect.any(String) } },
        list: { template: 'genericList' },
      });
      expect(created.json.columns.map((c: any) => c.name)).toEqual(
        expect.arrayContaining(['Title', 'BookAuthor', 'PageCount']),
      );
      expect(shapeViolations('list', created.json)).toEqual([]);
      // Where the emulator differs (docs/emulator.md): the page's own column name `Author` is the internal
      // name of SharePoint's built-in "Created By"; the emulator refuses it rather than renaming it.
      const author = await ctx.call('POST', `/sites/${ctx.siteId}/lists`, body('Author'));
      expect(author.status).toBe(400);
      expect(author.json.error.message).toContain("'Author' is reserved");
    });
    it('list-post-columns.md and columndefinition-update.md: the documented bodies, answers and their types', async () => {
      const list = ctx.emulator.site(ctx.siteId).createList({ displayName: 'Columns' });
      const columns = `/sites/${ctx.siteId}/lists/${list.id}/columns`;
      const definition = (name: string) => ({
        description: 'test',
        enforceUniqueValues: false,
        hidden: false,
        indexed: false,
        name,
        text: {
          allowMultipleLines: false,
          appendChangesToExistingText: false,
          linesForEditing: 0,
          maxLength: 255,
        },
      });
      const created = await ctx.call('POST', columns, definition('Subtitle'));
      expect(created.status).toBe(201);
      expect(created.json).toMatchObject({
        description: 'test',
        displayName: 'Subtitle',
        enforceUniqueValues: false,
        hidden: false,
        id: expect.any(String),
        indexed: false,
        name: 'Subtitle',
        text: {
          allowMultipleLines: false,
          appendChangesToExistingText: false,
          linesForEditing: 0,
          maxLength: 255,
        },
      });
      const updated = await ctx.call('PATCH', `${columns}/${created.json.id}`, {
        required: true,
        hidden: false,
        propagateChanges: false,
      });
      expect(updated.status).toBe(200);
      expect(updated.json).toMatchObject({
        id: created.json.id,
        required: true,
        hidden: false,
        readOnly: false,
      });
      expect(shapeViolations('columnDefinition', updated.json)).toEqual([]);
      // Where the emulator differs (docs/emulator.md): the page creates a second `Title` and renames freely;
      // SharePoint's internal names are unique per list and never change, so the emulator refuses both.
      expect((await ctx.call('POST', columns, definition('Title'))).status).toBe(400);
      expect((await ctx.call('PATCH', `${columns}/${created.json.id}`, { name: 'Other' })).status).toBe(400);
    });
    it('columndefinition-get.md and list-list-columns.md: a column and the columns of a list, typed as documented', async () => {
      const list = ctx.emulator.site(ctx.siteId).createList({
        displayName: 'Addresses',
        columns: [{ name: 'Address', text: {} }],
      });
      const columns = await ctx.call('GET', `/sites/${ctx.siteId}/lists/${list.id}/columns`);
      expect(columns.status).toBe(200);
      const textColumn = {
        description: expect.any(String),
        displayName: expect.any(String),
        hidden: expect.any(Boolean),
        id: expect.any(String),
        indexed: false,
        name: expect.any(String),
        readOnly: false,
        required: expect.any(Boolean),
        text: {
          allowMultipleLines: false,
          appendChangesToExistingText: false,
          linesForEditing: 0,
          maxLength: 255,
        },
      };
      const byName = (name: string) => columns.json.value.find((c: any) => c.name === name);
      // Where the emulator differs (docs/emulator.md): the page's Title says `required: false`; a new generic
      // list's Title is required in SharePoint (its form asks for it), and so it is in the emulator.
      expect(byName('Title')).toMatchObject({
        ...textColumn,
        displayName: 'Title',
        hidden: false,
        required: true,
      });
      expect(byName('Address')).toMatchObject({ ...textColumn, displayName: 'Address', required: false });
      for (const column of columns.json.value)
        expect(shapeViolations('columnDefinition', column)).toEqual([]);
      const one = await ctx.call(
        'GET',
        `/sites/${ctx.siteId}/lists/${list.id}/columns/${byName('Title').id}`,
      );
      expect(one.status).toBe(200);
      expect(one.json).toMatchObject({ ...textColumn, displayName: 'Title', name: 'Title' });
      expect(one.json.description).toBe('');
    });

    it('listitem-delete.md: DELETE …/items/{id} answers 204 with no body; a stale If-Match answers 412 and keeps it', async () => {
      const list = ctx.emulator.site(ctx.siteId).createList({ displayName: 'Deleting' });
      const kept = list.createItem({ Title: 'kept' });
      const gone = list.createItem({ Title: 'gone' });
      const items = `/sites/${ctx.siteId}/lists/${list.id}/items`;
      const etag = (await ctx.call('GET', `${items}/${kept.id}`)).json.eTag as string;
      await ctx.call('PATCH', `${items}/${kept.id}/fields`, { Title: 'changed' });
      const stale = await ctx.call('DELETE', `${items}/${kept.id}`, undefined, { 'If-Match': etag });
      expect(stale.status).toBe(412);
      expect((await ctx.call('GET', `${items}/${kept.id}`)).status).toBe(200);
      const deleted = await ctx.call('DELETE', `${items}/${gone.id}`);
      expect(deleted.status).toBe(204);
      expect(deleted.json).toBeUndefined();
      expect((await ctx.call('GET', `${items}/${gone.id}`)).status).toBe(404);
      expect((await ctx.call('DELETE', `${items}/${gone.id}`)).status).toBe(404);
    });

    it('list-list.md: the lists of a site, each with id, name, dates and list.hidden/template', async () => {
      const emulator = createEmulator({ sites: ['contoso.sharepoint.com:/sites/lists'] });
      const served = await transport.start(emulator);
      try {
        const site = emulator.site('contoso.sharepoint.com:/sites/lists');
        site.createList({ displayName: 'MicroFeed' });
        const answer = await call(served.base, 'GET', `/sites/${site.id}/lists`);
        expect(answer.status).toBe(200);
        expect(answer.json.value).toHaveLength(1);
        expect(answer.json.value[0]).toMatchObject({
          id: expect.any(String),
          name: 'MicroFeed',
          createdDateTime: expect.any(String),
          lastModifiedDateTime: expect.any(String),
          list: { hidden: false, template: 'genericList' },
        });
        for (const list of answer.json.value) expect(shapeViolations('list', list)).toEqual([]);
      } finally {
        await served.stop();
        await emulator.close();
      }
    });

    it('subscription-get.md, subscription-update.md, subscription-list.md, subscription-delete.md: answers and types', async () => {
      const receiver = await startReceiver();
      try {
        const list = ctx.emulator.site(ctx.siteId).createList({ displayName: 'Managed' });
        const created = await ctx.call('POST', '/subscriptions', {
          changeType: 'updated',
          notificationUrl: receiver.url,
          resource: `sites/${ctx.siteId}/lists/${list.id}`,
          expirationDateTime: new Date(Date.now() + 60 * 60_000).toISOString(),
          clientState: 'secretClientValue',
        });
        expect(created.status).toBe(201);
        const id = created.json.id as string;
        const subscription = {
          id,
          resource: `sites/${ctx.siteId}/lists/${list.id}`,
          applicationId: expect.any(String),
          changeType: 'updated',
          notificationUrl: receiver.url,
          expirationDateTime: expect.any(String),
          creatorId: expect.any(String),
          latestSupportedTlsVersion: expect.any(String),
          notificationContentType: 'application/json',
        };
        const got = await ctx.call('GET', `/subscriptions/${id}`);
        expect(got.status).toBe(200);
        expect(got.json).toMatchObject({ ...subscription, clientState: 'secretClientValue' });
        expect(shapeViolations('subscription', got.json)).toEqual([]);

        // The page's body writes seven fractional digits (`…45.9356913Z`).
        const renewedTo = new Date(Date.now() + 2 * 60 * 60_000).toISOString().replace('Z', '6913Z');
        const updated = await ctx.call('PATCH', `/subscriptions/${id}`, { expirationDateTime: renewedTo });
        expect(updated.status).toBe(200);
        expect(updated.json).toMatchObject(subscription);
        expect(Date.parse(updated.json.expirationDateTime)).toBe(Date.parse(renewedTo));
        expect(shapeViolations('subscription', updated.json)).toEqual([]);

        const listed = await ctx.call('GET', '/subscriptions');
        expect(listed.status).toBe(200);
        const entry = listed.json.value.find((s: any) => s.id === id);
        expect(entry).toMatchObject(subscription);
        // subscription-list.md: "the clientState property value is not returned for security purposes".
        expect(entry.clientState).toBeNull();
        for (const s of listed.json.value) expect(shapeViolations('subscription', s)).toEqual([]);

        const deleted = await ctx.call('DELETE', `/subscriptions/${id}`);
        expect(deleted.status).toBe(204);
        expect(deleted.json).toBeUndefined();
        expect((await ctx.call('GET', `/subscriptions/${id}`)).status).toBe(404);
        expect((await ctx.call('DELETE', `/subscriptions/${id}`)).status).toBe(404);
      } finally {
        await receiver.close();
      }
    });
    it('delta-query-overview.md: every page has a nextLink or a deltaLink; both carry $select and $top; 410 has a Location', async () => {
      const list = ctx.emulator.site(ctx.siteId).createList({ displayName: 'Tracked' });
      const items = [0, 1, 2].map((i) => list.createItem({ Title: `t${i}` }));
      // "Resources that have been created and deleted prior to the initial delta query won't be returned."
      list.deleteItem(list.createItem({ Title: 'short-lived' }).id);
      const keys = (entry: any) =>
        Object.keys(entry)
          .filter((k) => !k.startsWith('@'))
          .sort();
      const feed = `/sites/${ctx.siteId}/lists/${list.id}/items/delta`;
      // "The state tokens also encode and include other query parameters (such as $select) specified in the
      // initial delta query request"; the links are followed as given.
      const pages = [await ctx.call('GET', `${feed}?$select=id,eTag&$top=2`)];
      while (pages.at(-1)!.json['@odata.nextLink'])
        pages.push(await call('', 'GET', pages.at(-1)!.json['@odata.nextLink']));
      for (const page of pages) {
        expect(page.status).toBe(200);
        expect(typeof (page.json['@odata.nextLink'] ?? page.json['@odata.deltaLink'])).toBe('string');
        expect(page.json['@odata.nextLink'] && page.json['@odata.deltaLink']).toBeFalsy();
        for (const entry of page.json.value) expect(keys(entry)).toEqual(['eTag', 'id']);
      }
      expect(pages.length).toBeGreaterThanOrEqual(2);
      expect(new Set(pages.flatMap((p) => p.json.value.map((v: any) => v.id)))).toEqual(
        new Set(items.map((i) => i.id)),
      );
      const deltaLink = pages.at(-1)!.json['@odata.deltaLink'] as string;
      for (const item of items) list.updateItem(item.id, { Title: `${item.fields.Title}!` });
      const changes = await call('', 'GET', deltaLink);
      expect(changes.status).toBe(200);
      // The feed may repeat an entry ("Replays"); distinct entries keep to the page size asked.
      expect(new Set(changes.json.value.map((v: any) => v.id)).size).toBeLessThanOrEqual(2);
      expect(typeof changes.json['@odata.nextLink']).toBe('string');
      for (const entry of changes.json.value) expect(keys(entry)).toEqual(['eTag', 'id']);
      // The page writes its tokens `$skipToken` and `$deltaToken`; option names are case-insensitive.
      const token = new URL(deltaLink).searchParams.get('token')!;
      const camel = await ctx.call(
        'GET',
        `${feed}?$select=id,eTag&$top=2&$deltaToken=${encodeURIComponent(token)}`,
      );
      expect(camel.status).toBe(200);
      // Compared as sets of ids: the feed may repeat an entry ("Replays").
      const ids = (reply: any) => [...new Set(reply.json.value.map((v: any) => v.id))].sort();
      expect(ids(camel)).toEqual(ids(changes));
      const nextLink = new URL(changes.json['@odata.nextLink']);
      const skip = nextLink.searchParams.get('$skiptoken')!;
      nextLink.searchParams.delete('$skiptoken');
      nextLink.searchParams.set('$skipToken', skip);
      const skipped = await call('', 'GET', nextLink.toString());
      expect(skipped.status).toBe(200);
      expect(ids(skipped)).toEqual(ids(await call('', 'GET', changes.json['@odata.nextLink'])));
      expect(ids(skipped)).toHaveLength(1);
      // Nothing changed since the latest deltaLink: an empty page, still with a deltaLink.
      const latest = await ctx.call('GET', `${feed}?token=latest`);
      const quiet = await call('', 'GET', latest.json['@odata.deltaLink']);
      expect(quiet.json.value).toEqual([]);
      expect(typeof quiet.json['@odata.deltaLink']).toBe('string');
      // "Synchronization reset": 410 and a Location with the initial query, which restarts in full.
      ctx.emulator.expireDeltaTokens(list.id);
      const gone = await call('', 'GET', deltaLink);
      expect(gone.status).toBe(410);
      expect(['resyncChangesApplyDifferences', 'resyncChangesUploadDifferences']).toContain(
        gone.json.error.code,
      );
      const restart = new URL(gone.headers.get('location')!);
      expect(restart.searchParams.has('token')).toBe(false);
      expect(restart.searchParams.get('$select')).toBe('id,eTag');
      const again = await call('', 'GET', restart.toString());
      expect(again.status).toBe(200);
      for (const entry of again.json.value) expect(keys(entry)).toEqual(['eTag', 'id']);
    });

    it('listitem-create.md: the example body answers 201 with the item, its users and its typed fields', async () => {
      const list = ctx.emulator.site(ctx.siteId).createList({
        displayName: 'Widgets',
        columns: [
          { name: 'Color', text: {} },
          { name: 'Weight', number: {} },
        ],
      });
      const created = await ctx.call('POST', `/sites/${ctx.siteId}/lists/${list.id}/items`, {
        fields: { Title: 'Widget', Color: 'Purple', Weight: 32 },
      });
      expect(created.status).toBe(201);
      const user = { user: { displayName: expect.any(String), id: expect.any(String) } };
      expect(created.json).toMatchObject({
        id: expect.stringMatching(/^\d+$/),
        createdDateTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
        createdBy: user,
        lastModifiedDateTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
        lastModifiedBy: user,
      });
      expect(created.json.fields).toMatchObject({ Title: 'Widget', Color: 'Purple', Weight: 32 });
      expect(typeof created.json.fields.Weight).toBe('number');
      expect(shapeViolations('listItem', created.json)).toEqual([]);
    });

    it('listitem-update.md: PATCH …/items/{id}/fields answers 200 with the fieldValueSet; other values are left alone', async () => {
      const list = ctx.emulator.site(ctx.siteId).createList({
        displayName: 'Updated',
        columns: [
          { name: 'Name', text: {} },
          { name: 'Color', text: {} },
          { name: 'Quantity', number: {} },
        ],
      });
      const item = list.createItem({ Title: 'w', Name: 'Widget', Color: 'Blue', Quantity: 2357 });
      const path = `/sites/${ctx.siteId}/lists/${list.id}/items/${item.id}`;
      const stale = (await ctx.call('GET', path)).json.eTag as string;
      const updated = await ctx.call('PATCH', `${path}/fields`, { Color: 'Fuchsia', Quantity: 934 });
      expect(updated.status).toBe(200);
      // A fieldValueSet: the column values themselves, not a listItem around them.
      expect(updated.json).toMatchObject({ Name: 'Widget', Color: 'Fuchsia', Quantity: 934 });
      expect(typeof updated.json.Quantity).toBe('number');
      for (const listItemProperty of ['fields', 'createdBy', 'eTag', 'webUrl'])
        expect(updated.json[listItemProperty]).toBeUndefined();
      expect(list.item(item.id)!.fields).toMatchObject({ Name: 'Widget', Color: 'Fuchsia', Quantity: 934 });
      // "If … the eTag provided does not match the current eTag on the item, a 412 … the item will not be updated."
      const refused = await ctx.call('PATCH', `${path}/fields`, { Color: 'Red' }, { 'If-Match': stale });
      expect(refused.status).toBe(412);
      expect(list.item(item.id)!.fields.Color).toBe('Fuchsia');
    });

    it('listitem-list.md and listitem-get.md: items with expand=fields(select=…), bare expand=fields and $expand=fields', async () => {
      const list = ctx.emulator.site(ctx.siteId).createList({
        displayName: 'Stock',
        columns: [
          { name: 'Name', text: {} },
          { name: 'Color', text: {} },
          { name: 'Quantity', number: {} },
        ],
      });
      const made = [
        { Title: 'g', Name: 'Gadget', Color: 'Red', Quantity: 503 },
        { Title: 'w', Name: 'Widget', Color: 'Blue', Quantity: 2357 },
        { Title: 'z', Name: 'Gizmo', Color: 'Green', Quantity: 92 },
      ].map((fields) => list.createItem(fields));
      const items = `/sites/${ctx.siteId}/lists/${list.id}/items`;
      const without = ({ '@odata.etag': etag, ...rest }: Record<string, unknown>) => {
        expect(typeof etag).toBe('string');
        return rest;
      };
      // listitem-list.md's example.
      const listed = await ctx.call('GET', `${items}?expand=fields(select=Name,Color,Quantity)`);
      expect(listed.status).toBe(200);
      expect(listed.json.value.map((i: any) => ({ id: i.id, fields: without(i.fields) }))).toEqual([
        { id: made[0]!.id, fields: { Name: 'Gadget', Color: 'Red', Quantity: 503 } },
        { id: made[1]!.id, fields: { Name: 'Widget', Color: 'Blue', Quantity: 2357 } },
        { id: made[2]!.id, fields: { Name: 'Gizmo', Color: 'Green', Quantity: 92 } },
      ]);
      for (const item of listed.json.value) {
        expect(typeof item.id).toBe('string');
        expect(typeof item.fields.Quantity).toBe('number');
        expect(shapeViolations('listItem', item)).toEqual([]);
      }
      // The page's other two forms: no fields without expand; every field with a bare expand=fields.
      const plain = await ctx.call('GET', items);
      expect(plain.status).toBe(200);
      expect(plain.json.value.every((i: any) => i.fields === undefined)).toBe(true);
      const expanded = await ctx.call('GET', `${items}?expand=fields`);
      expect(expanded.json.value[2].fields).toMatchObject({ Title: 'z', Name: 'Gizmo', Quantity: 92 });
      // listitem-get.md's example (`?expand=fields`), the `$` form, and expand=fields(select=…).
      for (const query of ['expand=fields', '$expand=fields']) {
        const got = await ctx.call('GET', `${items}/${made[1]!.id}?${query}`);
        expect(got.status).toBe(200);
        expect(got.json.id).toBe(made[1]!.id);
        expect(got.json.fields).toMatchObject({ Name: 'Widget', Color: 'Blue', Quantity: 2357 });
        expect(typeof got.json.fields.Quantity).toBe('number');
        expect(shapeViolations('listItem', got.json)).toEqual([]);
      }
      const narrow = await ctx.call('GET', `${items}/${made[1]!.id}?expand=fields(select=Name,Quantity)`);
      expect(without(narrow.json.fields)).toEqual({ Name: 'Widget', Quantity: 2357 });
      const bare = await ctx.call('GET', `${items}/${made[1]!.id}`);
      expect(bare.status).toBe(200);
      expect(bare.json.fields).toBeUndefined();
    });

    it('json-batching.md: the example envelope: urls with and without a leading "/", an inner 405, headers as objects', async () => {
      const list = ctx.emulator.site(ctx.siteId).createList({ displayName: 'Enveloped' });
      const one = list.createItem({ Title: 'one' });
      const items = `sites/${ctx.siteId}/lists/${list.id}/items`;
      const answer = await ctx.call(
        'POST',
        '/$batch',
        {
          requests: [
            { id: '1', method: 'GET', url: `/${items}/${one.id}` },
            {
              id: '2',
              method: 'GET',
              url: `${items}?$select=id&$expand=fields($select=Title)`,
              headers: { ConsistencyLevel: 'eventual' },
            },
            { id: '3', method: 'DELETE', url: `/${items}/424242` },
            // The page's request 4: a POST with an empty body where the resource takes none answers 405.
            {
              id: '4',
              url: `/sites/${ctx.siteId}`,
              method: 'POST',
              body: {},
              headers: { 'Content-Type': 'application/json' },
            },
          ],
        },
        { Accept: 'application/json' },
      );
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-type')).toContain('application/json');
      const byId = new Map<string, any>(answer.json.responses.map((r: any) => [r.id, r]));
      expect([...byId.keys()].sort()).toEqual(['1', '2', '3', '4']);
      for (const r of answer.json.responses) {
        expect(typeof r.id).toBe('string');
        expect(typeof r.status).toBe('number');
        expect(r.headers).toEqual(expect.any(Object));
        expect(Array.isArray(r.headers)).toBe(false);
        for (const value of Object.values(r.headers)) expect(typeof value).toBe('string');
        if (r.body !== undefined) expect(r.body).toEqual(expect.any(Object));
      }
      expect(byId.get('1')).toMatchObject({ status: 200, body: { id: one.id } });
      expect(byId.get('1').headers['Content-Type']).toContain('application/json');
      expect(byId.get('2').status).toBe(200);
      expect(byId.get('2').body.value.map((i: any) => i.fields.Title)).toEqual(['one']);
      const error = {
        error: {
          code: expect.any(String),
          message: expect.any(String),
          innerError: {
            date: expect.any(String),
            'request-id': expect.any(String),
            'client-request-id': expect.any(String),
          },
        },
      };
      expect(byId.get('3')).toMatchObject({ status: 404, body: error });
      expect(byId.get('4')).toMatchObject({ status: 405, body: error });
    });

    it('json-batching.md: dependsOn runs requests in the order given (1, 2, 4, 3); ids ignore case', async () => {
      const list = ctx.emulator.site(ctx.siteId).createList({ displayName: 'Sequenced' });
      const made = [1, 2, 3, 4].map((i) => list.createItem({ Title: `s${i}` }));
      const url = (i: number) => `/sites/${ctx.siteId}/lists/${list.id}/items/${made[i - 1]!.id}`;
      const before = ctx.emulator.log.entries.length;
      const answer = await ctx.call('POST', '/$batch', {
        requests: [
          { id: '1', method: 'GET', url: url(1) },
          { id: '2', dependsOn: ['1'], method: 'GET', url: url(2) },
          { id: '4', dependsOn: ['2'], method: 'GET', url: url(4) },
          { id: '3', dependsOn: ['4'], method: 'GET', url: url(3) },
        ],
      });
      expect(answer.status).toBe(200);
      expect(answer.json.responses.map((r: any) => r.status)).toEqual([200, 200, 200, 200]);
      const run = ctx.emulator.log.entries.slice(before).filter((e) => e.inBatch);
      expect(run.map((e) => e.path)).toEqual([url(1), url(2), url(4), url(3)]);
      // "Not case-sensitive": a dependsOn written in another case names the same request.
      const cased = await ctx.call('POST', '/$batch', {
        requests: [
          { id: 'first', method: 'GET', url: url(1) },
          { id: 'second', dependsOn: ['FIRST'], method: 'GET', url: url(2) },
        ],
      });
      expect(cased.status).toBe(200);
      expect(cased.json.responses.map((r: any) => r.status)).toEqual([200, 200]);
    });

    it("throttling.md: a 429 with Retry-After and Graph's error shape (SharePoint's code activityLimitReached); RateLimit headers as SharePoint documents them", async () => {
      const clock = Date.parse('2026-03-01T00:00:00Z');
      const emulator = createEmulator({
        sites: ['contoso.sharepoint.com:/sites/throttled'],
        resourceUnitsPerMinute: 10,
        now: () => clock,
      });
      const served = await transport.start(emulator);
      try {
        const site = `/sites/${emulator.site('contoso.sharepoint.com:/sites/throttled').id}`; // 1 RU each
        for (let i = 0; i < 8; i++) expect((await call(served.base, 'GET', site)).status).toBe(200);
        // how-to-avoid-getting-throttled-or-blocked-in-sharepoint-online.md: from 80 % of the app's 1-minute
        // resource units, a request that succeeds carries RateLimit-Limit, -Remaining and -Reset.
        const near = await call(served.base, 'GET', site);
        expect(near.status).toBe(200);
        expect(near.headers.get('ratelimit-limit')).toBe('10');
        expect(near.headers.get('ratelimit-remaining')).toBe('1');
        expect(Number(near.headers.get('ratelimit-reset'))).toBeGreaterThan(0);
        await call(served.base, 'GET', site);
        const throttled = await call(served.base, 'GET', site);
        expect(throttled.status).toBe(429);
        expect(throttled.headers.get('content-type')).toContain('application/json');
        const retryAfter = throttled.headers.get('retry-after');
        expect(retryAfter).toMatch(/^\d+(\.\d+)?$/);
        expect(Number(retryAfter)).toBeGreaterThan(0);
        // "The Retry-After matches the RateLimit-Reset", and nothing remains.
        expect(throttled.headers.get('ratelimit-reset')).toBe(retryAfter);
        expect(throttled.headers.get('ratelimit-remaining')).toBe('0');
        // throttling.md's sample: error.code, error.message and an innerError with a code, a date and a
        // request-id, all strings. The code is SharePoint's (docs/emulator.md, where the emulator differs).
        expect(throttled.json).toEqual({
          error: {
            code: 'activityLimitReached',
            message: expect.any(String),
            innerError: {
              code: 'throttledRequest',
              date: expect.any(String),
              'request-id': expect.any(String),
              'client-request-id': expect.any(String),
            },
          },
        });
        // "Requests in a batch are evaluated individually … it fails with a status of 429": inside a 200
        // envelope, with its own Retry-After in the inner headers; a request depending on it answers 424.
        const batch = await call(served.base, 'POST', '/$batch', {
          requests: [
            { id: 'a', method: 'GET', url: site },
            { id: 'b', dependsOn: ['a'], method: 'GET', url: site },
          ],
        });
        expect(batch.status).toBe(200);
        const byId = new Map<string, any>(batch.json.responses.map((r: any) => [r.id, r]));
        expect(byId.get('a').status).toBe(429);
        expect(byId.get('a').headers['Retry-After']).toMatch(/^\d+$/);
        expect(byId.get('a').body.error.code).toBe('activityLimitReached');
        expect(byId.get('b').status).toBe(424);
        // A 429 of another limit than the budget carries no RateLimit headers, "to avoid confusion".
        emulator.faults.inject({ method: 'GET', status: 429, retryAfterSeconds: 9, count: 1 });
        const other = await call(served.base, 'GET', site);
        expect(other.status).toBe(429);
        expect(other.headers.get('retry-after')).toBe('9');
        expect(other.headers.get('ratelimit-limit')).toBeNull();
        expect(other.headers.get('ratelimit-reset')).toBeNull();
      } finally {
        await served.stop();
        await emulator.close();
      }
    });
  });
}
