/**
 * SQL over the library's own tables, grouped by the concern that owns each section.
 * Every function takes the (already validated) schema name and returns statement text; parameters are
 * positional. Keep each section to its owner: write-back owns outbox, dead_letters and sync_state writes,
 * the cache owns cache_state. Over 400 lines on purpose: it is the one catalogue of statements (issue 16,
 * pg-boss's `plans`), each short and named; splitting it would make two homes.
 */

// ───────────────────────────── outbox (write-back) ─────────────────────────────

/** Advisory lock class for live write-back workers: `pg_advisory_lock(WORKER_LOCK_CLASS, workerId)`. */
export const WORKER_LOCK_CLASS = 0x5350_5742; // 'SPWB'

/**
 * Releases claims held by workers that are gone. A worker holds a session advisory lock for its whole
 * life, so "no such lock in pg_locks" means its process or connection died: its claims are free at once.
 * (Two-int advisory locks show classid = key1, objid = key2, objsubid = 2.)
 */
export const releaseOrphanClaims = (s: string, ownWorkerId?: number) => `
  UPDATE "${s}".outbox o SET claimed_by = NULL, claimed_at = NULL, claimed_version = NULL
   WHERE o.claimed_by IS NOT NULL${
     // A worker never takes its own claims for orphans, even while its lock is being re-acquired.
     ownWorkerId === undefined ? '' : ` AND o.claimed_by <> ${Math.trunc(ownWorkerId)}`
   }
     AND NOT EXISTS (
       SELECT 1 FROM pg_locks l
        WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND l.classid = ${WORKER_LOCK_CLASS}::oid AND l.objid = o.claimed_by::oid)`;

/**
 * When a row is due, by priority (docs/writeback.md; P0–P3 in docs/architecture.md's glossary): P0 now;
 * P1 once the batch window has passed since the first unsent change (coalescing keeps `enqueued_at`, so a
 * hot record is not starved); P2 at the next 5-minute
 * boundary; P3 at the next daily hour (UTC). `available_at` only carries retry backoff.
 * $2 = P1 window seconds, $3 = P3 hour (0–23), $4 = true to ignore the windows (flush).
 */
const DUE = `(
     $4::boolean
  OR o.priority = 0
  OR (o.priority = 1 AND o.enqueued_at + make_interval(secs => $2::double precision) <= clock_timestamp())
  OR (o.priority = 2 AND date_bin('5 minutes', o.enqueued_at, timestamptz 'epoch') + interval '5 minutes' <= clock_timestamp())
  OR (o.priority = 3 AND date_trunc('day', (o.enqueued_at AT TIME ZONE 'UTC') - make_interval(hours => $3::int))
                         + interval '1 day' + make_interval(hours => $3::int) <= (clock_timestamp() AT TIME ZONE 'UTC'))
)`;

/**
 * Claims up to $5 due rows for worker $1. `SKIP LOCKED` lets any number of workers run this at once without
 * taking the same row; the claim itself is committed at once (no lock is held while sending).
 */
export const claimDue = (s: string) => `
  WITH due AS (
    SELECT o.id FROM "${s}".outbox o
     WHERE o.claimed_by IS NULL AND NOT o.held AND o.available_at <= clock_timestamp() AND ${DUE}
     ORDER BY o.priority, o.available_at, o.id
     LIMIT $5
     FOR UPDATE SKIP LOCKED
  )
  UPDATE "${s}".outbox o
     SET claimed_by = $1, claimed_at = clock_timestamp(), claimed_version = o.version
    FROM due WHERE o.id = due.id
  RETURNING o.id, o.entity, o.twenty_id, o.op, o.priority, o.version, o.attempts, o.changed_at`;

/** Done: drops the rows of worker $1 among ids $2 whose version did not move since the claim. */
export const deleteSentOutbox = (s: string) => `
  DELETE FROM "${s}".outbox WHERE id = ANY($2::bigint[]) AND claimed_by = $1 AND version = claimed_version
  RETURNING id`;

/** Releases worker $1's claims on ids $2 (a newer version goes out on the next pass). */
export const releaseClaims = (s: string) => `
  UPDATE "${s}".outbox SET claimed_by = NULL, claimed_at = NULL, claimed_version = NULL
   WHERE id = ANY($2::bigint[]) AND claimed_by = $1`;

/** Releases worker $1's claims except ids $2 (those of its running cycles): claims whose answer was lost. */
export const releaseOwnClaimsExcept = (s: string) => `
  UPDATE "${s}".outbox SET claimed_by = NULL, claimed_at = NULL, claimed_version = NULL
   WHERE claimed_by = $1 AND NOT (id = ANY($2::bigint[]))`;

