import { LRUCache } from 'lru-cache';
import type { QueryRunner } from 'typeorm';
import { listFor, type SyncContext } from '../context.js';
import { SharePointSyncError } from '../errors/index.js';
import { type ListSchema, quoteTablePath } from '../schema/index.js';
import { suppressCapture } from '../store/capture.js';
import { execute, rows as selectRows, transaction } from '../store/db.js';
import { migrate } from '../store/migrations.js';
import { forgetColumnTypes } from '../store/rows.js';
import {
  deleteCacheState,
  deleteSyncStatesOfEntities,
  discardDeadLettersOfEntities,
  discardOutbox,
  LOAD_LOCK_CLASS,
  selectCacheState,
  unsentCounts,
} from '../store/sql.js';
import { DeltaTokenExpiredError, type LoadResult, type LoadSettings, loadList } from './loader.js';
import { emptyResult } from './run.js';
import { dependenciesOf } from './targets.js';
import { type VerifyReport, verifyList } from './verify.js';

export type { LoadResult } from './loader.js';
export { DeltaTokenExpiredError } from './loader.js';
export {
  type FieldDifference,
  formatVerifyReport,
  type ListVerification,
  type RecordDifference,
  type VerifyReport,
} from './verify.js';

export interface CacheOptions {
  /** false: every list is loaded at attach (`SHAREPOINT_LAZY_LOAD_DATA=false`). */
  lazy: boolean;
  /** How long a loaded list counts as fresh (`SHAREPOINT_CACHE_TTL_SECONDS`, default 3600). */
  ttlSeconds: number;
  /** `$top` per Graph page; SharePoint caps it at 5,000. Default 5000. */
  pageSize?: number;
  /** Rows per INSERT statement. Default 1000. */
  chunkSize?: number;
  /**
   * Ranges of a large list read at once during a cold load (first load, rebuild, expired token), written on the
   * load's connection plus the pooled ones free at once. 1 reads the list in one sequence. Default 4 (`attach`).
   */
  loadParallelism?: number;
}

/**
 * `rebuild()` without `force` while changes exist only in PostgreSQL — queued in the outbox or dead-lettered:
 * dropping the rows would lose them.
 */
export class RebuildRefusedError extends SharePointSyncError {
  override name = 'RebuildRefusedError';
  readonly code = 'REBUILD_REFUSED';
  /** Unsent changes per entity: outbox rows plus dead letters. */
  readonly pending: Record<string, number>;
  constructor(
    /** Outbox rows per entity (queued, retrying or held for review). */
    readonly queued: Record<string, number>,
    /** Dead letters per entity: changes that failed for good and were never sent. */
    readonly deadLetters: Record<string, number> = {},
  ) {
    const entities = [...new Set([...Object.keys(queued), ...Object.keys(deadLetters)])].sort();
    const pending = Object.fromEntries(entities.map((e) => [e, (queued[e] ?? 0) + (deadLetters[e] ?? 0)]));
    const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
    const detail = entities
      .map((e) => {
        const parts = [];
        if (queued[e]) parts.push(`${queued[e]} queued`);
        if (deadLetters[e]) parts.push(`${deadLetters[e]} dead-lettered`);
        return `${e}: ${parts.join(', ')}`;
      })
      .join('; ');
    const steps = [
      // API names only: the CLI rewrites them into its commands (src/cli, forTheShell).
      sum(queued) > 0 ? 'run flush() to send the queued ones' : '',
      sum(deadLetters) > 0
        ? 'fix the cause of the dead letters, re-queue them with retryDeadLetters() and flush()'
        : '',
    ].filter(Boolean);
    super(
      `typeorm-sharepoint: rebuild refused: ${sum(pending)} change(s) not yet sent to SharePoint (${detail}); ` +
        `PostgreSQL holds their only copy. First ${steps.join('; ')}. ` +
        'Or rebuild({ force: true }) to discard them.',
    );
    this.pending = pending;
  }
}

type EntityRef = Function | string;

interface CacheStateRow {
  entity: string;
  list_id: string | null;
  loaded_at: Date | null;
  delta_link: string | null;
  item_count: number | null;
  age_seconds: number | null;
}

/**
 * PostgreSQL as a cache of SharePoint: loads a list the first time it is needed, remembers that for the
 * TTL in memory (lru-cache) and in `cache_state` (so a restart does not reload), refreshes with the
 * stored deltaLink after the TTL, rebuilds everything on demand and verifies both sides agree.
 */
export class Cache {
  private readonly fresh: LRUCache<string, true>;
  private readonly inflight = new Map<string, Promise<LoadResult>>();
  private readonly settings: LoadSettings;

