// biome-ignore-all lint/suspicious/noExplicitAny: JSON read off the wire, asserted field by field
import {
  BatchRequestContent,
  type BatchRequestStep,
  BatchResponseContent,
  Client,
  PageIterator,
} from '@microsoft/microsoft-graph-client';
import { describe, expect, it } from 'vitest';
import { GraphClient } from '../../src/graph/index.js';
import type { EmulatorList } from '../../src/testing/index.js';
import { type Transport, useEmulator } from '../testing/support.js';

/**
 * Issue 17, "The official Graph SDK against the emulator": `@microsoft/microsoft-graph-client` used as its
 * documentation shows, unmodified, against the emulator (the msw and loopback files both run these).
 */
export function sdkBehaviours(
  transport: Transport,
  options: { fetchOptions?: () => Record<string, unknown> } = {},
): void {
  describe(`the official Graph SDK against the emulator (${transport.name})`, { shuffle: false }, () => {
    const ctx = useEmulator(transport, { defaultPageSize: 200 });
    const tokens: string[] = [];
    let client: Client;
    let big: EmulatorList;
    let small: EmulatorList;
    let site: string;

    const sdk = () => {
      const base = new URL(ctx.base); // …/v1.0
      return Client.initWithMiddleware({
        // The SDK's own AuthenticationProvider shape: the emulator ignores the token, the SDK sends it.
        authProvider: {
          getAccessToken: async () => {
            tokens.push('sdk-token');
            return 'sdk-token';
          },
        },
        baseUrl: base.origin,
        defaultVersion: base.pathname.replace(/^\/+|\/+$/g, ''),
        customHosts: new Set([base.hostname]),
        ...(options.fetchOptions ? { fetchOptions: options.fetchOptions() } : {}),
      });
    };

    it('setup: a list of 12,000 items and a small one', () => {
      client = sdk();
      site = ctx.siteId;
      const emulated = ctx.emulator.site(ctx.emulator.site(ctx.siteId).id);
      big = emulated.createList({ displayName: 'Big', columns: [{ name: 'Code', text: {} }] });
      for (let i = 0; i < 12_000; i++) big.createItem({ Title: `t${i}`, Code: `c${i}` });
      small = emulated.createList({ displayName: 'Small', columns: [{ name: 'Code', text: {} }] });
      for (let i = 0; i < 9; i++) small.createItem({ Title: `s${i}`, Code: `s${i}` });
      expect(big.items()).toHaveLength(12_000);
    });

    it('PageIterator walks all 12,000 items through @odata.nextLink, each exactly once', async () => {
      const first = await client
        .api(`/sites/${site}/lists/${big.id}/items`)
        .expand('fields($select=Code)')
        .top(1000)
        .get();
      const codes: string[] = [];
      let pages = 1;
      const iterator = new PageIterator(client, first, (item: any) => {
        codes.push(item.fields.Code);
        return true;
      });
      const before = ctx.emulator.log.entries.length;
      await iterator.iterate();
      pages += ctx.emulator.log.entries.slice(before).filter((e: any) => e.method === 'GET').length;
      expect(iterator.isComplete()).toBe(true);
      expect(codes).toHaveLength(12_000);
      expect(new Set(codes).size).toBe(12_000);
      expect(codes.sort()).toEqual(
        big
          .items()
          .map((i) => String(i.fields.Code))
          .sort(),
      );
      expect(pages).toBe(12);
      expect(tokens.length).toBeGreaterThan(0);
    });

    it('BatchRequestContent with 20 serial requests (dependsOn); BatchResponseContent reads every answer', async () => {
      // SDK 3.0.7 strips scheme and host but keeps the version segment, which Graph refuses ("Resource not
      // found for the segment 'v1.0'"); Microsoft's documented form for 3.0.7 is the origin without the version
      // (microsoftgraph/msgraph-sdk-javascript#1451).
      const itemsUrl = `${new URL(ctx.base).origin}/sites/${site}/lists/${small.id}/items`;
      const ids = small.items().map((i) => i.id);
      expect(ids).toHaveLength(9);
      // 1 creates; 2..10 read the nine items; 11..19 update them; 20 lists the items. Each step depends on the
      // one before (the SDK's "serial" shape), so 20 sees every change before it.
      const requests: Request[] = [
        new Request(itemsUrl, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ fields: { Title: 'made in a batch', Code: 'b1' } }),
        }),
        ...ids.map((id) => new Request(`${itemsUrl}/${id}?$expand=fields`)),
        ...ids.map(
          (id, i) =>
            new Request(`${itemsUrl}/${id}/fields`, {
              method: 'PATCH',
              headers: { 'Content-Type': 'application/json' },
              body: JSON.stringify({ Code: `u${i}` }),
            }),
        ),
        new Request(`${itemsUrl}?$expand=fields&$top=50`),
      ];
      const steps: BatchRequestStep[] = requests.map((request, i) => ({
        id: String(i + 1),
        request,
        ...(i > 0 ? { dependsOn: [String(i)] } : {}),
      }));
      expect(steps).toHaveLength(20);
      const body = await new BatchRequestContent(steps).getContent();
      const answer = new BatchResponseContent(await client.api('/$batch').post(body));

      expect(answer.getResponses().size).toBe(20);
      const created = answer.getResponseById('1')!;
      expect(created.status).toBe(201);
      const createdItem = await created.json();
      expect(createdItem.fields.Code).toBe('b1');
      for (let i = 0; i < 9; i++) {
        const read = answer.getResponseById(String(2 + i))!;
        expect(read.status).toBe(200);
        expect((await read.json()).id).toBe(ids[i]);
        expect(answer.getResponseById(String(11 + i))!.status).toBe(200);
        expect(small.item(ids[i]!)!.fields.Code).toBe(`u${i}`);
      }
      const listed = await answer.getResponseById('20')!.json();
      const codes = new Map(listed.value.map((v: any) => [v.id, v.fields.Code]));
      expect(codes.get(createdItem.id)).toBe('b1');
      for (const [i, id] of ids.entries()) expect(codes.get(id)).toBe(`u${i}`);
    });

    it('dependsOn: 19 requests depending on one that fails are not run (424) and change nothing', async () => {
      const itemsUrl = `${new URL(ctx.base).origin}/sites/${site}/lists/${small.id}/items`;
      const ids = small.items().map((i) => i.id);
      const before = small.items().map((i) => i.fields.Code);
      const steps: BatchRequestStep[] = [
        { id: 'missing', request: new Request(`${itemsUrl}/999999`) },
        ...Array.from({ length: 19 }, (_, i) => ({
          id: `patch${i}`,
          dependsOn: ['missing'],
          request: new Request(`${itemsUrl}/${ids[i % ids.length]}/fields`, {
            method: 'PATCH',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ Code: `never${i}` }),
          }),
        })),
      ];
      const answer = new BatchResponseContent(
        await client.api('/$batch').post(await new BatchRequestContent(steps).getContent()),
      );
      expect(answer.getResponses().size).toBe(20);
      expect(answer.getResponseById('missing')!.status).toBe(404);
      for (let i = 0; i < 19; i++) expect(answer.getResponseById(`patch${i}`)!.status).toBe(424);
      expect(small.items().map((i) => i.fields.Code)).toEqual(before);
    });

    it('a delta round: initial pages to a deltaLink, a change, the next round through that deltaLink', async () => {
      const initial: any[] = [];
      let response = await client.api(`/sites/${site}/lists/${small.id}/items/delta`).expand('fields').get();
      for (;;) {
        initial.push(...response.value);
        if (response['@odata.deltaLink']) break;
        expect(response['@odata.nextLink']).toBeTypeOf('string');
        response = await client.api(response['@odata.nextLink']).get();
      }
      expect(initial.map((i) => i.id).sort()).toEqual(
        small
          .items()
          .map((i) => i.id)
          .sort(),
      );
      const deltaLink = response['@odata.deltaLink'] as string;
      expect(deltaLink.startsWith(ctx.base)).toBe(true);

      const changed = small.items()[0]!.id;
      await client.api(`/sites/${site}/lists/${small.id}/items/${changed}/fields`).patch({ Code: 'changed' });
      const next = await client.api(deltaLink).get();
      expect(next.value.map((i: any) => i.id)).toEqual([changed]);
      expect(next.value[0].fields.Code).toBe('changed');
      expect(next['@odata.deltaLink']).toBeTypeOf('string');
      const quiet = await client.api(next['@odata.deltaLink']).get();
      expect(quiet.value).toEqual([]);
    });

    it('If-Match with a stale eTag answers 412, which the SDK raises as a GraphError', async () => {
      const itemId = small.items()[1]!.id;
      const path = `/sites/${site}/lists/${small.id}/items/${itemId}`;
      const stale = (await client.api(path).get()).eTag as string;
      await client.api(`${path}/fields`).header('If-Match', stale).patch({ Code: 'first' });
      const refused = await client
        .api(`${path}/fields`)
        .header('If-Match', stale)
        .patch({ Code: 'second' })
        .then(
          () => undefined,
          (error: any) => error,
        );
      expect(refused?.statusCode).toBe(412);
      expect(small.item(itemId)!.fields.Code).toBe('first');
    });

    it("the gateway takes the SDK's AuthenticationProvider as its credential", async () => {
      const extra = options.fetchOptions?.() ?? {};
      const sent: (string | null)[] = [];
      const gateway = (tokenOf: () => string, asked: (string[] | undefined)[]) =>
        new GraphClient({
          baseUrl: ctx.base,
          fetch: (input, init) => {
            sent.push(new Headers(init?.headers).get('authorization'));
            return fetch(input, { ...init, ...extra });
          },
          credential: {
            getAccessToken: async (opts?: { scopes?: string[] }) => {
              asked.push(opts?.scopes);
              return tokenOf();
            },
          },
        });
      // An opaque token: asked for each request, as the SDK itself does.
      const asked: (string[] | undefined)[] = [];
      const opaque = gateway(() => 'provider-token', asked);
      expect((await opaque.get<{ id: string }>(`/sites/${site}/lists/${small.id}`)).id).toBe(small.id);
      await opaque.get(`/sites/${site}/lists/${small.id}`);
      expect(asked).toEqual([
        ['https://graph.microsoft.com/.default'],
        ['https://graph.microsoft.com/.default'],
      ]);
      expect(sent).toEqual(['Bearer provider-token', 'Bearer provider-token']);
      // A JWT: reused until five minutes before its exp.
      const payload = Buffer.from(JSON.stringify({ exp: Math.floor(Date.now() / 1000) + 3600 })).toString(
        'base64url',
      );
      const jwt = `eyJhbGciOiJub25lIn0.${payload}.sig`;
      const askedJwt: (string[] | undefined)[] = [];
      const cached = gateway(() => jwt, askedJwt);
      await cached.get(`/sites/${site}/lists/${small.id}`);
      await cached.get(`/sites/${site}/lists/${small.id}`);
      expect(askedJwt).toHaveLength(1);
      expect(sent.slice(2)).toEqual([`Bearer ${jwt}`, `Bearer ${jwt}`]);
    });
  });
}