/**
 * A failed attempt: $2 ids, $3 backoff ms per id, $4 error per id. Attempts only count for the version
 * that failed; a record changed since starts again (its new state may well be valid).
 */
export const scheduleRetries = (s: string) => `
  UPDATE "${s}".outbox o
     SET attempts = CASE WHEN o.version = o.claimed_version THEN o.attempts + 1 ELSE 0 END,
         available_at = clock_timestamp() + make_interval(secs => r.delay_ms / 1000.0),
         last_error = r.error,
         claimed_by = NULL, claimed_at = NULL, claimed_version = NULL
    FROM unnest($2::bigint[], $3::double precision[], $4::text[]) AS r(id, delay_ms, error)
   WHERE o.id = r.id AND o.claimed_by = $1`;

/** Enqueues (or bumps) records by hand: $1 entity, $2 twenty ids, $3 priority, $4 op. */
export const enqueueRecords = (s: string) => `
  INSERT INTO "${s}".outbox (entity, twenty_id, op, priority)
  SELECT $1, id, $4, $3 FROM unnest($2::text[]) AS id
  ON CONFLICT (entity, twenty_id) DO UPDATE
     SET version = "${s}".outbox.version + 1, op = EXCLUDED.op, changed_at = clock_timestamp(),
         available_at = LEAST("${s}".outbox.available_at, clock_timestamp())`;

export const pendingCounts = (s: string) => `
  SELECT priority, count(*)::int AS n, extract(epoch FROM clock_timestamp() - min(changed_at))::float8 AS oldest
    FROM "${s}".outbox GROUP BY priority`;

/** Rows that can still be sent (rows held for a person's review wait outside this count). */
export const outboxSize = (s: string) => `SELECT count(*)::int AS n FROM "${s}".outbox WHERE NOT held`;

export const lastDeadLetterId = (s: string) =>
  `SELECT coalesce(max(id), 0)::bigint AS id FROM "${s}".dead_letters`;

/** Seconds until the next row could become due ($2/$3 as in DUE); NULL when the outbox is empty. */
export const nextDueInSeconds = (s: string) => `
  SELECT extract(epoch FROM min(GREATEST(o.available_at, CASE o.priority
           WHEN 0 THEN o.enqueued_at
           WHEN 1 THEN o.enqueued_at + make_interval(secs => $1::double precision)
           WHEN 2 THEN date_bin('5 minutes', o.enqueued_at, timestamptz 'epoch') + interval '5 minutes'
           ELSE (date_trunc('day', (o.enqueued_at AT TIME ZONE 'UTC') - make_interval(hours => $2::int))
                  + interval '1 day' + make_interval(hours => $2::int)) AT TIME ZONE 'UTC' END)) - clock_timestamp())::float8 AS s
    FROM "${s}".outbox o WHERE o.claimed_by IS NULL AND NOT o.held`;

// ───────────────────────────── dead_letters (write-back) ─────────────────────────────

/** Moves worker $1's claimed rows $2 to dead_letters with errors $3, unless their version moved. */
export const deadLetterOutbox = (s: string) => `
  WITH gone AS (
    DELETE FROM "${s}".outbox o
     USING unnest($2::bigint[], $3::text[]) AS r(id, error)
     WHERE o.id = r.id AND o.claimed_by = $1 AND o.version = o.claimed_version
    RETURNING o.entity, o.twenty_id, o.op, o.priority, r.error, o.attempts + 1 AS attempts
  )
  INSERT INTO "${s}".dead_letters (entity, twenty_id, op, priority, error, attempts)
  SELECT entity, twenty_id, op, priority, error, attempts FROM gone
  RETURNING id, entity, twenty_id, error`;

export const selectDeadLetters = (s: string) => `
  SELECT id::int AS id, entity, twenty_id, op, priority, error, attempts, failed_at
    FROM "${s}".dead_letters
   WHERE ($1::text IS NULL OR entity = $1) AND ($2::text IS NULL OR twenty_id = $2)
     AND ($3::bigint IS NULL OR id > $3)
   ORDER BY id`;

/** Re-queues dead letters (filtered by $1 entity, $2 ids) as fresh outbox rows, then removes them. */
export const requeueDeadLetters = (s: string) => `
  WITH picked AS (
    DELETE FROM "${s}".dead_letters
     WHERE ($1::text IS NULL OR entity = $1) AND ($2::bigint[] IS NULL OR id = ANY($2::bigint[]))
    RETURNING entity, twenty_id, op, priority
  ), queued AS (
    INSERT INTO "${s}".outbox (entity, twenty_id, op, priority)
    SELECT DISTINCT ON (entity, twenty_id) entity, twenty_id, op, priority FROM picked
    ON CONFLICT (entity, twenty_id) DO UPDATE SET version = "${s}".outbox.version + 1, attempts = 0,
       available_at = clock_timestamp()
    RETURNING 1
  )
  SELECT (SELECT count(*) FROM picked)::int AS n`;

