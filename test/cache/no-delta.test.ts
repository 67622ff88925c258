import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { silentLogger } from '../../src/context.js';
import { GraphClient } from '../../src/graph/index.js';
import { rowToFields } from '../../src/schema/index.js';
import { Account, cacheEntities } from './fixtures.js';
import { type CacheHarness, createCacheHarness, SITE_REF } from './harness.js';

let h: CacheHarness;
const warnings: string[] = [];

beforeAll(async () => {
  // A cloud without list-item delta (the gateway knows it from the base URL; here it is said outright).
  h = await createCacheHarness(cacheEntities, {
    graph: { listItemDelta: false },
    logger: { ...silentLogger, warn: (m: string) => void warnings.push(m) },
  });
});
afterAll(async () => {
  await h?.close();
});

it('knows the clouds without list-item delta', () => {
  expect(new GraphClient().supportsListItemDelta).toBe(true);
  expect(new GraphClient({ baseUrl: 'https://graph.microsoft.us/v1.0' }).supportsListItemDelta).toBe(false);
  expect(
    new GraphClient({ baseUrl: 'https://microsoftgraph.chinacloudapi.cn/v1.0' }).supportsListItemDelta,
  ).toBe(false);
});

it('without delta, loads page through the list and every refresh reads it again, deletions included', async () => {
  warnings.length = 0;
  const cache = h.newCache({ pageSize: 10 });
  expect(warnings.join('\n')).toMatch(/list-item delta is not available in this cloud/);
  const list = h.emulator.site(SITE_REF).list('Accounts')!;
  const ids = Array.from({ length: 25 }, () => randomUUID());
  for (const [i, id] of ids.entries())
    list.createItem(rowToFields(h.list(Account), { id, name: `n${i}`, active: true, tier: 'free' }));
  h.emulator.log.reset();
  const [first] = await cache.ensureLoaded(Account);
  expect(first!.loaded).toBe(25);
  expect(h.emulator.log.entries.some((e) => e.path.includes('/delta'))).toBe(false);
  expect(h.emulator.log.entries.filter((e) => e.path.endsWith('/items'))).toHaveLength(3);

  list.updateItem(list.items()[0]!.id, { Name: 'changed' });
  list.deleteItem(list.items()[1]!.id);
  const again = await cache.refresh(Account);
  expect(again.mode).toBe('full');
  expect(again.deleted).toBe(1);
  const [{ n }] = await h.dataSource.query('SELECT count(*)::int AS n FROM account');
  expect(n).toBe(24);
  const [{ name }] = await h.dataSource.query('SELECT name FROM account WHERE id = $1', [ids[0]]);
  expect(name).toBe('changed');
});
