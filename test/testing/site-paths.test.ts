import { createEmulator } from 'typeorm-sharepoint/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// docs/emulator.md, "Sites by id and by hostname:/path": what the closing ':' does, as the docs say it.

const emulator = createEmulator({ sites: ['contoso.sharepoint.com:/sites/crm'] });
let base: string;

beforeAll(async () => {
  base = `${(await emulator.listen()).url}/v1.0`;
});
afterAll(() => emulator.close());

const status = async (path: string) => (await fetch(`${base}${path}`)).status;

describe('site addressing by path (loopback)', () => {
  it('the site alone answers with or without the closing colon; what follows the site needs it', async () => {
    expect(await status('/sites/contoso.sharepoint.com:/sites/crm')).toBe(200);
    expect(await status('/sites/contoso.sharepoint.com:/sites/crm:')).toBe(200);
    expect(await status('/sites/contoso.sharepoint.com:/sites/crm:/lists')).toBe(200);
    expect(await status('/sites/contoso.sharepoint.com:/sites/crm/lists')).toBe(404);
  });
});