// ───────────────────────────── sync_state (write-back) ─────────────────────────────

/** A row of `sync_state`: per record, the SharePoint item, the version SharePoint acknowledged, sends in flight. */
export interface SyncStateRow {
  entity: string;
  twenty_id: string;
  list_id: string;
  item_id: string | null;
  etag: string | null;
  content_hash: string | null;
  /** The mapped field values SharePoint holds (as last read or acknowledged). */
  fields: Record<string, unknown> | null;
  /** Field values sent whose answer is not recorded yet (the last few). */
  pending: Record<string, unknown>[] | null;
}

export const selectSyncState = (s: string) => `
  SELECT entity, twenty_id, list_id, item_id, etag, content_hash, fields, pending
    FROM "${s}".sync_state
   WHERE (entity, twenty_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`;

/**
 * Before sending, records what is about to be sent (`pending`) and, for creates, a marker row with no item
 * id: a later delete of a record whose create response was lost still finds the item (decision 4), and a
 * 412 caused by our own lost write is recognised as an echo instead of a conflict (decision 8).
 */
export const recordPending = (s: string) => `
  INSERT INTO "${s}".sync_state (entity, twenty_id, list_id, pending)
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[])
  ON CONFLICT (entity, twenty_id) DO UPDATE SET pending = EXCLUDED.pending`;

/** The version in a SharePoint item eTag (`"{guid},7"` → 7); -1 when it has none. */
const etagVersion = (etag: string) => `COALESCE(substring(${etag} from ',(\\d+)"?$')::bigint, -1)`;

/**
 * The `SET` of an upsert into sync_state that never goes back in time: when the stored row already holds a
 * later version of the same item (a pull applied a person's edit while our send's answer was on its way),
 * its eTag, fields and hash stay. Writing the older eTag back would make the next local edit meet a 412
 * that looks like a conflict, and the policy could drop that edit.
 */
export function syncStateNewerWins(table: string): string {
  const keep = `(${table}.item_id = EXCLUDED.item_id AND ${table}.list_id = EXCLUDED.list_id
                 AND ${etagVersion(`${table}.etag`)} > ${etagVersion('EXCLUDED.etag')})`;
  return `list_id = EXCLUDED.list_id, item_id = EXCLUDED.item_id,
          etag = CASE WHEN ${keep} THEN ${table}.etag ELSE EXCLUDED.etag END,
          fields = CASE WHEN ${keep} THEN ${table}.fields ELSE EXCLUDED.fields END,
          content_hash = CASE WHEN ${keep} THEN ${table}.content_hash ELSE EXCLUDED.content_hash END,
          synced_at = EXCLUDED.synced_at`;
}

/** After a successful send: item id, eTag, the fields SharePoint now holds, and their hash. */
export const upsertSyncState = (s: string) => `
  INSERT INTO "${s}".sync_state AS st (entity, twenty_id, list_id, item_id, etag, fields, content_hash, pending, synced_at)
  SELECT e, t, l, i, et, f, h, NULL, clock_timestamp()
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::text[]) AS r(e, t, l, i, et, f, h)
  ON CONFLICT (entity, twenty_id) DO UPDATE SET ${syncStateNewerWins('st')}, pending = NULL`;

/** Bulk upsert from a load ($1 entity, $2 list id, $3 jsonb array of {twenty_id, item_id, etag, fields, content_hash}). */
export const upsertLoadedSyncStates = (s: string) => `
  INSERT INTO "${s}".sync_state AS st (entity, twenty_id, list_id, item_id, etag, fields, content_hash, synced_at)
  SELECT $1, r.twenty_id, $2, r.item_id, r.etag, r.fields, r.content_hash, clock_timestamp()
    FROM jsonb_to_recordset($3::jsonb) AS r(twenty_id text, item_id text, etag text, fields jsonb, content_hash text)
  ON CONFLICT (entity, twenty_id) DO UPDATE SET ${syncStateNewerWins('st')}`;

/** sync_state of one entity ($1) for the TwentyIds $2. */
export const selectSyncStatesOf = (s: string) => `
  SELECT entity, twenty_id, list_id, item_id, etag, content_hash, fields, pending FROM "${s}".sync_state
   WHERE entity = $1 AND twenty_id = ANY($2::text[])`;

/** Removes the sync_state of one entity ($1) for the TwentyIds $2. */
export const deleteSyncStatesOf = (s: string) =>
  `DELETE FROM "${s}".sync_state WHERE entity = $1 AND twenty_id = ANY($2::text[])`;

