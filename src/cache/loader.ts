import type { QueryRunner } from 'typeorm';
import type { SyncContext } from '../context.js';
import { ListNotProvisionedError, SharePointSyncError } from '../errors/index.js';
import { expandFields, graphPath } from '../graph/index.js';
import { type GraphListItem, type ListSchema, makeItemConverter, selectClause } from '../schema/index.js';
import { execute } from '../store/db.js';
import { databaseNow, resolveReferences } from '../store/rows.js';
import { upsertCacheState } from '../store/sql.js';
import { writePage } from './page.js';
import { readInRanges } from './ranges.js';
import { emptyResult, type LoadResult, type LoadRun, type LoadSettings, yieldingPage } from './run.js';
import { sweepMissing } from './sweep.js';
import { referenceAwareTarget } from './targets.js';

export type { LoadResult, LoadSettings, PendingLocalChange } from './run.js';

export class DeltaTokenExpiredError extends SharePointSyncError {
  override name = 'DeltaTokenExpiredError';
  readonly code = 'DELTA_TOKEN_EXPIRED';
}

/**
 * Loads one list into PostgreSQL on `runner` (a dedicated connection, not in a transaction):
 * - `full`: the delta endpoint without a token (so it ends with a deltaLink), every page, then removes
 *   rows SharePoint no longer has;
 * - `delta`: the stored deltaLink, only what changed (410 → `DeltaTokenExpiredError`, caller goes full).
 * Pages are processed as they arrive (the next one is fetched while the current one is written), so
 * memory holds at most two pages whatever the list size. Each page is one transaction with capture
 * suppressed: bulk upserts of rows and sync_state, deletions, never one row per round trip.
 *
 * The steps: page (`writePage`, which assigns ids to new items: `assignTwentyIds`), sweep (`sweepMissing`,
 * full loads only), then the relation ids that pointed forward and the list's `cache_state`.
 */
export async function loadList(
  ctx: SyncContext,
  runner: QueryRunner,
  list: ListSchema,
  mode: 'full' | 'delta',
  settings: LoadSettings,
  previous: { deltaLink?: string | null; itemCount?: number | null } = {},
): Promise<LoadResult & { deltaLink?: string }> {
  const started = Date.now();
  const startedAt = await databaseNow(runner);
  const run = startRun(ctx, runner, list, mode, settings, startedAt);
  const loadStart = mode === 'full' ? startedAt : undefined;
  await readAll(run, previous);
  if (loadStart) run.result.deleted += await sweepMissing(run, loadStart);
  await resolveForwardReferences(run);
  const result = run.result;
  await execute(runner, upsertCacheState(ctx.schema), [
    list.entityName,
    run.listId,
    result.deltaLink ?? previous.deltaLink ?? null,
    mode === 'full' ? result.loaded + result.pendingLocal : null,
    mode,
  ]);
  result.durationMs = Date.now() - started;
  ctx.emit({
    type: 'load.progress',
    entity: list.entityName,
    loaded: result.loaded,
    skipped: result.skipped.length,
    ...(mode === 'full' ? { total: result.loaded + result.skipped.length } : {}),
    done: true,
  });
  return result;
}

function startRun(
  ctx: SyncContext,
  runner: QueryRunner,
  list: ListSchema,
  mode: 'full' | 'delta',
  settings: LoadSettings,
  startedAt: Date,
): LoadRun {
  const entity = list.entityName;
  const listId = ctx.listIds.get(entity);
  if (!listId) {
    throw new ListNotProvisionedError(entity);
  }
  const result = emptyResult(entity, mode);
  return {
    ctx,
    runner,
    list,
    mode,
    settings,
    listId,
    itemsPath: graphPath.items(ctx.site.id, listId),
    target: referenceAwareTarget(ctx.dataSource, list),
    convert: makeItemConverter(list),
    result,
    unresolved: [],
    keep: [],
    startedAt,
    skip(itemId, reason) {
      result.skipped.push({ itemId, reason });
      ctx.emit({ type: 'load.skipped', entity, itemId, reason });
      ctx.logger.warn('typeorm-sharepoint: item skipped while loading', { entity, itemId, reason });
    },
  };
}

