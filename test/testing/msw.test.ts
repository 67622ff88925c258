// biome-ignore-all lint/suspicious/noExplicitAny: JSON read off the wire, asserted field by field
import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmulator, type Emulator } from '../../src/testing/index.js';
import { shapeViolations } from '../support/graph-schema.js';
import { emulatorScenarios } from './scenarios.js';
import { call, mswTransport, SITE, SITE_PATH } from './support.js';

emulatorScenarios(mswTransport);

describe('msw handlers', () => {
  let emulator: Emulator;
  let server: ReturnType<typeof setupServer>;
  const passedOn: string[] = [];

  beforeAll(() => {
    emulator = createEmulator({ sites: [SITE], defaultPageSize: 2 });
    // A catch-all after the emulator's handlers answers only what the emulator leaves alone, so nothing
    // reaches the network and nothing is logged as unhandled.
    server = setupServer(
      ...emulator.handlers,
      http.all('*', ({ request }) => {
        passedOn.push(`${request.method} ${request.url}`);
        return HttpResponse.json({ passedOn: true }, { status: 599 });
      }),
    );
    server.listen({ onUnhandledRequest: 'error' });
  });
  afterAll(async () => {
    server.close();
    await emulator.close();
  });

  it('answer /v1.0 on any origin over one state, with nextLinks on the origin that asked', async () => {
    const list = emulator.site(SITE).createList({ displayName: 'Anywhere' });
    for (let i = 0; i < 3; i++) list.createItem({ Title: `a${i}` });
    for (const origin of [
      'https://graph.microsoft.com',
      'https://graph.microsoft.us',
      'http://emulator.test:8080',
    ]) {
      const site = await call(`${origin}/v1.0`, 'GET', SITE_PATH);
      expect(site.json.id).toBe(emulator.site(SITE).id);
      const page = await call(`${origin}/v1.0`, 'GET', `/sites/${site.json.id}/lists/Anywhere/items`);
      expect(page.json.value).toHaveLength(2);
      expect(page.json['@odata.nextLink'].startsWith(`${origin}/v1.0/sites/`)).toBe(true);
    }
    expect(emulator.log.counters().requests).toBe(6);
  });

  it('leave paths outside /v1.0 alone', async () => {
    const answer = await fetch('https://graph.microsoft.com/beta/sites');
    expect(answer.status).toBe(599);
    expect(await answer.json()).toEqual({ passedOn: true });
    expect(passedOn).toEqual(['GET https://graph.microsoft.com/beta/sites']);
    expect(emulator.log.entries.some((e) => e.path.includes('beta'))).toBe(false);
  });
});

describe('createEmulator options', () => {
  it('refuses bad options with the option, the rule and the value', () => {
    expect(() => createEmulator({ sites: ['https://contoso.sharepoint.com/sites/crm'] })).toThrow(
      /option 'sites' needs entries like 'contoso.sharepoint.com:\/sites\/crm'.*https:/,
    );
    expect(() => createEmulator({ sites: [SITE], defaultPageSize: 0 })).toThrow(
      "option 'defaultPageSize' must be a positive integer (got 0)",
    );
    expect(() => createEmulator({ sites: [SITE], resourceUnitsPerMinute: -1 })).toThrow(
      /resourceUnitsPerMinute/,
    );
    expect(() => createEmulator({ sites: [SITE], deltaRepeatProbability: 2 })).toThrow(/between 0 and 1/);
    expect(() => createEmulator({ sites: [SITE], latencyMs: -5 })).toThrow(/latencyMs/);
    expect(() => createEmulator({ sites: [SITE], latency: { perItemMs: -1 } })).toThrow(
      "option 'latency.perItemMs' must be a number ≥ 0 (got -1)",
    );
    expect(() => createEmulator({ sites: [SITE], latency: {}, latencyMs: 5 })).toThrow(/latencyMs.*latency/);
    expect(() => createEmulator({ sites: [SITE], faults: [{ status: 500, probability: 3 }] })).toThrow(
      /probability/,
    );
  });
});

describe('the schema checker the scenarios rely on', () => {
  it('accepts Graph properties (inherited and nested) and names every foreign one', () => {
    expect(
      shapeViolations('listItem', {
        id: '1',
        eTag: '"x,1"',
        createdBy: { user: { displayName: 'Someone' } },
        parentReference: { siteId: 's', id: 'l' },
        fields: { AnyColumn: 1 },
        deleted: { state: 'deleted' },
      }),
    ).toEqual([]);
    expect(
      shapeViolations('listItem', { id: '1', title: 'no', parentReference: { listId: 'nested' } }),
    ).toEqual([
      'listItem.title is not a property of listItem',
      'listItem.parentReference.listId is not a property of itemReference',
    ]);
    expect(shapeViolations('columnDefinition', { name: 'A', text: { maxLength: 1, size: 2 } })).toEqual([
      'columnDefinition.text.size is not a property of textColumn',
    ]);
    expect(shapeViolations('subscription', { id: 's', secret: 'x' })).toEqual([
      'subscription.secret is not a property of subscription',
    ]);
    expect(shapeViolations('list', { id: 'l', columns: [{ name: 'A', bogus: true }] })).toEqual([
      'list.columns[0].bogus is not a property of columnDefinition',
    ]);
  });
});