/** item id → TwentyId for items ($2) of one list ($1): delta deletions carry only the item id. */
export const twentyIdsOfItems = (s: string) =>
  `SELECT item_id, twenty_id FROM "${s}".sync_state WHERE list_id = $1 AND item_id = ANY($2::text[])`;

export const deleteSyncState = (s: string) => `
  DELETE FROM "${s}".sync_state WHERE (entity, twenty_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`;

/**
 * The sync state of records whose item is gone from SharePoint (our delete answered, or SharePoint's delete
 * won), remembering each item as deleted: a load or relation fetch that read the item before it went must not
 * store it again (its entry is stale, not a restore). $1 entities, $2 TwentyIds. Tombstones older than a day
 * are dropped on the way: no read runs that long.
 */
export const forgetDeletedItems = (s: string) => `
  WITH gone AS (
    DELETE FROM "${s}".sync_state WHERE (entity, twenty_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
    RETURNING list_id, item_id
  ), expired AS (
    DELETE FROM "${s}".deleted_items WHERE deleted_at < clock_timestamp() - interval '1 day'
  )
  INSERT INTO "${s}".deleted_items (list_id, item_id)
  SELECT list_id, item_id FROM gone WHERE item_id IS NOT NULL
  ON CONFLICT (list_id, item_id) DO UPDATE SET deleted_at = EXCLUDED.deleted_at`;

/** Of the items $2 of list $1, those deleted (by the write-back's view) after $3, a read's start. */
export const itemsDeletedSince = (s: string) => `
  SELECT item_id FROM "${s}".deleted_items WHERE list_id = $1 AND item_id = ANY($2::text[]) AND deleted_at >= $3`;

/** The database's clock: when a read begins, to compare with `deleted_items.deleted_at`. */
export const databaseNow = 'SELECT clock_timestamp() AS t';

/** $7 resolution (NULL: open, waiting for a person); $8 remote eTag, $9 remote modified, $10 local change time. */
export const insertConflict = (s: string) => `
  INSERT INTO "${s}".conflicts (entity, twenty_id, policy, reason, local, remote, resolved_at, resolution,
                                remote_etag, remote_modified_at, local_changed_at)
  VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, CASE WHEN $7::text IS NULL THEN NULL ELSE clock_timestamp() END, $7,
          $8, $9::timestamptz, $10::timestamptz)
  RETURNING id`;

/** Parks a record's outbox row for a person (manualReview): released from any claim, never sent while held. */
export const holdOutbox = (s: string) => `
  UPDATE "${s}".outbox SET held = true, claimed_by = NULL, claimed_at = NULL, claimed_version = NULL
   WHERE entity = $1 AND twenty_id = $2`;

/** Releases a held record (its conflict was resolved for the local version). */
export const releaseHeld = (s: string) => `
  UPDATE "${s}".outbox SET held = false, available_at = clock_timestamp(), attempts = 0
   WHERE entity = $1 AND twenty_id = $2`;

/** Drops a record's outbox row (its conflict was resolved for SharePoint's version). */
export const dropOutboxRecord = (s: string) =>
  `DELETE FROM "${s}".outbox WHERE entity = $1 AND twenty_id = $2`;

/** Outbox rows of some records of one entity: $1 entity, $2 TwentyIds. */
/** An open conflict ($1 id), locked for its resolution. */
export const lockOpenConflict = (s: string) =>
  `SELECT * FROM "${s}".conflicts WHERE id = $1 AND resolved_at IS NULL FOR UPDATE`;

export const selectConflict = (s: string) => `SELECT * FROM "${s}".conflicts WHERE id = $1`;

export const outboxRowsFor = (s: string) => `
  SELECT twenty_id, op, held, changed_at FROM "${s}".outbox WHERE entity = $1 AND twenty_id = ANY($2::text[])`;

/** Open conflicts of some records of one entity. */
export const openConflictsFor = (s: string) => `
  SELECT id, twenty_id FROM "${s}".conflicts WHERE entity = $1 AND twenty_id = ANY($2::text[]) AND resolved_at IS NULL`;

/** A newer SharePoint version of a record already parked for review. */
export const updateOpenConflictRemote = (s: string) => `
  UPDATE "${s}".conflicts SET remote = $2::jsonb, remote_etag = $3, remote_modified_at = $4::timestamptz
   WHERE id = $1 AND resolved_at IS NULL`;

