import type { QueryRunner } from 'typeorm';
import {
  expandFields,
  type GraphPage,
  graphPath,
  itemIdRange,
  LATEST_DELTA_TOKEN,
  ODATA,
} from '../graph/index.js';
import { type GraphListItem, selectClause } from '../schema/index.js';
import { writePage } from './page.js';
import type { LoadRun } from './run.js';

/**
 * A cold load of a large list in parallel ranges of item ids (docs/cache.md, "Large lists load in parallel";
 * the sources in docs/graph.md, "Reading one list in ranges"):
 * 1. the current delta token first (`delta?token=latest`), before anything is read;
 * 2. a bound of the item ids, by probing `fields/id ge N` with `$top=1` (after the token: an item created
 *    after the probes has a higher id but comes with the delta; one created before them is within the bound);
 * 3. `[1, highest]` cut into ranges of at most `pageSize` ids (so no filtered query can return more items than
 *    SharePoint's list view threshold), read by `parallelism` workers, each writing its pages through the
 *    same `writePage` as the sequential path (see `runWorkers` for the connections).
 * The caller then continues with delta from the token of step 1: whatever changed while the ranges were read
 * comes again and is applied by the usual echo and conflict rules. Returns that token's deltaLink, or
 * undefined when the list is too small to gain anything (one probe, then the caller reads it in one sequence).
 */
export async function readInRanges(run: LoadRun): Promise<string | undefined> {
  const { ctx, list, settings } = run;
  // A list without an item at or above 2 pages of ids is read in one pass: one probe decides, before the token
  // is taken (the bound used for the ranges is probed after it: see `highestItemId`).
  if ((await lowestIdFrom(run, 2 * settings.pageSize)) === undefined) return undefined;
  const query = { $expand: expandFields(selectClause(list)), $top: settings.pageSize };
  const latest = await ctx.graph.request<Record<string, unknown>>({
    method: 'GET',
    path: graphPath.itemsDelta(ctx.site.id, run.listId),
    query: { ...LATEST_DELTA_TOKEN, ...query },
  });
  run.result.requests += 1;
  const deltaLink = latest.body?.[ODATA.deltaLink];
  if (typeof deltaLink !== 'string') return undefined;
  const highest = await highestItemId(run, 2 * settings.pageSize);
  if (highest === undefined) return undefined;
  const ranges = cutRanges(highest, settings.pageSize, settings.parallelism);
  // Only the item properties a page step reads (a range holds no deleted entries): a listItem carries about
  // 1 KB more (createdBy, parentReference, sharepointIds…) that would cost parsing time and memory on every item.
  await runWorkers(run, ranges, { ...query, $select: RANGE_ITEM_PROPERTIES });
  return deltaLink;
}

/** The listItem properties a ranged read asks for (`$select`, as the probes' `$select=id`). */
const RANGE_ITEM_PROPERTIES = 'id,eTag,lastModifiedDateTime';

/** `[from, below)` ranges covering `[1, highest]`, each at most `width` ids, their count a multiple of `workers`. */
export function cutRanges(highest: number, width: number, workers: number): Array<[number, number]> {
  const count = workers * Math.ceil(Math.ceil(highest / width) / workers);
  const step = Math.ceil(highest / count);
  const ranges: Array<[number, number]> = [];
  for (let from = 1; from <= highest; from += step) ranges.push([from, Math.min(from + step, highest + 1)]);
  return ranges;
}

/**
 * An upper bound of the item ids (nothing at or above it + 1 existed when probed), or undefined when there is no
 * item at or above `atLeast` (a list that small is read in one sequence). Graph documents no `$orderby` on list
 * items (and `$orderby=id desc` is reported ignored or throttled: docs/graph.md), so it probes: `fields/id ge N`
 * with `$top=1` answers the lowest id ≥ N. Probes go out `parallelism` (at least 4) at a time: first at
 * `atLeast`, 2×, 4×, … until one finds nothing, then evenly inside the gap until it is small enough to cut
 * ranges that are balanced within about a page.
 */
async function highestItemId(run: LoadRun, atLeast: number): Promise<number | undefined> {
  const fanOut = Math.max(4, run.settings.parallelism);
  let low = 0; // an id known to exist (0: none yet)
  let high: number | undefined; // nothing at or above it
  let from = atLeast;
  while (high === undefined) {
    const points = Array.from({ length: fanOut }, (_, i) => from * 2 ** i);
    const found = await Promise.all(points.map((p) => lowestIdFrom(run, p)));
    for (const [i, id] of found.entries()) {
      if (id === undefined) {
        high = points[i]!;
        break;
      }
      low = Math.max(low, id);
    }
    if (low === 0) return undefined;
    from = low + 1;
  }
  const enough = Math.max(run.settings.pageSize, Math.ceil(low / 20));
  while (high - low > enough) {
    const step = (high - low) / (fanOut + 1);
    const points = Array.from({ length: fanOut }, (_, i) => Math.floor(low + step * (i + 1)) + 1);
    const found = await Promise.all(points.map((p) => lowestIdFrom(run, p)));
    const firstEmpty = found.indexOf(undefined);
    if (firstEmpty !== -1) high = Math.min(high, points[firstEmpty]!);
    for (const id of found) if (id !== undefined) low = Math.max(low, id);
  }
  return high - 1;
}

