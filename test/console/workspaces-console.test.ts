import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleHandler, createConsole, defaultWorkspaceSchema } from '../../src/index.js';
import { Company, createWorkspacesHarness, type WorkspacesHarness } from '../workspaces/harness.js';
import { launchBrowser, screenshot, unlabelledControls } from './browser.js';

const TOKEN = 'workspaces-console-token-0123';
let h: WorkspacesHarness;
let handler: ConsoleHandler;
let server: http.Server;
let origin: string;
let browser: Browser;

beforeAll(async () => {
  h = await createWorkspacesHarness({
    acme: 'contoso.sharepoint.com:/sites/acme',
    globex: 'contoso.sharepoint.com:/sites/globex',
  });
  const acme = await h.workspaces.workspace('acme');
  await acme.dataSource.getRepository(Company).save({ name: 'Acme Corp' });
  // Another process (no worker) attached globex, left one change unsent in its schema, and closed it.
  const other = h.create({ worker: { enabled: false } });
  const globex = await other.workspace('globex');
  await globex.dataSource.getRepository(Company).save({ name: 'Globex pending' });
  await other.close({ flush: false });
  handler = createConsole({
    workspaces: h.workspaces,
    // initech: known to the application, never attached anywhere (its schema does not exist).
    workspaceIds: () => ['acme', 'globex', 'initech'],
    storedFigures: { dataSource: h.admin, schemaOf: defaultWorkspaceSchema },
    token: TOKEN,
    sampleIntervalMs: 200,
  });
  server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  handler?.close();
  server?.close();
  await h?.close();
});

describe('operator console over many workspaces', () => {
  it('lists every workspace, attached or not, and opens the overview of an attached one', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 700 } });
    try {
      const page = await context.newPage();
      expect((await page.goto(`${origin}/`))?.status()).toBe(401);
      await page.getByLabel('Access token').fill(TOKEN);
      await page.getByRole('button', { name: 'Sign in' }).click();
      // Without a workspace named, the console starts at the list of workspaces.
      await page.getByRole('heading', { name: 'Workspaces', level: 1 }).waitFor();
      const acme = page.locator('tr[data-workspace="acme"]');
      const globex = page.locator('tr[data-workspace="globex"]');
      const initech = page.locator('tr[data-workspace="initech"]');
      const figure = (row: typeof acme, name: string) => row.locator(`[data-figure="${name}"]`).textContent();
      expect(await figure(acme, 'attached')).toBe('yes');
      expect(await acme.locator('.health').textContent()).toMatch(/^(ok|attention|problem)$/);
      // Not attached here, its figures read from its schema without attaching it.
      expect(await figure(globex, 'attached')).toBe('no');
      expect(await figure(globex, 'pending')).toBe('1');
      expect(await figure(globex, 'dead-letters')).toBe('0');
      expect(await figure(globex, 'open-conflicts')).toBe('0');
      expect(await globex.locator('.health').textContent()).toBe('ok');
      // Without attachOnView only attached workspaces open from here.
      expect(await globex.getByRole('link').count()).toBe(0);
      expect(await initech.locator('.health').textContent()).toBe('not attached');
      expect(await initech.textContent()).toContain('never attached');
      expect(await figure(initech, 'pending')).toBe('–');
      expect(await unlabelledControls(page)).toEqual([]);
      await screenshot(page, 'workspaces');
      // A workspace that is not attached is not attached by looking at it.
      expect((await page.goto(`${origin}/?workspace=globex`))?.status()).toBe(404);
      expect(h.workspaces.attached()).toEqual(['acme']);
      await page.goto(`${origin}/workspaces`);
      await acme.getByRole('link', { name: 'acme' }).click();
      await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
      expect(await page.locator('header .who').textContent()).toContain('workspace acme');
      expect(await page.locator('tr[data-entity="Company"]').count()).toBe(1);
      // The page's links keep the workspace.
      expect(await page.getByRole('link', { name: 'Dead letters' }).getAttribute('href')).toBe(
        '/dead-letters?workspace=acme',
      );
    } finally {
      await context.close();
    }
  });
});