export const selectConflicts = (s: string) => `
  SELECT id, entity, twenty_id, policy, reason, local, remote, remote_etag, remote_modified_at, local_changed_at,
         detected_at, resolved_at, resolution
    FROM "${s}".conflicts
   WHERE ($1::text IS NULL OR entity = $1) AND ($2::boolean IS NULL OR (resolved_at IS NULL) = $2)
   ORDER BY id`;

export const resolveConflict = (s: string) => `
  UPDATE "${s}".conflicts SET resolved_at = clock_timestamp(), resolution = $2 WHERE id = $1 AND resolved_at IS NULL
  RETURNING id`;

/** Sets what SharePoint holds for a record (after a resolution adopted its eTag). */
export const setSyncEtag = (s: string) => `
  UPDATE "${s}".sync_state SET etag = $3, fields = $4::jsonb WHERE entity = $1 AND twenty_id = $2`;

// ───────────────────────────── subscriptions (webhooks) ─────────────────────────────

export const selectSubscriptions = (s: string) =>
  `SELECT entity, list_id, subscription_id, notification_url, expires_at FROM "${s}".subscriptions`;

export const upsertSubscription = (s: string) => `
  INSERT INTO "${s}".subscriptions (entity, list_id, subscription_id, notification_url, expires_at)
  VALUES ($1, $2, $3, $4, $5::timestamptz)
  ON CONFLICT (entity) DO UPDATE SET list_id = EXCLUDED.list_id, subscription_id = EXCLUDED.subscription_id,
    notification_url = EXCLUDED.notification_url, expires_at = EXCLUDED.expires_at, renewed_at = clock_timestamp()`;

// ───────────────────────────── cache_state (cache) ─────────────────────────────

/** Lists already in the cache: the only ones the inbound poll refreshes. */
export const loadedEntities = (s: string) =>
  `SELECT entity FROM "${s}".cache_state WHERE loaded_at IS NOT NULL`;

/** Load marker of one list: $1 entity. */
export const selectCacheState = (s: string) => `
  SELECT entity, list_id, loaded_at, delta_link, item_count,
         extract(epoch FROM clock_timestamp() - loaded_at)::float8 AS age_seconds
    FROM "${s}".cache_state WHERE entity = $1`;

/**
 * Records a finished load or refresh: $1 entity, $2 list id, $3 deltaLink, $4 item count (NULL keeps the old
 * one), $5 'full' or 'delta'. `loaded_at` moves on both; `last_load_at` on a full load, `last_pull_at` on a delta.
 */
export const upsertCacheState = (s: string) => `
  WITH now AS (SELECT clock_timestamp() AS at)
  INSERT INTO "${s}".cache_state AS c (entity, list_id, loaded_at, delta_link, item_count, last_load_at, last_pull_at)
  SELECT $1, $2, now.at, $3, $4,
         CASE WHEN $5::text = 'full' THEN now.at END, CASE WHEN $5::text = 'delta' THEN now.at END
    FROM now
  ON CONFLICT (entity) DO UPDATE SET list_id = EXCLUDED.list_id, loaded_at = EXCLUDED.loaded_at,
     delta_link = EXCLUDED.delta_link, item_count = COALESCE(EXCLUDED.item_count, c.item_count),
     last_load_at = COALESCE(EXCLUDED.last_load_at, c.last_load_at),
     last_pull_at = COALESCE(EXCLUDED.last_pull_at, c.last_pull_at)`;

/** Forgets load markers ($1 entities; NULL = all) so the next `ensureLoaded` loads again. */
export const deleteCacheState = (s: string) => `
  DELETE FROM "${s}".cache_state WHERE $1::text[] IS NULL OR entity = ANY($1::text[])`;

/** Advisory lock class for loads: one load of a list at a time across processes. */
export const LOAD_LOCK_CLASS = 0x5350_4c44; // 'SPLD'

// ───────────────────────────── status (facade: `status()` and metrics gauges) ─────────────────────────────

/** Pending changes by priority, the age of the oldest unsent change, dead letters and open conflicts. */
export const statusFigures = (s: string) => `
  SELECT
    (SELECT count(*) FROM "${s}".outbox)::int AS pending,
    (SELECT count(*) FILTER (WHERE priority = 0) FROM "${s}".outbox)::int AS p0,
    (SELECT count(*) FILTER (WHERE priority = 1) FROM "${s}".outbox)::int AS p1,
    (SELECT count(*) FILTER (WHERE priority = 2) FROM "${s}".outbox)::int AS p2,
    (SELECT count(*) FILTER (WHERE priority = 3) FROM "${s}".outbox)::int AS p3,
    COALESCE((SELECT extract(epoch FROM clock_timestamp() - min(changed_at)) FROM "${s}".outbox), 0)::float8 AS lag_seconds,
    (SELECT count(*) FROM "${s}".dead_letters)::int AS dead_letters,
    (SELECT count(*) FROM "${s}".conflicts WHERE resolved_at IS NULL)::int AS open_conflicts`;

