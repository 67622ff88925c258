import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SharePointWorkspaces } from '../../src/workspaces/index.js';
import { waitFor } from '../support/wait.js';
import { Company, createWorkspacesHarness, type WorkspacesHarness } from './harness.js';

// Two tenants (the tenant defaults to the site's host name): one and three share a budget, two has its own.
const SITES = {
  one: 'fabrikam.sharepoint.com:/sites/Twenty-one',
  two: 'contoso.sharepoint.com:/sites/Twenty-two',
  three: 'fabrikam.sharepoint.com:/sites/Twenty-three',
};
// Long enough that "sent while the other tenant is paused" holds on a loaded machine, where the commit and
// send of the other tenant's write can take a second or more.
const RETRY_AFTER_SECONDS = 5;

let h: WorkspacesHarness;
let workspaces: SharePointWorkspaces;

beforeAll(async () => {
  h = await createWorkspacesHarness(SITES);
  workspaces = h.create({ worker: { concurrency: 4, pollIntervalMs: 50 } });
  for (const id of Object.keys(SITES)) await workspaces.get(id);
});

afterAll(async () => {
  await h?.close();
});

const createOf = (h: WorkspacesHarness, id: string) =>
  h
    .requestsFor(id)
    .find((e) => e.inBatch && e.method === 'POST' && e.path.endsWith('/items') && e.status === 201);

it("one tenant's throttling pauses only that tenant's budget", async () => {
  const siteOne = h.emulator.site(SITES.one).id;
  // The first write to site one is refused with 429 + Retry-After: the tenant pauses for that long.
  const fault = h.emulator.faults.inject({
    path: new RegExp(`^/sites/${siteOne.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/lists/[^/]+/items$`),
    method: 'POST',
    status: 429,
    retryAfterSeconds: RETRY_AFTER_SECONDS,
    count: 1,
  });
  h.emulator.log.reset();
  const one = await workspaces.workspace('one');
  await one.dataSource.getRepository(Company).save({ name: 'one-a' });
  const throttled = await waitFor(() => h.requestsFor('one').find((e) => e.status === 429), {
    message: 'the 429 on site one',
  });
  expect(fault.hits).toBe(1);

  // While tenant fabrikam is paused, a write in the other tenant goes out at once…
  const committedAt = Date.now();
  const two = await workspaces.workspace('two');
  const three = await workspaces.workspace('three');
  await Promise.all([
    two.dataSource.getRepository(Company).save({ name: 'two-a' }),
    three.dataSource.getRepository(Company).save({ name: 'three-a' }),
  ]);
  const sentTwo = await waitFor(() => createOf(h, 'two'), { message: 'two sent', timeoutMs: 30_000 });
  // …while the workspace of the same tenant waits for the shared pause, like the throttled one.
  const sentThree = await waitFor(() => createOf(h, 'three'), { message: 'three sent', timeoutMs: 30_000 });
  const sentOne = await waitFor(() => createOf(h, 'one'), { message: 'one sent', timeoutMs: 30_000 });

  const pauseEnds = throttled.at + RETRY_AFTER_SECONDS * 1000;
  console.info(
    `throttling: two (other tenant) sent ${sentTwo.at - committedAt} ms after its commit; ` +
      `three (same tenant) ${sentThree.at - throttled.at} ms and one ${sentOne.at - throttled.at} ms after the 429`,
  );
  // Not paused: sent well before the pause ends (no absolute latency bound, which load breaks).
  expect(sentTwo.at).toBeLessThan(pauseEnds - 1000);
  expect(sentThree.at).toBeGreaterThanOrEqual(pauseEnds - 50);
  expect(sentOne.at).toBeGreaterThanOrEqual(pauseEnds - 50);
  expect(h.companiesIn('one')).toEqual(['one-a']);
  expect(h.companiesIn('two')).toEqual(['two-a']);
  expect(h.companiesIn('three')).toEqual(['three-a']);
}, 60_000);