/**
 * Reads what the load needs. A cold (full) load of a large list with `parallelism` > 1 reads it in parallel
 * ranges from the token taken first, then continues with delta from that token (`readInRanges`): entries
 * changed meanwhile come again and go through the same echo and conflict rules as any delta. A 410 on that
 * young token (unexpected) falls back to one sequential pass. Otherwise the list is read page by page.
 */
async function readAll(
  run: LoadRun,
  previous: { deltaLink?: string | null; itemCount?: number | null },
): Promise<void> {
  const ranged =
    run.mode === 'full' && run.settings.parallelism > 1 && run.ctx.graph.supportsListItemDelta
      ? await readInRanges(run)
      : undefined;
  if (ranged === undefined) return forEachPage(run, previous);
  try {
    await forEachPage({ ...run, mode: 'delta' }, { deltaLink: ranged });
  } catch (error) {
    if (!(error instanceof DeltaTokenExpiredError)) throw error;
    run.ctx.logger.warn(
      'typeorm-sharepoint: the token taken before a ranged load expired; reading in one pass',
      {
        entity: run.list.entityName,
      },
    );
    await forEachPage(run, previous);
  }
}

/**
 * Reads the list page by page (the delta feed from the stored deltaLink, or from the start) and writes each
 * page; the next page is fetched while the current one is written. Ends at the page carrying a deltaLink.
 */
async function forEachPage(
  run: LoadRun,
  previous: { deltaLink?: string | null; itemCount?: number | null },
): Promise<void> {
  const { ctx, list, mode, settings, result } = run;
  const entity = list.entityName;
  // Without list-item delta (US Government and China clouds) a load pages through the list itself and ends
  // without a deltaLink, so every refresh is a full pass (the sweep still removes what SharePoint lost).
  const pages =
    mode === 'delta' && previous.deltaLink
      ? ctx.graph.pages<GraphListItem>(previous.deltaLink)
      : ctx.graph.pages<GraphListItem>(
          ctx.graph.supportsListItemDelta ? graphPath.itemsDelta(ctx.site.id, run.listId) : run.itemsPath,
          { query: { $expand: expandFields(selectClause(list)), $top: settings.pageSize } },
        );
  const total = mode === 'full' ? (previous.itemCount ?? undefined) : undefined;
  const iterator = pages[Symbol.asyncIterator]();
  let next = iterator.next();
  try {
    for (;;) {
      let step: IteratorResult<{ value: GraphListItem[]; nextLink?: string; deltaLink?: string }>;
      try {
        step = await next;
      } catch (error) {
        if (isGone(error))
          throw new DeltaTokenExpiredError(`typeorm-sharepoint: delta token of ${entity} expired`);
        throw error;
      }
      if (step.done) break;
      result.requests += 1;
      const page = step.value;
      if (page.deltaLink) result.deltaLink = page.deltaLink;
      else next = iterator.next(); // fetch the next page while this one is written
      if (!page.deltaLink) next.catch(() => {}); // observed below; avoid an unhandled rejection meanwhile
      await writePage(run, page.value);
      ctx.emit({
        type: 'load.progress',
        entity,
        loaded: result.loaded,
        skipped: result.skipped.length,
        ...(total !== undefined ? { total } : {}),
        done: false,
      });
      if (page.deltaLink) break;
    }
  } finally {
    await iterator.return?.().catch(() => undefined);
  }
}

/** Sets the relation ids that pointed at records loaded later (still the library writing: capture stays off). */
async function resolveForwardReferences(run: LoadRun): Promise<void> {
  if (run.unresolved.length === 0) return;
  const { dangling } = await yieldingPage(run.runner, () =>
    resolveReferences(run.runner, run.target, run.unresolved),
  );
  for (const d of dangling) {
    run.ctx.logger.warn('typeorm-sharepoint: relation points at a record that does not exist; left empty', {
      entity: run.list.entityName,
      twentyId: d.key,
      column: d.column,
      value: d.value,
    });
  }
}

function isGone(error: unknown): boolean {
  return Boolean(error && typeof error === 'object' && (error as { status?: number }).status === 410);
}