/** What the cache knows per list. */
export const cacheStates = (s: string) =>
  `SELECT entity, list_id, loaded_at, item_count FROM "${s}".cache_state`;

// ---------------------------------------------------------------------------------------------------------
// migrate (existing PostgreSQL rows → SharePoint)

/**
 * Queues every row of one table that SharePoint does not hold yet (no sync_state with an item id) and that
 * is not queued already. `$1` entity, `$2` priority; `idSql` is the row's TwentyId expression over alias `e`.
 * Idempotent: re-running after an interruption queues only what is still missing.
 */
export const enqueueUnsyncedRows = (s: string, table: string, idSql: string) => `
  INSERT INTO "${s}".outbox (entity, twenty_id, op, priority)
  SELECT $1, ${idSql}, 'upsert', $2 FROM ${table} e
   WHERE NOT EXISTS (SELECT 1 FROM "${s}".sync_state st
                      WHERE st.entity = $1 AND st.twenty_id = ${idSql} AND st.item_id IS NOT NULL)
  ON CONFLICT (entity, twenty_id) DO NOTHING`;

/** Rows of one table, and how many of them SharePoint already holds (for the plan and the report). */
export const migrationCounts = (s: string, table: string, idSql: string) => `
  SELECT count(*)::int AS rows,
         count(*) FILTER (WHERE EXISTS (SELECT 1 FROM "${s}".sync_state st
                                         WHERE st.entity = $1 AND st.twenty_id = ${idSql}
                                           AND st.item_id IS NOT NULL))::int AS in_share_point
    FROM ${table} e`;

/** Outbox rows of the given entities (migration progress). */
export const outboxSizeFor = (s: string) =>
  `SELECT count(*)::int AS n FROM "${s}".outbox WHERE entity = ANY($1::text[]) AND NOT held`;

// ---------------------------------------------------------------------------------------------------------
// unsent changes (cache, relations): what exists only in PostgreSQL

/** TwentyIds of one entity ($1) among $2 with a change not in SharePoint yet: an outbox row or a dead letter. */
export const unsentRecords = (s: string) => `
  SELECT twenty_id FROM "${s}".outbox WHERE entity = $1 AND twenty_id = ANY($2::text[])
  UNION
  SELECT twenty_id FROM "${s}".dead_letters WHERE entity = $1 AND twenty_id = ANY($2::text[])`;

/** TwentyIds of one entity ($1) among $2 with a change waiting in the outbox (a load must not overwrite them). */
export const outboxRecords = (s: string) =>
  `SELECT twenty_id FROM "${s}".outbox WHERE entity = $1 AND twenty_id = ANY($2::text[])`;

/** Every TwentyId of one entity ($1) with a change waiting in the outbox (verify: not drift, just unsent). */
export const outboxRecordsOf = (s: string) => `SELECT twenty_id FROM "${s}".outbox WHERE entity = $1`;

/**
 * After a full load ($1 entity, $2 the load's start, $3 TwentyIds to keep): rows of `table` that SharePoint
 * once held (a sync_state older than the load) and no longer returned, with nothing unsent.
 */
export const staleRecords = (s: string, table: string, idSql: string) => `
  SELECT ${idSql} AS id FROM ${table} e
   WHERE EXISTS (SELECT 1 FROM "${s}".sync_state st
                  WHERE st.entity = $1 AND st.twenty_id = ${idSql} AND st.synced_at < $2)
     AND NOT EXISTS (SELECT 1 FROM "${s}".outbox o WHERE o.entity = $1 AND o.twenty_id = ${idSql})
     AND NOT (${idSql} = ANY($3::text[]))`;

/** The sync_state that goes with `staleRecords` (same parameters). */
export const deleteStaleSyncStates = (s: string) => `
  DELETE FROM "${s}".sync_state st WHERE st.entity = $1 AND st.synced_at < $2
     AND NOT EXISTS (SELECT 1 FROM "${s}".outbox o WHERE o.entity = $1 AND o.twenty_id = st.twenty_id)
     AND NOT (st.twenty_id = ANY($3::text[]))`;

/** rebuild --force: the unsent changes of the entities $1, discarded. */
export const discardOutbox = (s: string) => `DELETE FROM "${s}".outbox WHERE entity = ANY($1::text[])`;
/** rebuild --force: the dead letters of the entities $1, discarded. */
export const discardDeadLettersOfEntities = (s: string) =>
  `DELETE FROM "${s}".dead_letters WHERE entity = ANY($1::text[])`;
