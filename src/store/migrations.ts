import type { DataSource } from 'typeorm';
import { type Db, execute, rows, transaction } from './db.js';

/**
 * The library's own tables. Each entry is applied once, in order, and recorded in `migrations`.
 * Append new versions; never edit an applied one (users' databases already hold it).
 * Long by nature: it is a list of statements (data), one entry per version, not logic to split.
 */
export function migrationsFor(schema: string): { version: number; description: string; sql: string[] }[] {
  const s = `"${schema}"`;
  return [
    {
      version: 1,
      description: 'outbox, sync_state, cache_state, conflicts, dead_letters',
      sql: [
        // One pending row per record: later changes bump `version` instead of adding rows, so the worker
        // sends the record's current state once (state, not events). A claim is a short UPDATE, never a
        // lock held during HTTP, so application writes to the same record never wait for a send.
        `CREATE TABLE ${s}.outbox (
           id bigserial PRIMARY KEY,
           entity text NOT NULL,
           twenty_id text NOT NULL,
           op text NOT NULL CHECK (op IN ('upsert', 'delete')),
           priority smallint NOT NULL CHECK (priority BETWEEN 0 AND 3),
           version integer NOT NULL DEFAULT 1,
           enqueued_at timestamptz NOT NULL DEFAULT clock_timestamp(),
           changed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
           available_at timestamptz NOT NULL DEFAULT clock_timestamp(),
           attempts integer NOT NULL DEFAULT 0,
           last_error text,
           claimed_by integer,
           claimed_at timestamptz,
           claimed_version integer,
           UNIQUE (entity, twenty_id)
         )`,
        `CREATE INDEX outbox_due ON ${s}.outbox (priority, available_at) WHERE claimed_by IS NULL`,
        `CREATE TABLE ${s}.sync_state (
           entity text NOT NULL,
           twenty_id text NOT NULL,
           list_id text NOT NULL,
           item_id text,
           etag text,
           content_hash text,
           fields jsonb,
           synced_at timestamptz NOT NULL DEFAULT clock_timestamp(),
           PRIMARY KEY (entity, twenty_id)
         )`,
        `CREATE INDEX sync_state_item ON ${s}.sync_state (list_id, item_id)`,
        `CREATE TABLE ${s}.cache_state (
           entity text PRIMARY KEY,
           list_id text,
           loaded_at timestamptz,
           delta_link text,
           item_count integer
         )`,
        `CREATE TABLE ${s}.conflicts (
           id bigserial PRIMARY KEY,
           entity text NOT NULL,
           twenty_id text NOT NULL,
           policy text NOT NULL,
           reason text NOT NULL,
           local jsonb,
           remote jsonb,
           detected_at timestamptz NOT NULL DEFAULT clock_timestamp(),
           resolved_at timestamptz,
           resolution text
         )`,
        `CREATE INDEX conflicts_open ON ${s}.conflicts (entity, twenty_id) WHERE resolved_at IS NULL`,
        `CREATE TABLE ${s}.dead_letters (
           id bigserial PRIMARY KEY,
           entity text NOT NULL,
           twenty_id text NOT NULL,
           op text NOT NULL,
           priority smallint NOT NULL,
           error text NOT NULL,
           attempts integer NOT NULL,
           failed_at timestamptz NOT NULL DEFAULT clock_timestamp()
         )`,
        `CREATE INDEX dead_letters_record ON ${s}.dead_letters (entity, twenty_id)`,
      ],
    },
    {
      version: 2,
      description:
        'sync_state.pending: fields a write-back is sending (echo vs conflict after a lost response)',
      sql: [`ALTER TABLE ${s}.sync_state ADD COLUMN pending jsonb`],
    },
    {
      version: 3,
      description: 'inbound: held outbox rows (manual review), conflict versions, webhook subscriptions',
      sql: [
        // A record parked for a person (manualReview) keeps its outbox row, held: never claimed, never sent,
        // and later local edits stay held with it, until the conflict is resolved.
        `ALTER TABLE ${s}.outbox ADD COLUMN held boolean NOT NULL DEFAULT false`,
        `ALTER TABLE ${s}.conflicts ADD COLUMN remote_etag text`,
        `ALTER TABLE ${s}.conflicts ADD COLUMN remote_modified_at timestamptz`,
        `ALTER TABLE ${s}.conflicts ADD COLUMN local_changed_at timestamptz`,
        `CREATE TABLE ${s}.subscriptions (
           entity text PRIMARY KEY,
           list_id text NOT NULL,
           subscription_id text NOT NULL,
           notification_url text NOT NULL,
           expires_at timestamptz NOT NULL,
           renewed_at timestamptz NOT NULL DEFAULT clock_timestamp()
         )`,
      ],
    },
    {
      version: 4,
      description: 'site_binding: the site (and list ids) whose records this schema caches',
      sql: [
        // One row: a schema caches one site. Attaching it to another would send its rows there (issue 21.4).
        `CREATE TABLE IF NOT EXISTS ${s}.site_binding (
           singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
           site_id text NOT NULL,
           site text NOT NULL,
           workspace text,
           list_ids jsonb NOT NULL DEFAULT '{}'::jsonb,
           bound_at timestamptz NOT NULL DEFAULT clock_timestamp()
         )`,
      ],
    },
    {
      version: 5,
      description: 'cache_state: the last full load and the last pull (delta) of each list, apart',
      sql: [
        `ALTER TABLE ${s}.cache_state ADD COLUMN last_load_at timestamptz, ADD COLUMN last_pull_at timestamptz`,
      ],
    },
    {
      version: 6,
      description:
        'deleted_items: items the write-back saw deleted, so that a read begun before cannot bring them back',
      sql: [
        `CREATE TABLE ${s}.deleted_items (
           list_id text NOT NULL,
           item_id text NOT NULL,
           deleted_at timestamptz NOT NULL DEFAULT clock_timestamp(),
           PRIMARY KEY (list_id, item_id)
         )`,
        `CREATE INDEX deleted_items_at ON ${s}.deleted_items (deleted_at)`,
      ],
    },
  ];
}

