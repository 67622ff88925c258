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
  SharePointList,
  SharePointSync,
  WritebackFlushError,
} from '../../src/index.js';
import { createEmulator, type Emulator } from '../../src/testing/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { launchBrowser, screenshot } from './browser.js';

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
  return { bad, dead };
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
  server = http.createServer((req, res) => {
    if (req.url?.startsWith(BASE)) handler(req, res);
    else res.writeHead(404).end();
  });
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
      // The last hour's charts have points, and the resource units spent show up.
      await expect
        .poll(() => page.locator('svg polyline').count(), { timeout: 20_000 })
        .toBeGreaterThanOrEqual(2);
      await screenshot(page, 'overview-drained');
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
    const action = logged.find((l) => l.message.includes('resolved a conflict'));
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

  it('is usable by keyboard: a skip link, labelled controls, focusable actions', async () => {
    const { context, page } = await signIn();
    try {
      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
      await page.keyboard.press('Enter');
      expect(await page.evaluate(() => location.hash)).toBe('#main');
      await page.goto(`${origin}${BASE}/dead-letters`);
      const unlabelled = await page.evaluate(
        () =>
          Array.from(document.querySelectorAll('input:not([type=hidden]), select, button')).filter((el) => {
            const e = el as HTMLInputElement;
            const label =
              e.labels?.length ||
              e.getAttribute('aria-label') ||
              (el.tagName === 'BUTTON' && el.textContent?.trim());
            return !label;
          }).length,
      );
      expect(unlabelled).toBe(0);
    } finally {
      await context.close();
    }
  });
});