/** rebuild: what was known of the entities $1 in SharePoint. */
export const deleteSyncStatesOfEntities = (s: string) =>
  `DELETE FROM "${s}".sync_state WHERE entity = ANY($1::text[])`;

/** Unsent changes per entity among $1: outbox rows (held ones included) and dead letters. */
export const unsentCounts = (s: string) => `
  SELECT entity, sum(outbox)::int AS outbox, sum(dead)::int AS dead FROM (
    SELECT entity, 1 AS outbox, 0 AS dead FROM "${s}".outbox WHERE entity = ANY($1::text[])
    UNION ALL
    SELECT entity, 0, 1 FROM "${s}".dead_letters WHERE entity = ANY($1::text[])
  ) u GROUP BY entity ORDER BY entity`;

// ───────────────────────────── site_binding (which site a schema caches) ─────────────────────────────

export const selectSiteBinding = (s: string) =>
  `SELECT site_id, site, workspace, list_ids FROM "${s}".site_binding`;

/** Binds an unbound schema: $1 site id, $2 host:/path, $3 workspace (or NULL), $4 list ids (jsonb). */
export const insertSiteBinding = (s: string) => `
  INSERT INTO "${s}".site_binding (site_id, site, workspace, list_ids) VALUES ($1, $2, $3, $4::jsonb)
  ON CONFLICT (singleton) DO NOTHING`;

/** Adds list ids ($1 jsonb entity → list id) and the workspace ($2, when unset) to the binding. */
export const updateSiteBinding = (s: string) => `
  UPDATE "${s}".site_binding SET list_ids = list_ids || $1::jsonb, workspace = COALESCE(workspace, $2)`;

/** List ids the cache already holds rows of (schemas bound before site_binding existed). */
export const cachedListIds = (s: string) =>
  `SELECT entity, list_id FROM "${s}".cache_state WHERE list_id IS NOT NULL`;

// ═════════════════ budget ledger (issue 19, owner: scale) — one resource-unit budget across processes ═════════════════
// The ledger lives in its own schema (default `sharepoint_budget`), shared by every schema and process of the
// database: workspaces of one tenant sit in different schemas but spend one budget. Times are the database's
// clock (clock_timestamp()), so processes on machines with different clocks agree.

/** The budget's row, locked for this transaction; $1 key. Times in epoch ms; `used_today` sums the minutes. */
export const lockLedger = (s: string) => `
  SELECT b.tokens, extract(epoch FROM b.refilled_at) * 1000 AS refilled_ms,
         extract(epoch FROM b.paused_until) * 1000 AS paused_ms, b.throttled, b.waiting,
         extract(epoch FROM clock_timestamp()) * 1000 AS now_ms,
         (SELECT coalesce(sum(m.units), 0) FROM "${s}".budget_minutes m
           WHERE m.key = b.key AND m.minute > clock_timestamp() - interval '24 hours') AS used_today
    FROM "${s}".budget b WHERE b.key = $1 FOR UPDATE OF b`;

/** Creates the budget's row when missing ($1 key); the first lease fills the bucket. */
export const insertLedger = (s: string) => `
  INSERT INTO "${s}".budget (key, tokens, refilled_at) VALUES ($1, 0, clock_timestamp())
  ON CONFLICT (key) DO NOTHING`;

/** $1 key, $2 tokens, $3 refilled (epoch ms), $4 paused until (epoch ms), $5 throttles, $6 waiting holders (json). */
export const updateLedger = (s: string) => `
  UPDATE "${s}".budget SET tokens = $2, refilled_at = to_timestamp($3::double precision / 1000),
         paused_until = to_timestamp($4::double precision / 1000), throttled = $5, waiting = $6::jsonb
   WHERE key = $1`;

/** Adds $2 units (negative: given back) to the current minute of key $1, and forgets minutes older than a day. */
export const recordLedgerMinute = (s: string) => `
  WITH gone AS (
    DELETE FROM "${s}".budget_minutes WHERE key = $1 AND minute < clock_timestamp() - interval '25 hours'
  )
  INSERT INTO "${s}".budget_minutes (key, minute, units)
  VALUES ($1, date_trunc('minute', clock_timestamp()), $2)
  ON CONFLICT (key, minute) DO UPDATE SET units = "${s}".budget_minutes.units + EXCLUDED.units`;