/**
 * The budget ledger's schema (default `sharepoint_budget`): one per database, shared by every schema and
 * process (issue 19). Its own list, applied by `migrate(dataSource, schema, budgetLedgerMigrations(schema))`.
 */
export function budgetLedgerMigrations(
  schema: string,
): { version: number; description: string; sql: string[] }[] {
  const s = `"${schema}"`;
  return [
    {
      version: 1,
      description: 'budget ledger: one resource-unit bucket and pause per tenant and application',
      sql: [
        `CREATE TABLE IF NOT EXISTS ${s}.budget (
           key text PRIMARY KEY,
           tokens double precision NOT NULL,
           refilled_at timestamptz NOT NULL,
           paused_until timestamptz NOT NULL DEFAULT '-infinity',
           throttled bigint NOT NULL DEFAULT 0
         )`,
        // Units leased per minute (given-back units subtract): the last 24 hours are the daily figure.
        `CREATE TABLE IF NOT EXISTS ${s}.budget_minutes (
           key text NOT NULL,
           minute timestamptz NOT NULL,
           units bigint NOT NULL,
           PRIMARY KEY (key, minute)
         )`,
      ],
    },
    {
      version: 2,
      description: 'budget ledger: holders waiting for units, first come first served (no starvation)',
      sql: [`ALTER TABLE ${s}.budget ADD COLUMN IF NOT EXISTS waiting jsonb NOT NULL DEFAULT '[]'`],
    },
  ];
}

// Any fixed pair works; it only has to be the same in every process that migrates this schema.
const MIGRATION_LOCK_CLASS = 0x5350_5359; // 'SPSY'

/**
 * Creates or upgrades the library's schema. Safe to call from many processes at once: an advisory
 * transaction lock serialises them, and applied versions are skipped.
 */
export async function migrate(
  dataSource: DataSource,
  schema: string,
  list: { version: number; description: string; sql: string[] }[] = migrationsFor(schema),
): Promise<{ applied: number[] }> {
  return transaction(dataSource, async (runner) => {
    await execute(runner, 'SELECT pg_advisory_xact_lock($1, hashtext($2))', [MIGRATION_LOCK_CLASS, schema]);
    await execute(runner, `CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await execute(
      runner,
      `CREATE TABLE IF NOT EXISTS "${schema}".migrations (
         version integer PRIMARY KEY,
         description text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT clock_timestamp()
       )`,
    );
    const done = new Set(
      (await rows<{ version: number }>(runner, `SELECT version FROM "${schema}".migrations`)).map(
        (r) => r.version,
      ),
    );
    const applied: number[] = [];
    for (const migration of list) {
      if (done.has(migration.version)) continue;
      for (const statement of migration.sql) await execute(runner, statement);
      await execute(runner, `INSERT INTO "${schema}".migrations (version, description) VALUES ($1, $2)`, [
        migration.version,
        migration.description,
      ]);
      applied.push(migration.version);
    }
    return { applied };
  });
}

export async function schemaVersion(db: Db, schema: string): Promise<number> {
  const found = await rows<{ v: number | null }>(
    db,
    `SELECT max(version) AS v FROM "${schema}".migrations`,
  ).catch(() => [{ v: null }]);
  return found[0]?.v ?? 0;
}
