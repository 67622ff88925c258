import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RebuildRefusedError } from '../../src/cache/index.js';
import { rowToFields } from '../../src/schema/index.js';
import { waitFor } from '../support/wait.js';
import { Account, Contact, cacheEntities, Tier } from './fixtures.js';
import { type CacheHarness, createCacheHarness, SITE_REF } from './harness.js';

const ACCOUNTS = 10_000;
const CONTACTS = 2_000;

let h: CacheHarness;
const accountIds: string[] = [];
const contactIds: string[] = [];

/** Rows as PostgreSQL holds them, hashed in one query: the same hash means the same content. */
async function contentHash(): Promise<string> {
  const [a] = await h.dataSource.query(
    `SELECT md5(string_agg(t::text, '|' ORDER BY t.id)) AS h FROM account t`,
  );
  const [c] = await h.dataSource.query(
    `SELECT md5(string_agg(t::text, '|' ORDER BY t.id)) AS h FROM contact t`,
  );
  return `${a.h}/${c.h}`;
}

function accountRow(i: number): Record<string, unknown> {
  return {
    id: accountIds[i],
    name: `Account ${i} O'Brien`,
    notes: i % 3 === 0 ? `Line one\nline two of ${i}` : null,
    employees: i % 500,
    score: i / 8,
    revenue: (i * 12.5).toFixed(2),
    active: i % 2 === 0,
    signedAt: new Date(Date.UTC(2023, 0, 1, 12, 0, 0) + i * 3_600_000),
    tier: [Tier.Free, Tier.Pro, Tier.Enterprise][i % 3],
    tags: i % 4 === 0 ? 'vip,emea' : null,
    settings: i % 5 === 0 ? { theme: 'dark', size: i } : null,
    addressStreet: `${i} Main St`,
    addressCity: i % 7 === 0 ? null : 'Paris',
    addressCountry: 'FR',
    deletedAt: null,
  };
}

beforeAll(async () => {
  h = await createCacheHarness(cacheEntities, { emulator: { deltaRepeatProbability: 0.05 } });
  const site = h.emulator.site(SITE_REF);
  const accounts = site.list('Accounts')!;
  const contacts = site.list('Contacts')!;
  for (let i = 0; i < ACCOUNTS; i++) accountIds.push(randomUUID());
  for (let i = 0; i < CONTACTS; i++) contactIds.push(randomUUID());
  for (let i = 0; i < ACCOUNTS; i++) accounts.createItem(rowToFields(h.list(Account), accountRow(i)));
  for (let i = 0; i < CONTACTS; i++) {
    contacts.createItem(
      rowToFields(h.list(Contact), {
        id: contactIds[i],
        name: `Contact ${i}`,
        accountId: accountIds[i % ACCOUNTS],
        // Managers point forward in the same list: loaded later than their reports.
        managerId: i + 1 < CONTACTS ? contactIds[i + 1] : null,
      }),
    );
  }
}, 300_000);

afterAll(async () => {
  await h?.close();
});