  constructor(
    private readonly ctx: SyncContext,
    private readonly options: CacheOptions,
  ) {
    this.fresh = new LRUCache<string, true>({ max: 10_000, ttl: Math.max(1, options.ttlSeconds) * 1000 });
    this.settings = {
      pageSize: Math.min(options.pageSize ?? 5000, 5000),
      chunkSize: options.chunkSize ?? 1000,
      parallelism: options.loadParallelism ?? 1,
    };
    if (!ctx.graph.supportsListItemDelta) {
      ctx.logger.warn(
        'typeorm-sharepoint: list-item delta is not available in this cloud; loads page through each list and every refresh reads it again',
        { baseUrl: ctx.graph.baseUrl },
      );
    }
  }

  /** Inbound installs its conflict policies here (changes met by unsent local changes). */
  setConflictHandler(handler: LoadSettings['onPendingLocal']): void {
    if (handler) this.settings.onPendingLocal = handler;
    else delete this.settings.onPendingLocal;
  }

  /**
   * Makes sure the lists are in PostgreSQL: loads the ones never loaded (and the lists their relations
   * point at, first), refreshes by delta the ones older than the TTL, and returns at once for fresh ones.
   * Concurrent callers for one list share one load.
   */
  async ensureLoaded(entities: EntityRef | EntityRef[]): Promise<LoadResult[]> {
    const wanted = (Array.isArray(entities) ? entities : [entities]).map((e) => listFor(this.ctx, e));
    const results: LoadResult[] = [];
    for (const list of this.inDependencyOrder(wanted)) results.push(await this.ensureOne(list, 'ensure'));
    return results;
  }

  /** Loads (or refreshes) every synced list, in dependency order. */
  async loadAll(): Promise<LoadResult[]> {
    return this.ensureLoaded(this.ctx.lists.map((l) => l.target));
  }

  /** Applies what changed in SharePoint since the last load (deltaLink); a list never loaded, or an expired token, loads in full. */
  async refresh(entity: EntityRef): Promise<LoadResult> {
    return this.ensureOne(listFor(this.ctx, entity), 'refresh');
  }

  /** Forgets the in-process freshness (one list or all); the next `ensureLoaded` consults `cache_state` again. */
  invalidate(entity?: EntityRef): void {
    if (entity === undefined) this.fresh.clear();
    else this.fresh.delete(listFor(this.ctx, entity).entityName);
  }

  /**
   * Drops the cached rows of every synced entity and loads them again from SharePoint. Refuses while any
   * change is unsent — in the outbox or dead-lettered (they would be lost) — unless `force`, which discards them.
   */
  async rebuild(options: { force?: boolean } = {}): Promise<LoadResult[]> {
    // The whole schema may have been dropped: recreate the library's tables first (idempotent).
    await migrate(this.ctx.dataSource, this.ctx.schema);
    forgetColumnTypes(this.ctx.dataSource);
    const s = this.ctx.schema;
    const names = this.ctx.lists.map((l) => l.entityName);
    // Dead letters count too: a dead-lettered change was never sent, its row is its only copy.
    const unsent = await selectRows<{ entity: string; outbox: number; dead: number }>(
      this.ctx.dataSource,
      unsentCounts(s),
      [names],
    );
    if (unsent.length > 0 && !options.force) {
      throw new RebuildRefusedError(
        Object.fromEntries(unsent.filter((r) => r.outbox > 0).map((r) => [r.entity, r.outbox])),
        Object.fromEntries(unsent.filter((r) => r.dead > 0).map((r) => [r.entity, r.dead])),
      );
    }
    await Promise.allSettled([...this.inflight.values()]);
    await transaction(this.ctx.dataSource, async (runner) => {
      await suppressCapture(runner);
      if (unsent.length > 0) {
        const discarded = await execute(runner, discardOutbox(s), [names]);
        const dead = await execute(runner, discardDeadLettersOfEntities(s), [names]);
        this.ctx.logger.warn('typeorm-sharepoint: rebuild --force discarded unsent changes', {
          count: discarded.affected,
          deadLetters: dead.affected,
        });
      }
      await this.dropRows(runner);
      await execute(runner, deleteSyncStatesOfEntities(s), [names]);
      await execute(runner, deleteCacheState(s), [names]);
    });
    this.fresh.clear();
    return this.loadAll();
  }

  /** Compares PostgreSQL and SharePoint list by list: counts, missing on either side, differing fields. */
  async verify(entities?: EntityRef | EntityRef[]): Promise<VerifyReport> {
    const lists =
      entities === undefined
        ? this.ctx.lists
        : (Array.isArray(entities) ? entities : [entities]).map((e) => listFor(this.ctx, e));
    const runner = this.ctx.dataSource.createQueryRunner();
    await runner.connect();
    try {
      const results = [];
      for (const list of lists)
        results.push(await verifyList(this.ctx, runner, list, { pageSize: this.settings.pageSize }));
      return { ok: results.every((r) => !r.drift), checkedAt: new Date().toISOString(), lists: results };
    } finally {
      await runner.release();
    }
  }

