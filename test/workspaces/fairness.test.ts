import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SharePointWorkspaces } from '../../src/workspaces/index.js';
import { waitFor } from '../support/wait.js';
import { createWorkspacesHarness, type WorkspacesHarness } from './harness.js';

const LARGE = 10_000;
const SMALL = 10;
const CONCURRENCY = 4;
const PER_TURN = 20;

let h: WorkspacesHarness;
let workspaces: SharePointWorkspaces;

beforeAll(async () => {
  h = await createWorkspacesHarness({
    big: 'contoso.sharepoint.com:/sites/Twenty-big',
    small: 'contoso.sharepoint.com:/sites/Twenty-small',
  });
  workspaces = h.create({
    flushTimeoutMs: 500,
    worker: { concurrency: CONCURRENCY, recordsPerTurn: PER_TURN, pollIntervalMs: 100 },
  });
});

afterAll(async () => {
  await h?.close();
});

const isCreate = (e: { method: string; path: string; inBatch: boolean }) =>
  e.inBatch && e.method === 'POST' && e.path.endsWith('/items');

it(`a workspace with ${LARGE} pending changes does not starve one with ${SMALL}`, async () => {
  const big = await workspaces.workspace('big');
  const small = await workspaces.workspace('small');
  // Both lists exist already (bootstrap on attach); from here on the log holds only write-back.
  h.emulator.log.reset();

  // One transaction: ten thousand outbox rows appear at once (P0, immediate).
  await big.dataSource.query(
    `INSERT INTO workspace_big.company (id, name)
     SELECT gen_random_uuid(), 'big-' || g FROM generate_series(1, ${LARGE}) AS g`,
  );
  expect((await big.sync.pending()).total).toBe(LARGE);
  // The pool is busy with the large one before the small one has anything.
  await waitFor(() => h.requestsFor('big').filter(isCreate).length >= 200, { timeoutMs: 30_000 });

  const startedAt = Date.now();
  const bigBefore = h.requestsFor('big').filter(isCreate).length;
  await small.dataSource.query(
    `INSERT INTO workspace_small.company (id, name)
     SELECT gen_random_uuid(), 'small-' || g FROM generate_series(1, ${SMALL}) AS g`,
  );
  await waitFor(() => h.companiesIn('small').length === SMALL, { timeoutMs: 30_000, message: 'small sent' });
  const sentMs = Date.now() - startedAt;

  const log = [...h.emulator.log.entries];
  const firstSmall = log.findIndex((e) => isCreate(e) && h.requestsFor('small', [e]).length === 1);
  const lastSmall = log.findLastIndex((e) => isCreate(e) && h.requestsFor('small', [e]).length === 1);
  const bigCreates = (until: number) => h.requestsFor('big', log.slice(0, until)).filter(isCreate).length;
  // Big's records sent between the small one's commit and its first request: only turns already in flight.
  const bigInBetween = bigCreates(firstSmall) - bigBefore;
  const bigWhenSmallDone = bigCreates(lastSmall);
  console.info(
    `fairness: big had ${bigBefore}/${LARGE} sent when small committed; ${bigInBetween} more before small's first request; ` +
      `${bigWhenSmallDone}/${LARGE} when small's ${SMALL} were all sent (${sentMs} ms after commit)`,
  );
  // At most the turns in flight at the commit (one per loop), plus one that may race the wake-up.
  expect(bigInBetween).toBeLessThanOrEqual((CONCURRENCY + 1) * PER_TURN);
  expect(bigWhenSmallDone).toBeLessThan(LARGE / 2);
  // Small's ten went out in one turn (one $batch), not interleaved with dozens of big turns.
  expect(bigCreates(lastSmall) - bigCreates(firstSmall)).toBeLessThanOrEqual(CONCURRENCY * PER_TURN);
}, 120_000);
