import { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SharePointWorkspaces, TokenCredential } from '../../src/index.js';
import { type AttachedSetup, createAttachedSetup } from '../support/attached.js';
import { waitFor } from '../support/wait.js';
import { Company, createWorkspacesHarness, type WorkspacesHarness } from '../workspaces/harness.js';

/**
 * An application that already talks to Graph through the official SDK holds an `AuthenticationProvider`
 * (`getAccessToken()`), not a `TokenCredential`. Wherever the library takes a credential, that object works
 * as it is: the SDK's own `TokenCredentialAuthenticationProvider`, and a hand-written provider.
 */

interface Sent {
  path: string;
  authorization: string | null;
}

/** The fetch every Graph call goes through: it notes each call's Authorization header. */
function recordingFetch(sent: Sent[]): typeof fetch {
  return (input, init) => {
    const url = new URL(String(input instanceof Request ? input.url : input));
    sent.push({ path: url.pathname, authorization: new Headers(init?.headers).get('authorization') });
    return fetch(input, init);
  };
}

/** A TokenCredential as @azure/identity's are, inside the SDK's provider; it counts the scopes it is asked for. */
function identityCredential(token: string, scopes: string[][]): TokenCredential {
  return {
    getToken: async (asked) => {
      scopes.push(Array.isArray(asked) ? asked : [asked]);
      return { token, expiresOnTimestamp: Date.now() + 3_600_000 };
    },
  };
}

describe('attach', () => {
  let setup: AttachedSetup;
  beforeAll(async () => {
    setup = await createAttachedSetup({ site: 'contoso.sharepoint.com:/sites/sdkauth', entities: [Company] });
  });
  afterAll(async () => {
    await setup?.close();
  });

  it("takes the SDK's TokenCredentialAuthenticationProvider: every Graph call carries its token", async () => {
    const sent: Sent[] = [];
    const scopes: string[][] = [];
    const provider = new TokenCredentialAuthenticationProvider(
      identityCredential('sdk-provider-token', scopes),
      {
        scopes: ['https://graph.microsoft.com/.default'],
      },
    );
    const { dataSource, sync } = await setup.attach({
      credential: provider,
      graph: { fetch: recordingFetch(sent) },
    });
    const saved = await dataSource.getRepository(Company).save({ name: 'Provided' });
    await sync.flush();
    await sync.pull(Company);
    const item = setup.emulator
      .site('contoso.sharepoint.com:/sites/sdkauth')
      .list('Companies')!
      .items()
      .find((i) => i.fields.TwentyId === saved.id);
    expect(item?.fields.Title ?? item?.fields.Name).toBe('Provided');
    // Bootstrap, the send and the pull: all of it through the provider's token, none without.
    expect(sent.length).toBeGreaterThanOrEqual(3);
    expect(new Set(sent.map((s) => s.authorization))).toEqual(new Set(['Bearer sdk-provider-token']));
    expect(scopes.length).toBeGreaterThanOrEqual(1);
    expect(scopes[0]).toEqual(['https://graph.microsoft.com/.default']);
    await sync.close();
  });
});

describe('SharePointWorkspaces', () => {
  let h: WorkspacesHarness;
  let workspaces: SharePointWorkspaces;
  const sent: Sent[] = [];
  beforeAll(async () => {
    h = await createWorkspacesHarness({
      acme: 'acme.sharepoint.com:/sites/crm',
      globex: 'globex.sharepoint.com:/sites/crm',
    });
    workspaces = h.create({
      defaults: { graph: { baseUrl: `${h.url}/v1.0`, fetch: recordingFetch(sent) } },
    });
    // Each tenant its own app registration: a provider per workspace definition.
    h.definitions.get('acme')!.credential = { getAccessToken: async () => 'acme-token' };
    h.definitions.get('globex')!.credential = new TokenCredentialAuthenticationProvider(
      identityCredential('globex-token', []),
      { scopes: ['https://graph.microsoft.com/.default'] },
    );
  });
  afterAll(async () => {
    await h?.close();
  });

  it("takes a provider per workspace definition: each site's calls carry that workspace's token, never another's", async () => {
    for (const id of ['acme', 'globex'] as const) {
      const lease = await workspaces.acquire(id);
      try {
        await lease.dataSource.getRepository(Company).save({ name: `${id} Inc` });
      } finally {
        lease.release();
      }
    }
    await waitFor(() => h.companiesIn('acme').length === 1 && h.companiesIn('globex').length === 1, {
      timeoutMs: 20_000,
      message: 'both workspaces sent their company',
    });
    // A call names its site by host name (the first lookup) or by site id (every call after).
    const tokensFor = (id: 'acme' | 'globex') => {
      const ref = h.sites[id]!;
      const keys = [ref.split(':')[0]!, h.emulator.site(ref).id];
      const calls = sent.filter((s) => keys.some((k) => decodeURIComponent(s.path).includes(k)));
      expect(calls.length).toBeGreaterThanOrEqual(2);
      return new Set(calls.map((s) => s.authorization));
    };
    expect(tokensFor('acme')).toEqual(new Set(['Bearer acme-token']));
    expect(tokensFor('globex')).toEqual(new Set(['Bearer globex-token']));
    expect(
      sent.every((s) => s.authorization === 'Bearer acme-token' || s.authorization === 'Bearer globex-token'),
    ).toBe(true);
  });
});