// The steps share one 10,000-item load (too slow to repeat per test): the first load, the TTL refresh, then
// rebuilds, each from the state the previous step left. They keep their order under --sequence.shuffle.
describe('cache', { shuffle: false }, () => {
  it('20 concurrent first callers share one load', async () => {
    h.emulator.log.reset();
    const results = await Promise.all(Array.from({ length: 20 }, () => h.cache.ensureLoaded(Account)));
    const full = h.emulator.log.entries.filter(
      (e) => e.path.endsWith('/items/delta') && !e.query.includes('token='),
    );
    // One full pass: its first page is the only delta request without a token.
    expect(full.filter((e) => !e.query.includes('skiptoken'))).toHaveLength(1);
    expect(results.every((r) => r[0]!.entity === 'Account')).toBe(true);
    const [{ n }] = await h.dataSource.query('SELECT count(*)::int AS n FROM account');
    expect(n).toBe(ACCOUNTS);
  });

  it('loads 10,000 items with every column type, relations in any order, and verify reports zero drift', async () => {
    h.emulator.log.reset();
    const results = await h.cache.ensureLoaded(Contact);
    // Its dependency (Account) comes first, already fresh.
    expect(results.map((r) => [r.entity, r.mode])).toEqual([
      ['Account', 'cached'],
      ['Contact', 'full'],
    ]);
    const contacts = results[1];
    expect(contacts!.loaded).toBe(CONTACTS);
    expect(contacts!.skipped).toEqual([]);
    // Every request was a delta page: no item-by-item reads.
    expect(h.emulator.log.entries.every((e) => e.path.endsWith('/items/delta'))).toBe(true);

    const row = await h.dataSource.getRepository(Account).findOneByOrFail({ id: accountIds[20]! });
    expect(row).toMatchObject({
      name: "Account 20 O'Brien",
      employees: 20,
      score: 2.5,
      revenue: '250.00',
      active: true,
      tier: Tier.Enterprise,
      tags: ['vip', 'emea'],
      settings: { theme: 'dark', size: 20 },
      address: { street: '20 Main St', city: 'Paris', country: 'FR' },
      deletedAt: null,
    });
    expect(row.signedAt?.toISOString()).toBe(
      new Date(Date.UTC(2023, 0, 1, 12) + 20 * 3_600_000).toISOString(),
    );
    const contact = await h.dataSource
      .getRepository(Contact)
      .findOneOrFail({ where: { id: contactIds[0]! }, relations: { account: true, manager: true } });
    expect(contact.account?.id).toBe(accountIds[0]);
    expect(contact.manager?.id).toBe(contactIds[1]);

    const report = await h.cache.verify();
    expect(report.lists.map((l) => [l.entity, l.postgresCount, l.sharePointCount, l.drift])).toEqual([
      ['Account', ACCOUNTS, ACCOUNTS, false],
      ['Contact', CONTACTS, CONTACTS, false],
    ]);
    expect(report.ok).toBe(true);
  });

  it('loading enqueues nothing for write-back', async () => {
    const [{ n }] = await h.dataSource.query('SELECT count(*)::int AS n FROM sharepoint_sync.outbox');
    expect(n).toBe(0);
  });

  it('after the TTL, changes made in SharePoint arrive through the deltaLink only', async () => {
    const site = h.emulator.site(SITE_REF);
    const accounts = site.list('Accounts')!;
    const target = accounts.items().find((i) => i.fields.TwentyId === accountIds[5])!;
    accounts.updateItem(target.id, { Employees: 4242 });
    // Not referenced by any contact (a referenced one is kept and reported, as the FK demands).
    const gone = accounts.items().find((i) => i.fields.TwentyId === accountIds[7000])!;
    accounts.deleteItem(gone.id);
    const cache = h.newCache({ ttlSeconds: 1 });
    h.emulator.log.reset();
    // Fresh in cache_state for one second: then the next call refreshes by delta.
    const result = await waitFor(
      async () => {
        const [r] = await cache.ensureLoaded(Account);
        return r!.mode === 'delta' ? r : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100, message: 'a delta refresh after the TTL' },
    );
    expect(result.loaded).toBe(1);
    expect(result.deleted).toBe(1);
    const deltaCalls = h.emulator.log.entries.filter((e) => e.path.endsWith('/items/delta'));
    expect(deltaCalls.length).toBeGreaterThan(0);
    expect(deltaCalls.every((e) => e.query.includes('token='))).toBe(true);
    const row = await h.dataSource.getRepository(Account).findOneByOrFail({ id: accountIds[5]! });
    expect(row.employees).toBe(4242);
    expect(await h.dataSource.getRepository(Account).findOneBy({ id: accountIds[7000]! })).toBeNull();
  });

  it('an item created by a person without TwentyId gets one, in PostgreSQL and in SharePoint', async () => {
    // A site owner made TwentyId optional and typed an item by hand.
    const list = h.emulator.site(SITE_REF).list('Accounts')!;
    const column = list.columns().find((c) => c.name === 'TwentyId')!;
    await h.ctx.graph.patch(`/sites/${h.ctx.site.id}/lists/${list.id}/columns/${column.id}`, {
      required: false,
    });
    const item = list.createItem({ Title: 'typed by hand', Name: 'Hand Made', Active: true, Tier: 'pro' });
    const [result] = await h.cache.refresh(Account).then((r) => [r]);
    expect(result!.assignedTwentyIds).toBe(1);
    const assigned = list.item(item.id)!.fields.TwentyId as string;
    expect(assigned).toMatch(/^[0-9a-f-]{36}$/);
    const row = await h.dataSource.getRepository(Account).findOneByOrFail({ id: assigned });
    expect(row.name).toBe('Hand Made');
  });

  it('reports items whose values do not fit, and loads the rest', async () => {
    const list = h.emulator.site(SITE_REF).list('Accounts')!;
    list.createItem({
      TwentyId: randomUUID(),
      Name: 'bad tags',
      Tags: 'not json',
      Active: false,
      Tier: 'free',
    });
    list.createItem({ TwentyId: 'not-a-uuid', Name: 'bad id', Active: false, Tier: 'free' });
    const good = list.createItem({ TwentyId: randomUUID(), Name: 'good', Active: false, Tier: 'free' });
    const result = await h.cache.refresh(Account);
    expect(result.skipped.map((s) => s.reason).join('\n')).toMatch(/Tags.*JSON/);
    expect(result.skipped.map((s) => s.reason).join('\n')).toMatch(/TwentyId.*UUID/);
    expect(result.skipped).toHaveLength(2);
    expect(
      await h.dataSource.getRepository(Account).findOneBy({ id: good.fields.TwentyId as string }),
    ).not.toBeNull();
  });

  it('rebuild refuses while changes are unsent, then drops everything and reloads identical content', async () => {
    // Remove the two unfit items so both sides can agree.
    const list = h.emulator.site(SITE_REF).list('Accounts')!;
    for (const item of list.items())
      if (item.fields.Name === 'bad tags' || item.fields.Name === 'bad id') list.deleteItem(item.id);
    await h.cache.refresh(Account);
    await h.dataSource.getRepository(Account).update({ id: accountIds[1]! }, { employees: 77_777 });
    await expect(h.cache.rebuild()).rejects.toBeInstanceOf(RebuildRefusedError);
    // force discards the unsent change: SharePoint's value comes back.
    await h.cache.rebuild({ force: true });
    const reloaded = await h.dataSource.getRepository(Account).findOneByOrFail({ id: accountIds[1]! });
    expect(reloaded.employees).toBe(1);
    const before = await contentHash();
    await h.dataSource.query('TRUNCATE contact, account');
    const results = await h.cache.rebuild();
    expect(results.map((r) => r.mode)).toEqual(['full', 'full']);
    const after = await contentHash();
    expect(after).toBe(before);
    expect((await h.cache.verify()).ok).toBe(true);
  });

  it('after the whole database schema is dropped, rebuild restores everything', async () => {
    const before = await contentHash();
    await h.dataSource.query('DROP SCHEMA sharepoint_sync CASCADE');
    await h.dataSource.query('TRUNCATE contact, account');
    const results = await h.newCache().rebuild();
    await h.writeback.install();
    expect(results.reduce((n, r) => n + r.loaded, 0)).toBe(
      (
        await h.dataSource.query(
          'SELECT (SELECT count(*) FROM account) + (SELECT count(*) FROM contact) AS n',
        )
      )[0].n * 1,
    );
    expect(await contentHash()).toBe(before);
  });
});