  /** One TRUNCATE of all synced tables (foreign keys among them are fine); DELETE in dependency order if another table points at them. */
  private async dropRows(runner: QueryRunner): Promise<void> {
    const ordered = this.inDependencyOrder(this.ctx.lists).reverse();
    const tables = [...new Set(ordered.map((l) => quoteTablePath(l.tablePath)))];
    await runner.query('SAVEPOINT tsp_truncate');
    try {
      await runner.query(`TRUNCATE ${tables.join(', ')}`);
      await runner.query('RELEASE SAVEPOINT tsp_truncate');
    } catch {
      await runner.query('ROLLBACK TO SAVEPOINT tsp_truncate');
      for (const table of tables) await runner.query(`DELETE FROM ${table}`);
    }
  }

  private async ensureOne(list: ListSchema, why: 'ensure' | 'refresh'): Promise<LoadResult> {
    const entity = list.entityName;
    if (why === 'ensure' && this.fresh.has(entity)) return emptyResult(entity, 'cached');
    const running = this.inflight.get(entity);
    if (running) return running;
    const load = this.load(list, why).finally(() => this.inflight.delete(entity));
    this.inflight.set(entity, load);
    return load;
  }

  private async load(list: ListSchema, why: 'ensure' | 'refresh'): Promise<LoadResult> {
    const entity = list.entityName;
    const started = Date.now();
    const runner = this.ctx.dataSource.createQueryRunner();
    await runner.connect();
    // One load of a list at a time across processes too: the second waits, then finds it fresh.
    // Keyed by schema and entity: workspaces sharing one database never wait on each other's loads.
    const lockKey = `${this.ctx.schema}.${entity}`;
    await runner.query('SELECT pg_advisory_lock($1, hashtext($2))', [LOAD_LOCK_CLASS, lockKey]);
    try {
      const state = (await selectRows<CacheStateRow>(runner, selectCacheState(this.ctx.schema), [entity]))[0];
      const ttl = this.options.ttlSeconds;
      const listId = this.ctx.listIds.get(entity);
      const sameList = state?.list_id === listId;
      if (why === 'ensure' && state?.loaded_at && sameList && (state.age_seconds ?? Infinity) < ttl) {
        this.fresh.set(entity, true, { ttl: Math.max(1, (ttl - (state.age_seconds ?? 0)) * 1000) });
        return { ...emptyResult(entity, 'cached'), durationMs: Date.now() - started };
      }
      const previous = {
        deltaLink: sameList ? state?.delta_link : null,
        itemCount: state?.item_count ?? null,
      };
      let result: LoadResult;
      if (previous.deltaLink && state?.loaded_at) {
        try {
          result = await loadList(this.ctx, runner, list, 'delta', this.settings, previous);
        } catch (error) {
          if (!(error instanceof DeltaTokenExpiredError)) throw error;
          this.ctx.logger.info('typeorm-sharepoint: delta token expired; loading the list in full', {
            entity,
          });
          result = await loadList(this.ctx, runner, list, 'full', this.settings, previous);
        }
      } else {
        result = await loadList(this.ctx, runner, list, 'full', this.settings, previous);
      }
      this.fresh.set(entity, true);
      const { deltaLink: _deltaLink, ...publicResult } = result as LoadResult & { deltaLink?: string };
      this.ctx.logger.info('typeorm-sharepoint: list loaded', {
        entity,
        mode: result.mode,
        loaded: result.loaded,
        deleted: result.deleted,
        skipped: result.skipped.length,
        pendingLocal: result.pendingLocal,
        durationMs: result.durationMs,
      });
      return publicResult;
    } finally {
      await runner
        .query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOAD_LOCK_CLASS, lockKey])
        .catch(() => undefined);
      await runner.release();
    }
  }

  /** The lists and, before each, the synced lists its relations point at (cycles broken where met). */
  private inDependencyOrder(lists: ListSchema[]): ListSchema[] {
    const ordered: ListSchema[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (list: ListSchema) => {
      if (state.has(list.entityName)) return;
      state.set(list.entityName, 'visiting');
      for (const dependency of dependenciesOf(list)) {
        const target = this.ctx.lists.find((l) => l.entityName === dependency);
        if (target && target !== list) visit(target);
      }
      state.set(list.entityName, 'done');
      ordered.push(list);
    };
    for (const list of lists) visit(list);
    return ordered;
  }
}
