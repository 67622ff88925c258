import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { Column, DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  type ConsoleHandler,
  createConsole,
  type Logger,
  type OverviewFigures,
  SharePointList,
  SharePointSync,
  WritebackFlushError,
} from '../../src/index.js';
import { createEmulator, type Emulator } from '../../src/testing/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { launchBrowser, screenshot, unlabelledControls } from './browser.js';

@SharePointList({ title: 'Console Companies', priority: 'P1', conflictResolution: 'manualReview' })
@Entity('con_company')
class ConCompany {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 80 }) name!: string;
  @Column({ type: 'integer', nullable: true }) size?: number | null;
}

@SharePointList({ title: 'Console Deals', priority: 'P2' })
@Entity('con_deal')
class ConDeal {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 80 }) title!: string;
}

const SITE = 'contoso.sharepoint.com:/sites/console';
const TOKEN = 'console-test-token-0123456789';
const READ_ONLY = 'console-read-only-token-98765';
const BASE = '/ops/console';

let db: TestDatabase;
let emulator: Emulator;
let dataSource: DataSource;
let sync: SharePointSync;
let handler: ConsoleHandler;
let server: http.Server;
let origin: string;
let browser: Browser;
const logged: { message: string; fields: Record<string, unknown> | undefined }[] = [];

const logger: Logger = {
  debug() {},
  info: (message, fields) => void logged.push({ message, fields }),
  warn: (message, fields) => void logged.push({ message, fields }),
  error: (message, fields) => void logged.push({ message, fields }),
};

const itemOf = (title: string, id: string) =>
  emulator
    .site(SITE)
    .list(title)!
    .items()
    .find((i) => i.fields.TwentyId === id);

/** A signed-in browser context (the login form, as a person would). */
async function signIn(token = TOKEN): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const first = await page.goto(`${origin}${BASE}/`);
  expect(first?.status()).toBe(401);
  await page.getByLabel('Access token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
  return { context, page };
}

/** A company whose create SharePoint refuses (500) until the flush dead-letters it: the row and its dead letter. */
async function deadLettered(name: string, size: number) {
  const refused = emulator.faults.inject({ method: 'POST', path: /\/items$/, scope: 'inner', status: 500 });
  const bad = await dataSource.getRepository(ConCompany).save({ name, size });
  await expect(sync.flush({ timeoutMs: 60_000 })).rejects.toBeInstanceOf(WritebackFlushError);
  refused.remove();
  const [dead] = await sync.deadLetters({ twentyId: bad.id });
  return { bad, dead: dead! };
}

/** The same for a deal (the other list). */
async function deadLetteredDeal(title: string) {
  const refused = emulator.faults.inject({ method: 'POST', path: /\/items$/, scope: 'inner', status: 500 });
  const bad = await dataSource.getRepository(ConDeal).save({ title });
  await expect(sync.flush({ timeoutMs: 60_000 })).rejects.toBeInstanceOf(WritebackFlushError);
  refused.remove();
  const [dead] = await sync.deadLetters({ twentyId: bad.id });
  return { bad, dead: dead! };
}

/**
 * A company changed on both sides at once: locally (unsent) and by a person in SharePoint; the pull finds the
 * conflict and, the list being `manualReview`, leaves it open for a person.
 */
async function conflicted(local: { name: string; size: number }, remote: { Name: string; Size: number }) {
  const companies = dataSource.getRepository(ConCompany);
  const record = await companies.save({ name: 'Original', size: 10 });
  await sync.flush({ timeoutMs: 60_000 });
  const item = itemOf('Console Companies', record.id)!;
  await companies.update(record.id, local);
  emulator.site(SITE).list('Console Companies')!.updateItem(item.id, remote);
  await sync.pull(ConCompany);
  const [conflict] = (await sync.conflicts.list({ open: true })).filter((c) => c.twentyId === record.id);
  expect(conflict).toBeDefined();
  return { record, conflict: conflict! };
}

/** `GET /api/overview`, as a script would call it. */
async function overview(): Promise<OverviewFigures> {
  const response = await fetch(`${origin}${BASE}/api/overview`, {
    headers: { Authorization: `Bearer ${TOKEN}` },
  });
  expect(response.status).toBe(200);
  return (await response.json()) as OverviewFigures;
}

const listOf = (o: OverviewFigures, entity: string) => o.lists.find((l) => l.entity === entity)!;

/** Presses Tab (nothing else) until the focused element matches `selector`; fails after `limit` presses. */
async function tabTo(page: Page, selector: string, limit = 80): Promise<void> {
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
  }
  throw new Error(`Tab never reached ${selector}`);
}