/** The lowest item id ≥ `from`, or undefined. */
async function lowestIdFrom(run: LoadRun, from: number): Promise<number | undefined> {
  const { ctx } = run;
  const answer = await ctx.graph.request<{ value?: Array<{ id?: string }> }>({
    method: 'GET',
    path: run.itemsPath,
    query: { $filter: itemIdRange(from), $select: 'id', $top: 1 },
  });
  run.result.requests += 1;
  const id = Number(answer.body?.value?.[0]?.id);
  return Number.isFinite(id) ? id : undefined;
}

/**
 * `parallelism` workers take the ranges in order; each reads its ranges as one stream of pages (`@odata.nextLink`
 * within a range, then the next range from the shared queue) and fetches its next page while it writes the
 * current one, as the sequential path does: a worker waits for SharePoint or for PostgreSQL, not for both in
 * turn, and holds at most two pages. Pages are written on the load's own connection and on as many more as the
 * pool gives at once (`writerConnections`); pages of different ranges hold different records, so their rows
 * never wait on each other. The first failure stops the others from starting a new range and is thrown once
 * they have stopped.
 */
async function runWorkers(
  run: LoadRun,
  ranges: Array<[number, number]>,
  query: { $expand: string; $top: number; $select: string },
): Promise<void> {
  let next = 0;
  let failed = false;
  const { ctx, list, result } = run;
  async function* pagesOfRanges(): AsyncGenerator<GraphPage<GraphListItem>> {
    while (!failed && next < ranges.length) {
      const [from, below] = ranges[next++]!;
      const filtered = { ...query, $filter: itemIdRange(from, below) };
      for await (const page of ctx.graph.pages<GraphListItem>(run.itemsPath, { query: filtered })) {
        result.requests += 1;
        yield page;
      }
    }
  }
  const count = Math.min(run.settings.parallelism, ranges.length);
  const writers = await writerConnections(run, count - 1);
  const worker = async () => {
    const pages = pagesOfRanges();
    try {
      let step = await pages.next();
      while (!step.done) {
        const following = pages.next();
        following.catch(() => {}); // observed below; avoid an unhandled rejection meanwhile
        const runner = await writers.take();
        try {
          await writePage({ ...run, runner }, step.value.value);
        } finally {
          writers.give(runner);
        }
        ctx.emit({
          type: 'load.progress',
          entity: list.entityName,
          loaded: result.loaded,
          skipped: result.skipped.length,
          done: false,
        });
        step = await following;
      }
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      await pages.return(undefined).catch(() => undefined);
    }
  };
  try {
    const outcomes = await Promise.allSettled(Array.from({ length: count }, worker));
    const failure = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failure) throw failure.reason;
  } finally {
    await writers.release();
  }
}

/** How long a parallel load waits for each extra connection before it makes do with those it has. */
const WRITER_CONNECT_MS = 200;

/**
 * The connections pages are written on: the load's own, plus up to `extra` from the application's pool, taken
 * only if the pool gives each within `WRITER_CONNECT_MS`. A busy pool (the application's own work, other lists
 * loading) means fewer writers, never a wait for a connection held by something that waits for this load.
 */
async function writerConnections(
  run: LoadRun,
  extra: number,
): Promise<{ take(): Promise<QueryRunner>; give(runner: QueryRunner): void; release(): Promise<void> }> {
  const extras: QueryRunner[] = [];
  for (let i = 0; i < extra; i++) {
    const runner = run.ctx.dataSource.createQueryRunner();
    const connected = runner.connect().then(
      () => true,
      () => false,
    );
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), WRITER_CONNECT_MS);
    });
    const outcome = await Promise.race([connected, late]);
    clearTimeout(timer);
    if (outcome === true) {
      extras.push(runner);
      continue;
    }
    // Given back as soon as the pool hands it over.
    if (outcome === 'late')
      void connected.then((ok) => (ok ? runner.release() : undefined)).catch(() => undefined);
    break;
  }
  const free: QueryRunner[] = [run.runner, ...extras];
  const waiting: Array<(runner: QueryRunner) => void> = [];
  return {
    take: () => {
      const runner = free.pop();
      return runner ? Promise.resolve(runner) : new Promise((resolve) => waiting.push(resolve));
    },
    give: (runner) => {
      const waiter = waiting.shift();
      if (waiter) waiter(runner);
      else free.push(runner);
    },
    release: async () => {
      await Promise.allSettled(extras.map((r) => r.release()));
    },
  };
}