/** Units spent in the last minute and day, throttles and the pause left (ms) of key $1. */
export const ledgerFigures = (s: string) => `
  SELECT coalesce((SELECT sum(units) FROM "${s}".budget_minutes
                    WHERE key = $1 AND minute > clock_timestamp() - interval '1 minute'), 0) AS used_minute,
         coalesce((SELECT sum(units) FROM "${s}".budget_minutes
                    WHERE key = $1 AND minute > clock_timestamp() - interval '24 hours'), 0) AS used_today,
         coalesce((SELECT throttled FROM "${s}".budget WHERE key = $1), 0) AS throttled,
         greatest(0, coalesce((SELECT extract(epoch FROM paused_until - clock_timestamp()) * 1000
                                 FROM "${s}".budget WHERE key = $1), 0)) AS paused_for_ms`;

// ───────────────────────────── console (operator console, src/console) ─────────────────────────────

/**
 * Discards dead letters (filtered by $1 entity, $2 ids) without sending them: the records keep their local
 * state in PostgreSQL, and SharePoint keeps its own. Returns how many.
 */
export const discardDeadLetters = (s: string) => `
  WITH gone AS (
    DELETE FROM "${s}".dead_letters
     WHERE ($1::text IS NULL OR entity = $1) AND ($2::bigint[] IS NULL OR id = ANY($2::bigint[]))
    RETURNING id
  )
  SELECT count(*)::int AS n FROM gone`;

/** Per list: pending changes (held ones too), age of the oldest unsent change, dead letters, open conflicts. */
export const listFigures = (s: string) => `
  WITH o AS (
    SELECT entity, count(*)::int AS pending, count(*) FILTER (WHERE held)::int AS held,
           extract(epoch FROM clock_timestamp() - min(changed_at))::float8 AS oldest_seconds
      FROM "${s}".outbox GROUP BY entity
  ), d AS (
    SELECT entity, count(*)::int AS dead_letters FROM "${s}".dead_letters GROUP BY entity
  ), c AS (
    SELECT entity, count(*)::int AS open_conflicts FROM "${s}".conflicts WHERE resolved_at IS NULL GROUP BY entity
  )
  SELECT entity, COALESCE(o.pending, 0) AS pending, COALESCE(o.held, 0) AS held,
         COALESCE(o.oldest_seconds, 0)::float8 AS oldest_seconds,
         COALESCE(d.dead_letters, 0) AS dead_letters, COALESCE(c.open_conflicts, 0) AS open_conflicts
    FROM o FULL JOIN d USING (entity) FULL JOIN c USING (entity)`;

// ───────────────────────────── metrics (per-list gauges, src/metrics) ─────────────────────────────

/**
 * The per-list gauges' counts (`ListGaugeRow`), one row per table, list and priority: pending changes and the
 * age of the oldest (held ones too, as `statusFigures`), dead letters, open conflicts, and the last load or
 * pull of each list as Unix seconds. Their sums are `statusFigures`' totals.
 */
export const listGaugeFigures = (s: string) => `
  SELECT 'outbox' AS kind, entity, priority::int AS priority, count(*)::int AS n,
         extract(epoch FROM clock_timestamp() - min(changed_at))::float8 AS seconds
    FROM "${s}".outbox GROUP BY entity, priority
  UNION ALL
  SELECT 'dead_letters', entity, priority::int, count(*)::int, NULL::float8
    FROM "${s}".dead_letters GROUP BY entity, priority
  UNION ALL
  SELECT 'conflicts', entity, NULL::int, count(*)::int, NULL::float8
    FROM "${s}".conflicts WHERE resolved_at IS NULL GROUP BY entity
  UNION ALL
  SELECT 'cache_state', entity, NULL::int, NULL::int, extract(epoch FROM loaded_at)::float8
    FROM "${s}".cache_state WHERE loaded_at IS NOT NULL`;

// ───────────────────────────── console: per-list loads and a workspace's figures (src/console) ─────────────────────────────

/**
 * Per list: the last full load and the last pull (delta) apart (migration 5; a list last loaded before it has
 * only `loaded_at`), and the records SharePoint holds now as this cache knows them: those mapped to an item
 * (loaded, or written back).
 */
export const listLoads = (s: string) => `
  WITH i AS (
    SELECT entity, count(*)::int AS items FROM "${s}".sync_state WHERE item_id IS NOT NULL GROUP BY entity
  )
  SELECT entity, c.loaded_at, c.last_load_at, c.last_pull_at, COALESCE(i.items, 0) AS items
    FROM "${s}".cache_state c FULL JOIN i USING (entity)`;

/**
 * Whether schema $1 holds the tables `statusFigures` reads: a workspace that was never attached has none, and
 * its figures are read without attaching it (the Workspaces page).
 */
export const hasStatusTables = `
  SELECT to_regclass(format('%I.outbox', $1::text)) IS NOT NULL
     AND to_regclass(format('%I.dead_letters', $1::text)) IS NOT NULL
     AND to_regclass(format('%I.conflicts', $1::text)) IS NOT NULL AS ready`;