beforeAll(async () => {
  db = await createTestDatabase();
  emulator = createEmulator({ sites: [SITE], seed: 20 });
  const { url } = await emulator.listen();
  dataSource = new DataSource({
    type: 'postgres',
    url: db.url,
    entities: [ConCompany, ConDeal],
    synchronize: true,
  });
  await dataSource.initialize();
  sync = await SharePointSync.attach(dataSource, {
    site: { hostname: 'contoso.sharepoint.com', path: '/sites/console' },
    graph: { baseUrl: `${url}/v1.0`, budget: { resourceUnitsPerMinute: 1_000_000 } },
    writeback: { runWorker: false, batchSize: 4, concurrency: 1, retryAttempts: 1, retryDelayMs: 5 },
    inbound: { pollIntervalSeconds: 0 },
  });
  await sync.loadAll();
  handler = createConsole({
    sync,
    token: TOKEN,
    readOnlyToken: READ_ONLY,
    basePath: BASE,
    logger,
    sampleIntervalMs: 200,
    refreshIntervalMs: 250,
  });
  // Plain node http, as docs/console.md shows it: every request reaches the console, which answers only under BASE.
  server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  handler?.close();
  server?.close();
  await sync?.close();
  await dataSource?.destroy();
  await emulator?.close();
  await db?.drop();
});

describe('operator console in a real browser', () => {
  it('nothing is served without authentication: 401 for pages, assets and the API, in both handler forms', async () => {
    for (const path of ['/', '/dead-letters', '/conflicts', '/assets/console.js', '/api/overview']) {
      const response = await fetch(`${origin}${BASE}${path}`);
      expect(response.status, path).toBe(401);
      const text = await response.text();
      expect(text).not.toContain('Console Companies');
      expect(text).not.toContain(TOKEN);
    }
    const wrong = await fetch(`${origin}${BASE}/`, {
      headers: { Authorization: 'Bearer not-the-token-at-all' },
    });
    expect(wrong.status).toBe(401);
    // The fetch-style handler answers the same.
    const viaFetch = await handler.fetch(new Request(`http://app.example${BASE}/api/overview`));
    expect(viaFetch.status).toBe(401);
    const withToken = await handler.fetch(
      new Request(`http://app.example${BASE}/api/overview`, {
        headers: { Authorization: `Bearer ${TOKEN}` },
      }),
    );
    expect(withToken.status).toBe(200);
    expect(
      ((await withToken.json()) as { lists: { entity: string }[] }).lists.map((l) => l.entity).sort(),
    ).toEqual(['ConCompany', 'ConDeal']);
  });

  it('the overview shows pending changes and its numbers move while the worker drains', async () => {
    const deals = dataSource.getRepository(ConDeal);
    const saved = await deals.save(Array.from({ length: 12 }, (_, i) => ({ title: `Deal ${i}` })));
    const { context, page } = await signIn();
    try {
      const pending = page.locator('tr[data-entity="ConDeal"] [data-figure="pending"]');
      await expect.poll(() => pending.textContent(), { timeout: 20_000 }).toBe('12');
      // Before the drain: the oldest change has an age (the lag), and SharePoint holds none of the deals yet.
      const before = await overview();
      expect(before.lagSeconds).toBeGreaterThan(0);
      expect(listOf(before, 'ConDeal')).toMatchObject({ pending: 12, itemCount: 0 });
      expect(listOf(before, 'ConDeal').oldestSeconds).toBeGreaterThan(0);
      await screenshot(page, 'overview');
      // Slow SharePoint down so that the drain takes several refreshes: batches of 4, one at a time.
      const slow = emulator.faults.inject({ method: 'POST', path: /\$batch$/, latencyMs: 700 });
      await page.evaluate(() => {
        const w = window as unknown as { seen: string[]; marker: boolean };
        w.seen = [];
        w.marker = true;
        const cell = () => document.querySelector('tr[data-entity="ConDeal"] [data-figure="pending"]');
        new MutationObserver(() => {
          const text = cell()?.textContent ?? '';
          if (w.seen.at(-1) !== text) w.seen.push(text);
        }).observe(document.getElementById('live')!, { childList: true, subtree: true, characterData: true });
      });
      const drained = sync.flush({ timeoutMs: 120_000 });
      await drained.finally(() => slow.remove());
      await expect.poll(() => pending.textContent(), { timeout: 20_000 }).toBe('0');
      const seen = await page.evaluate(() => (window as unknown as { seen: string[] }).seen);
      const numbers = seen.map(Number);
      // Seen live (no reload: the marker survives), in between the start and the end.
      expect(await page.evaluate(() => (window as unknown as { marker?: boolean }).marker)).toBe(true);
      expect(
        numbers.some((n) => n > 0 && n < 12),
        `values seen: ${seen.join(', ')}`,
      ).toBe(true);
      expect(numbers.at(-1)).toBe(0);
      for (let i = 1; i < numbers.length; i++) expect(numbers[i]!).toBeLessThanOrEqual(numbers[i - 1]!);
      for (const deal of saved) expect(itemOf('Console Deals', deal.id)?.fields.Title).toBe(deal.title);

      // After the drain (the worker runs only inside flush here: nothing moves these figures meanwhile): sent
      // in the last minute, the items SharePoint holds now (the load counted 0), the budget spent.
      const after = await overview();
      expect(after.sentPerMinute).toBeGreaterThan(0);
      expect(listOf(after, 'ConDeal').sentPerMinute).toBeGreaterThan(0);
      expect(listOf(after, 'ConDeal').itemCount).toBe(12);
      expect(after.budget).toMatchObject({ resourceUnitsPerMinute: 1_000_000 });
      expect(after.budget!.usedToday).toBeGreaterThan(0);
      expect(after.budget!.resourceUnitsPerDay).toBeGreaterThan(0);
      const dealRow = page.locator('tr[data-entity="ConDeal"]');
      await expect.poll(() => dealRow.locator('[data-figure="items"]').textContent()).toBe('12');
      // The budget against its limits, labelled (not a dump of keys).
      const perMinute = page.locator('.card', { has: page.locator('[data-figure="budget-minute"]') });
      expect(await perMinute.locator('.label').textContent()).toBe('RU used this minute / per-minute limit');
      expect(await perMinute.locator('.value').textContent()).toMatch(/^\d[\d,]* \/ 1,000,000$/);
      const today = page.locator('.card', { has: page.locator('[data-figure="budget-today"]') });
      expect(await today.locator('.label').textContent()).toBe('RU used today (24 h) / daily limit');
      const [used, limit] = (await today.locator('.value').textContent())!.split(' / ');
      expect(Number(used!.replaceAll(',', ''))).toBeGreaterThan(0);
      expect(Number(limit!.replaceAll(',', ''))).toBe(after.budget!.resourceUnitsPerDay);
      expect(await page.locator('#live').textContent()).not.toMatch(/usedThisMinute|resourceUnitsPerDay/);

      // The last hour's charts: the RU/min chart has its line, and the x axis spans the history collected
      // (the first sample at the left edge, not a vertical line at the right one); counts are whole numbers.
      const ruChart = page.locator('figure[data-chart="ru-per-minute"]');
      await expect.poll(() => ruChart.locator('svg polyline').count(), { timeout: 20_000 }).toBe(1);
      const pendingChart = page.locator('figure[data-chart="pending"]');
      await expect.poll(() => pendingChart.locator('svg polyline').count(), { timeout: 20_000 }).toBe(1);
      const xs = (await pendingChart.locator('svg polyline').getAttribute('points'))!
        .split(' ')
        .map((point) => Number(point.split(',')[0]));
      expect(xs[0]).toBe(0);
      expect(xs.at(-1)).toBeGreaterThan(290);
      expect(await pendingChart.locator('figcaption').textContent()).toMatch(
        /^Pending: \d+ changes \(since \d\d:\d\d UTC, max \d+ changes\)$/,
      );
      expect(await ruChart.locator('figcaption').textContent()).toMatch(/^RU per minute: \d[\d,]* RU\/min /);
      await screenshot(page, 'overview-drained');

      // A 429 from SharePoint: the request waits and is sent again, and the Throttled figure counts it.
      const throttle = emulator.faults.inject({
        method: 'POST',
        path: /\$batch$/,
        status: 429,
        retryAfterSeconds: 1,
        count: 1,
      });
      const late = await deals.save({ title: 'After a 429' });
      await sync.flush({ timeoutMs: 60_000 });
      throttle.remove();
      expect(throttle.hits).toBe(1);
      expect(itemOf('Console Deals', late.id)?.fields.Title).toBe('After a 429');
      expect((await overview()).totals.throttled).toBeGreaterThanOrEqual(1);
      await expect
        .poll(async () => Number(await page.locator('[data-figure="throttled"]').textContent()), {
          timeout: 20_000,
        })
        .toBeGreaterThanOrEqual(1);
    } finally {
      await context.close();
    }
  });

  it('the overview tells the last full load from the last pull, and counts the items SharePoint holds now', async () => {
    const before = listOf(await overview(), 'ConDeal');
    // Loaded once (beforeAll), never pulled.
    expect(before.lastLoadAt).toBeDefined();
    expect(before.lastPullAt).toBeUndefined();
    // A person adds a deal in SharePoint; a pull (delta) brings it in.
    emulator.site(SITE).list('Console Deals')!.createItem({ Title: 'Made in SharePoint' });
    await sync.pull(ConDeal);
    const after = listOf(await overview(), 'ConDeal');
    expect(after.lastLoadAt).toBe(before.lastLoadAt);
    expect(Date.parse(after.lastPullAt!)).toBeGreaterThan(Date.parse(after.lastLoadAt!));
    expect(after.refreshedAt).toBe(after.lastPullAt);
    expect(after.itemCount).toBe(before.itemCount + 1);
    const { context, page } = await signIn();
    try {
      const row = page.locator('tr[data-entity="ConDeal"]');
      expect(await row.locator('[data-figure="last-load"]').textContent()).toMatch(/ ago$/);
      expect(await row.locator('[data-figure="last-pull"]').textContent()).toMatch(/ ago$/);
      expect(await row.locator('[data-figure="items"]').textContent()).toBe(String(after.itemCount));
      expect(await page.locator('table.lists thead').textContent()).toContain('Last pull');
    } finally {
      await context.close();
    }
  });

  it('a dead letter is retried from the page and leaves the list', async () => {
    const { bad, dead } = await deadLettered('Refused once', 1);
    expect(dead).toBeDefined();
    const { context, page } = await signIn();
    try {
      await page.getByRole('link', { name: 'Dead letters' }).click();
      const row = page.locator(`tr[data-dead-letter="${dead!.id}"]`);
      await expect.poll(() => row.count()).toBe(1);
      expect(await row.textContent()).toContain(bad.id);
      // Filter by list and by error text (keyboard: labelled controls).
      await page.getByLabel('List').selectOption('ConCompany');
      await page.getByLabel('Error contains').fill('no such error text');
      await page.getByLabel('Error contains').press('Enter');
      await page.getByText('No dead letters match the filter.').waitFor();
      await page.getByLabel('Error contains').fill('');
      await page.getByRole('button', { name: 'Filter' }).click();
      await expect.poll(() => row.count()).toBe(1);
      await screenshot(page, 'dead-letters');
      await page.getByRole('button', { name: `Retry ConCompany ${bad.id}` }).click();
      await page.getByRole('status').filter({ hasText: 'Re-queued 1 record(s)' }).waitFor();
      expect(await page.locator(`tr[data-dead-letter="${dead!.id}"]`).count()).toBe(0);
      expect(await sync.deadLetters({ twentyId: bad.id })).toEqual([]);
      await sync.flush({ timeoutMs: 60_000 });
      expect(itemOf('Console Companies', bad.id)?.fields.Name).toBe('Refused once');
      const action = logged.find((l) => l.message.includes('retried dead letters'));
      expect(action?.fields).toMatchObject({
        who: 'token',
        role: 'read-write',
        ids: [dead!.id],
        count: 1,
      });
    } finally {
      await context.close();
    }
  });

  it('a dead letter is discarded only after confirmation', async () => {
    const { bad, dead } = await deadLettered('Given up', 5);
    const { context, page } = await signIn();
    try {
      await page.goto(`${origin}${BASE}/dead-letters`);
      await page.getByRole('button', { name: `Discard ConCompany ${bad.id}` }).click();
      await page.getByRole('heading', { name: 'Discard dead letters?' }).waitFor();
      // Nothing happened yet: the confirmation page only asks.
      expect(await sync.deadLetters({ twentyId: bad.id })).toHaveLength(1);
      await page.getByRole('button', { name: 'Discard 1' }).click();
      await page.getByRole('status').filter({ hasText: 'Discarded 1 dead letter(s)' }).waitFor();
      expect(await sync.deadLetters({ twentyId: bad.id })).toEqual([]);
      expect(itemOf('Console Companies', bad.id)).toBeUndefined();
      expect(dead).toBeDefined();
    } finally {
      await context.close();
    }
  });

  it('retry all and discard all act on the chosen list only; the list filter leaves the other list out', async () => {
    const company = await deadLettered('Company letter', 3);
    const deal = await deadLetteredDeal('Deal letter');
    const row = (page: Page, id: number) => page.locator(`tr[data-dead-letter="${id}"]`);
    const { context, page } = await signIn();
    try {
      await page.goto(`${origin}${BASE}/dead-letters`);
      expect(await row(page, company.dead.id).count()).toBe(1);
      expect(await row(page, deal.dead.id).count()).toBe(1);
      // The list filter shows the deals' dead letters and leaves the companies' out, bulk buttons included.
      await page.getByLabel('List').selectOption('ConDeal');
      await page.getByRole('button', { name: 'Filter' }).click();
      await expect.poll(() => row(page, company.dead.id).count()).toBe(0);
      expect(await row(page, deal.dead.id).count()).toBe(1);
      expect(await page.getByRole('button', { name: /of ConCompany/ }).count()).toBe(0);
      await page.getByRole('button', { name: /^Retry all \d+ of ConDeal$/ }).click();
      await page
        .getByRole('status')
        .filter({ hasText: /Re-queued \d+ record\(s\)/ })
        .waitFor();
      // Every dead letter of the deals left; the company's stayed.
      expect(await sync.deadLetters({ entity: 'ConDeal' })).toEqual([]);
      expect((await sync.deadLetters({ entity: 'ConCompany' })).map((l) => l.id)).toContain(company.dead.id);
      await sync.flush({ timeoutMs: 60_000 });
      expect(itemOf('Console Deals', deal.bad.id)?.fields.Title).toBe('Deal letter');

      // Discard all of the companies, with a deal dead-lettered too: asked first, then only the companies go.
      const deal2 = await deadLetteredDeal('Deal letter 2');
      await page.goto(`${origin}${BASE}/dead-letters`);
      await page.getByRole('button', { name: /^Discard all \d+ of ConCompany…$/ }).click();
      await page.getByRole('heading', { name: 'Discard dead letters?' }).waitFor();
      const asked = (await page.locator('main').textContent())!;
      expect(asked).toContain(company.bad.id);
      expect(asked).not.toContain(deal2.bad.id);
      // Nothing happened yet: the confirmation page only asks.
      expect(await sync.deadLetters({ twentyId: company.bad.id })).toHaveLength(1);
      await page.getByRole('button', { name: /^Discard \d+$/ }).click();
      await page
        .getByRole('status')
        .filter({ hasText: /Discarded \d+ dead letter\(s\)/ })
        .waitFor();
      expect(await sync.deadLetters({ entity: 'ConCompany' })).toEqual([]);
      expect((await sync.deadLetters({ entity: 'ConDeal' })).map((l) => l.id)).toEqual([deal2.dead.id]);
      expect(await row(page, deal2.dead.id).count()).toBe(1);
      // Never sent: the company exists only in PostgreSQL.
      expect(itemOf('Console Companies', company.bad.id)).toBeUndefined();
      expect(logged.findLast((l) => l.message.includes('discarded dead letters'))?.fields).toMatchObject({
        who: 'token',
        entity: 'ConCompany',
      });
      // The deal left behind is sent after all.
      await sync.retryDeadLetters({ ids: [deal2.dead.id] });
      await sync.flush({ timeoutMs: 60_000 });
      expect(itemOf('Console Deals', deal2.bad.id)?.fields.Title).toBe('Deal letter 2');
    } finally {
      await context.close();
    }
  });

  it('a conflict is settled with the local version: PostgreSQL keeps it and SharePoint gets it', async () => {
    const { record, conflict } = await conflicted({ name: 'Mine', size: 21 }, { Name: 'Theirs', Size: 22 });
    const { context, page } = await signIn();
    try {
      await page.goto(`${origin}${BASE}/conflicts`);
      const section = page.locator(`section[data-conflict="${conflict.id}"]`);
      await section.waitFor();
      await section.getByRole('button', { name: 'Keep the local version' }).click();
      await page
        .getByRole('status')
        .filter({ hasText: `Conflict #${conflict.id} resolved.` })
        .waitFor();
      expect(await page.locator(`section[data-conflict="${conflict.id}"]`).count()).toBe(0);
      expect(await page.locator(`tr[data-resolved="${conflict.id}"]`).textContent()).toContain('twenty');
    } finally {
      await context.close();
    }
    const companies = dataSource.getRepository(ConCompany);
    expect(await companies.findOneByOrFail({ id: record.id })).toMatchObject({ name: 'Mine', size: 21 });
    await sync.flush({ timeoutMs: 60_000 });
    expect(itemOf('Console Companies', record.id)?.fields).toMatchObject({ Name: 'Mine', Size: 21 });
    expect(logged.findLast((l) => l.message.includes('resolved a conflict'))?.fields).toMatchObject({
      id: conflict.id,
      choice: 'local',
    });
  });

  it('a conflict is resolved by a per-field merge: PostgreSQL and SharePoint hold the merge', async () => {
    const companies = dataSource.getRepository(ConCompany);
    const record = await companies.save({ name: 'Original', size: 10 });
    await sync.flush({ timeoutMs: 60_000 });
    const item = itemOf('Console Companies', record.id)!;
    // Both sides change the record: locally (unsent), and a person in SharePoint.
    await companies.update(record.id, { name: 'Local name', size: 11 });
    emulator.site(SITE).list('Console Companies')!.updateItem(item.id, { Name: 'SharePoint name', Size: 12 });
    await sync.pull(ConCompany);
    const [conflict] = (await sync.conflicts.list({ open: true })).filter((c) => c.twentyId === record.id);
    expect(conflict).toBeDefined();

    const { context, page } = await signIn();
    try {
      await page.getByRole('link', { name: 'Conflicts' }).click();
      const section = page.locator(`section[data-conflict="${conflict!.id}"]`);
      await section.waitFor();
      // Side by side, the differences marked.
      const nameRow = section.locator('tr[data-field="Name"]');
      expect(await nameRow.getAttribute('class')).toBe('diff');
      expect(await nameRow.textContent()).toContain('Local name');
      expect(await nameRow.textContent()).toContain('SharePoint name');
      expect(await section.locator('tr[data-field="TwentyId"]').getAttribute('class')).toBeNull();
      await screenshot(page, 'conflicts');
      // Name from the local version, Size from SharePoint's.
      await section.getByRole('group', { name: 'Keep for Name' }).getByLabel('local').check();
      await section.getByRole('group', { name: 'Keep for Size' }).getByLabel('SharePoint').check();
      await section.getByRole('button', { name: 'Merge the chosen fields' }).click();
      await page
        .getByRole('status')
        .filter({ hasText: `Conflict #${conflict!.id} resolved.` })
        .waitFor();
      expect(await page.locator(`section[data-conflict="${conflict!.id}"]`).count()).toBe(0);
      const history = page.locator(`tr[data-resolved="${conflict!.id}"]`);
      expect(await history.textContent()).toContain('merged');
      await screenshot(page, 'conflicts-resolved');
    } finally {
      await context.close();
    }
    const row = await companies.findOneByOrFail({ id: record.id });
    expect(row).toMatchObject({ name: 'Local name', size: 12 });
    await sync.flush({ timeoutMs: 60_000 });
    expect(itemOf('Console Companies', record.id)?.fields).toMatchObject({ Name: 'Local name', Size: 12 });
    const action = logged.findLast((l) => l.message.includes('resolved a conflict'));
    expect(action?.fields).toMatchObject({
      who: 'token',
      id: conflict!.id,
      choice: 'merge',
      fields: { Name: 'local', Size: 'sharepoint' },
    });
  });

  it('a choice made on a page older than SharePoint’s newest version is refused (409); choosing again settles it', async () => {
    const companies = dataSource.getRepository(ConCompany);
    const record = await companies.save({ name: 'Before', size: 1 });
    await sync.flush({ timeoutMs: 60_000 });
    const list = emulator.site(SITE).list('Console Companies')!;
    const itemId = itemOf('Console Companies', record.id)!.id;
    await companies.update(record.id, { size: 2 });
    list.updateItem(itemId, { Size: 3 });
    await sync.pull(ConCompany);
    const [conflict] = (await sync.conflicts.list({ open: true })).filter((c) => c.twentyId === record.id);
    const { context, page } = await signIn();
    try {
      await page.goto(`${origin}${BASE}/conflicts`);
      const section = page.locator(`section[data-conflict="${conflict!.id}"]`);
      await section.waitFor();
      // Meanwhile a person changes the item again; the next pull keeps the newest version beside the conflict.
      list.updateItem(itemId, { Size: 4 });
      await sync.pull(ConCompany);
      await section.getByRole('button', { name: "Keep SharePoint's version" }).click();
      await page.getByRole('heading', { name: 'Changed meanwhile' }).waitFor();
      expect((await sync.conflicts.list({ open: true })).some((c) => c.id === conflict!.id)).toBe(true);
      await page.goto(`${origin}${BASE}/conflicts`);
      expect(await section.locator('tr[data-field="Size"]').textContent()).toContain('4');
      await section.getByRole('button', { name: "Keep SharePoint's version" }).click();
      await page
        .getByRole('status')
        .filter({ hasText: `Conflict #${conflict!.id} resolved.` })
        .waitFor();
    } finally {
      await context.close();
    }
    expect(await companies.findOneByOrFail({ id: record.id })).toMatchObject({ name: 'Before', size: 4 });
  });

  it('an action without the CSRF token (or with another session’s) is refused, and so is a read-only one', async () => {
    const { bad, dead } = await deadLettered('Stays dead', 2);
    const mine = await signIn();
    const theirs = await signIn();
    const readOnly = await signIn(READ_ONLY);
    try {
      const post = (page: Page, form: Record<string, string>) =>
        page.evaluate(
          async ({ url, form }) => {
            const response = await fetch(url, {
              method: 'POST',
              body: new URLSearchParams(form),
              credentials: 'same-origin',
              redirect: 'manual',
            });
            // A followed form post answers 303 (opaque to a manual-redirect fetch); refusals answer 403.
            return response.type === 'opaqueredirect' ? 303 : response.status;
          },
          { url: `${origin}${BASE}/dead-letters/retry`, form },
        );
      const csrfOf = async (page: Page) =>
        page.evaluate(
          async (url) => ((await (await fetch(url)).json()) as { csrf: string }).csrf,
          `${origin}${BASE}/api/session`,
        );
      expect(await post(mine.page, { id: String(dead!.id) })).toBe(403);
      expect(await post(mine.page, { id: String(dead!.id), _csrf: await csrfOf(theirs.page) })).toBe(403);
      expect(await post(readOnly.page, { id: String(dead!.id), _csrf: await csrfOf(readOnly.page) })).toBe(
        403,
      );
      expect(await sync.deadLetters({ twentyId: bad.id })).toHaveLength(1);
      // The read-only role sees the page but no action buttons.
      await readOnly.page.goto(`${origin}${BASE}/dead-letters`);
      expect(await readOnly.page.locator(`tr[data-dead-letter="${dead!.id}"]`).count()).toBe(1);
      expect(await readOnly.page.getByRole('button', { name: /Retry|Discard/ }).count()).toBe(0);
      // With its own token the same request goes through (the refusals were about the token, not the form).
      expect(await post(mine.page, { id: String(dead!.id), _csrf: await csrfOf(mine.page) })).toBe(303);
      expect(await sync.deadLetters({ twentyId: bad.id })).toEqual([]);
      expect(logged.some((l) => l.message.includes('CSRF token missing or wrong'))).toBe(true);
      // No secret on any page.
      for (const path of ['/', '/dead-letters', '/conflicts']) {
        await mine.page.goto(`${origin}${BASE}${path}`);
        const content = await mine.page.content();
        expect(content).not.toContain(TOKEN);
        expect(content).not.toContain(READ_ONLY);
      }
    } finally {
      await Promise.all([mine.context.close(), theirs.context.close(), readOnly.context.close()]);
    }
    await sync.flush({ timeoutMs: 60_000 });
  });

  it("an application's authorize hook names the principal and its role; actions still need its CSRF token", async () => {
    const seen: string[] = [];
    const app = createConsole({
      sync,
      basePath: '/admin/sync',
      authorize: (request) => {
        seen.push(request.url);
        const user = request.headers['x-user'];
        if (user === 'ana') return { name: 'ana@example.com', role: 'read-write' };
        if (user === 'bo') return { name: 'bo@example.com', role: 'read-only' };
        return undefined;
      },
      logger,
    });
    try {
      const at = (path: string, init: RequestInit = {}) =>
        app.fetch(new Request(`https://crm.example.com/admin/sync${path}`, init));
      expect((await at('/')).status).toBe(401);
      // No token login is offered when the application signs people in.
      expect(await (await at('/')).text()).not.toContain('Access token');
      const page = await at('/conflicts', { headers: { 'x-user': 'bo' } });
      expect(page.status).toBe(200);
      expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(await page.text()).toContain('bo@example.com (read-only)');
      const session = async (user: string) =>
        ((await (await at('/api/session', { headers: { 'x-user': user } })).json()) as { csrf: string }).csrf;
      const retry = (user: string, csrf?: string) =>
        at('/dead-letters/retry', {
          method: 'POST',
          headers: { 'x-user': user, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ entity: 'ConCompany', ...(csrf ? { _csrf: csrf } : {}) }),
          redirect: 'manual',
        });
      expect((await retry('bo', await session('bo'))).status).toBe(403);
      expect((await retry('ana')).status).toBe(403);
      expect((await retry('ana', await session('bo'))).status).toBe(403);
      const done = await retry('ana', await session('ana'));
      expect(done.status).toBe(303);
      expect(done.headers.get('location')).toBe('/admin/sync/dead-letters?done=retried&n=0');
      const action = logged.findLast((l) => l.message.includes('retried dead letters'));
      expect(action?.fields).toMatchObject({
        who: 'ana@example.com',
        via: 'authorize',
        entity: 'ConCompany',
      });
      expect(seen.every((url) => url.startsWith('/admin/sync/'))).toBe(true);
    } finally {
      app.close();
    }
  });

  it('refuses options that would serve without authentication, or a short token (never echoing it)', () => {
    expect(() => createConsole({ sync })).toThrow(ConfigError);
    expect(() => createConsole({ sync, token: 'short-secret' })).toThrow(/at least 16 characters/);
    expect(() => createConsole({ sync, token: 'short-secret' })).not.toThrow(/short-secret/);
    expect(() => createConsole({ token: TOKEN })).toThrow(/exactly one of `sync` and `workspaces`/);
    expect(() => createConsole({ sync, token: TOKEN, basePath: 'no-slash' })).toThrow(/basePath/);
  });

  it('is usable by keyboard: a skip link, labelled controls on every page, a per-field merge without a mouse', async () => {
    const { dead } = await deadLettered('Labelled', 4);
    const { record, conflict } = await conflicted(
      { name: 'Keyboard local', size: 31 },
      { Name: 'Keyboard remote', Size: 32 },
    );
    const { context, page } = await signIn();
    try {
      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
      await page.keyboard.press('Enter');
      expect(await page.evaluate(() => location.hash)).toBe('#main');
      // Every control of every page is labelled: the overview, dead letters (with one to act on), conflicts
      // (with one open: the per-field choices). The Workspaces page: workspaces-console.test.ts.
      expect(await unlabelledControls(page)).toEqual([]);
      await page.goto(`${origin}${BASE}/dead-letters`);
      expect(await page.locator(`tr[data-dead-letter="${dead.id}"] button`).count()).toBe(2);
      expect(await unlabelledControls(page)).toEqual([]);
      await page.goto(`${origin}${BASE}/conflicts`);
      const section = page.locator(`section[data-conflict="${conflict.id}"]`);
      expect(await section.locator('input[type="radio"]').count()).toBeGreaterThanOrEqual(4);
      expect(await unlabelledControls(page)).toEqual([]);

      // The merge by keyboard alone: Tab to the Name choice (SharePoint, checked), an arrow key to the local
      // one (a radio group's own keys), Tab to the merge button, Enter.
      const at = `section[data-conflict="${conflict.id}"]`;
      await tabTo(page, `${at} input[name="pick:Name"]`);
      expect(await page.evaluate(() => (document.activeElement as HTMLInputElement).value)).toBe(
        'sharepoint',
      );
      await page.keyboard.press('ArrowDown');
      expect(
        await section.getByRole('group', { name: 'Keep for Name' }).getByLabel('local').isChecked(),
      ).toBe(true);
      await tabTo(page, `${at} button[value="merge"]`);
      await page.keyboard.press('Enter');
      await page
        .getByRole('status')
        .filter({ hasText: `Conflict #${conflict.id} resolved.` })
        .waitFor();
    } finally {
      await context.close();
    }
    const companies = dataSource.getRepository(ConCompany);
    expect(await companies.findOneByOrFail({ id: record.id })).toMatchObject({
      name: 'Keyboard local',
      size: 32,
    });
    await sync.flush({ timeoutMs: 60_000 });
    expect(itemOf('Console Companies', record.id)?.fields).toMatchObject({
      Name: 'Keyboard local',
      Size: 32,
    });
    await sync.discardDeadLetters({ ids: [dead.id] });
  });

  it('a flash that is not one of its own (`?done=__proto__`) is ignored, not a failure', async () => {
    for (const done of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      const response = await fetch(`${origin}${BASE}/dead-letters?done=${done}&n=1`, {
        headers: { Authorization: `Bearer ${TOKEN}` },
      });
      expect(response.status, done).toBe(200);
      expect(await response.text()).not.toContain('class="flash"');
    }
    const said = await fetch(`${origin}${BASE}/dead-letters?done=retried&n=2`, {
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    expect(await said.text()).toContain('Re-queued 2 record(s) for sending.');
  });

  it('answers only under its base path: 404 outside it, also when mounted the way Express mounts', async () => {
    const bearer = { headers: { Authorization: `Bearer ${TOKEN}` } };
    // Every request reaches this handler (plain node http): outside BASE it is not the console's.
    for (const path of ['/api/overview', '/dead-letters', '/', '/ops/consoleX/api/overview', '/ops']) {
      expect((await fetch(`${origin}${path}`, bearer)).status, path).toBe(404);
    }
    expect((await fetch(`${origin}${BASE}/api/overview`, bearer)).status).toBe(200);
    expect((await fetch(`${origin}${BASE}`, bearer)).status).toBe(200);
    const viaFetch = await handler.fetch(new Request('http://app.example/api/overview', bearer));
    expect(viaFetch.status).toBe(404);
    // Express's app.use(BASE, handler) cuts BASE off req.url and keeps the whole path in req.originalUrl.
    const mounted = http.createServer((req, res) => {
      const whole = req.url ?? '/';
      if (whole !== BASE && !whole.startsWith(`${BASE}/`) && !whole.startsWith(`${BASE}?`)) {
        res.writeHead(404).end('not the console');
        return;
      }
      const rest = whole.slice(BASE.length);
      Object.assign(req, { originalUrl: whole, url: rest.startsWith('/') ? rest : `/${rest}` });
      handler(req, res);
    });
    await new Promise<void>((resolve) => mounted.listen(0, '127.0.0.1', resolve));
    try {
      const app = `http://127.0.0.1:${(mounted.address() as AddressInfo).port}`;
      const figures = await fetch(`${app}${BASE}/api/overview`, bearer);
      expect(figures.status).toBe(200);
      expect(((await figures.json()) as OverviewFigures).lists.map((l) => l.entity).sort()).toEqual([
        'ConCompany',
        'ConDeal',
      ]);
      const page = await fetch(`${app}${BASE}/dead-letters?done=retried&n=3`, bearer);
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain('Re-queued 3 record(s) for sending.');
      expect(html).toContain(`href="${BASE}/conflicts"`);
      expect((await fetch(`${app}${BASE}`, bearer)).status).toBe(200);
    } finally {
      await new Promise<void>((resolve) => mounted.close(() => resolve()));
    }
  });
});
