import { createHash } from 'node:crypto';
import type { DataSource, QueryRunner } from 'typeorm';
import { CaptureInstallError } from '../errors/index.js';
import {
  keepsEverything,
  keptColumns,
  keyColumns,
  type ListSchema,
  quoteTablePath,
} from '../schema/index.js';
import { type Db, execute, isLockConflict, rows, transaction, yieldingTransaction } from './db.js';
import { boundedIdentifier, truncatedIdentifier } from './identifiers.js';

/**
 * The capture trigger (decision 1) and its suppression flag: the trigger on each synced table writes the
 * outbox that write-back empties; the library's own writes (loads, inbound changes, relation fetches,
 * write-back's 412 path) run with capture suppressed (decision 7).
 */

/** Transaction-local setting that makes the capture trigger skip rows (cache loads, inbound changes). */
export const SUPPRESS_SETTING = 'typeorm_sharepoint.suppress';

/**
 * The triggers' WHEN condition: PostgreSQL evaluates it without calling the function, and for the AFTER trigger
 * before queueing an event, so the library's own bulk writes (capture suppressed) cost no plpgsql call and no
 * after-trigger event per row. The functions check the flag too.
 */
const NOT_SUPPRESSED = `current_setting('${SUPPRESS_SETTING}', true) IS DISTINCT FROM 'on'`;

/**
 * Marks the runner's current transaction as "written by the library": the capture trigger ignores its rows,
 * so loading from SharePoint never echoes back. Call it inside the transaction (the flag ends with it).
 */
export async function suppressCapture(runner: QueryRunner): Promise<void> {
  await runner.query(`SELECT set_config('${SUPPRESS_SETTING}', 'on', true)`);
}

/** Channel the trigger notifies for P0 rows (delivered on commit only); within 63 bytes for any schema name. */
export function notifyChannel(schema: string): string {
  return boundedIdentifier(schema, '_outbox');
}

export function priorityNumber(list: Pick<ListSchema, 'priority'>): number {
  return Number(list.priority.slice(1));
}

/** Name of the capture trigger on each synced table; within 63 bytes for any schema name. */
export function captureTriggerName(schema: string): string {
  return boundedIdentifier(schema, '_capture');
}

/** The name PostgreSQL gave the trigger before names were bounded (truncated), when it differs. */
function legacyTriggerName(schema: string): string | undefined {
  const legacy = truncatedIdentifier(`${schema}_capture`);
  return legacy === captureTriggerName(schema) ? undefined : legacy;
}

const triggerName = captureTriggerName;

/**
 * Name of the BEFORE trigger that rounds a row to what SharePoint keeps (schema/precision.ts, docs/schema.md
 * "What SharePoint keeps"); within 63 bytes for any schema name.
 */
export function keepTriggerName(schema: string): string {
  return boundedIdentifier(schema, '_keep');
}

/**
 * One generic function for every synced table (decision 1). It upserts the record's single outbox row in the
 * writing transaction, so every write path — repositories, QueryBuilder, raw SQL — is captured at no extra
 * round trip. Arguments: entity name, key columns (comma-separated), priority.
 */
function captureFunctionSql(schema: string): string[] {
  const s = `"${schema}"`;
  const channel = notifyChannel(schema).replace(/'/g, "''");
  return [
    `CREATE OR REPLACE FUNCTION ${s}.capture_id(r jsonb, cols text[]) RETURNS text LANGUAGE sql IMMUTABLE AS $f$
       SELECT CASE WHEN cardinality(cols) = 1 THEN r ->> cols[1]
                   ELSE md5((r ->> cols[1]) || ':' || (r ->> cols[2]))::uuid::text END
     $f$`,
    `CREATE OR REPLACE FUNCTION ${s}.capture_change() RETURNS trigger LANGUAGE plpgsql AS $f$
     DECLARE
       entity_name text := TG_ARGV[0];
       cols text[] := string_to_array(TG_ARGV[1], ',');
       prio smallint := TG_ARGV[2]::smallint;
       old_row jsonb;
       new_row jsonb;
       old_id text;
       new_id text;
     BEGIN
       IF current_setting('${SUPPRESS_SETTING}', true) = 'on' THEN RETURN NULL; END IF;
       IF TG_OP <> 'INSERT' THEN old_row := to_jsonb(OLD); old_id := ${s}.capture_id(old_row, cols); END IF;
       IF TG_OP <> 'DELETE' THEN new_row := to_jsonb(NEW); new_id := ${s}.capture_id(new_row, cols); END IF;
       -- jsonb equality: works for every column type (json has no = operator)
       IF TG_OP = 'UPDATE' AND old_row = new_row THEN RETURN NULL; END IF;
       IF old_id IS NOT NULL AND old_id IS DISTINCT FROM new_id THEN
         INSERT INTO ${s}.outbox AS o (entity, twenty_id, op, priority) VALUES (entity_name, old_id, 'delete', prio)
         ON CONFLICT (entity, twenty_id) DO UPDATE
           SET version = o.version + 1, op = 'delete', priority = EXCLUDED.priority, changed_at = clock_timestamp();
       END IF;
       IF new_id IS NOT NULL THEN
         INSERT INTO ${s}.outbox AS o (entity, twenty_id, op, priority) VALUES (entity_name, new_id, 'upsert', prio)
         ON CONFLICT (entity, twenty_id) DO UPDATE
           SET version = o.version + 1, op = 'upsert', priority = EXCLUDED.priority, changed_at = clock_timestamp();
       END IF;
       IF prio = 0 THEN PERFORM pg_notify('${channel}', entity_name); END IF;
       RETURN NULL;
     END
     $f$`,
    // What SharePoint keeps (schema/precision.ts): the row an application commits is the row a rebuild gives
    // back. Argument: {"seconds": [...], "digits15": [...], "json": [...], "emptyText": [...]} column names.
    // Rows the library writes from SharePoint (capture suppressed) already hold what SharePoint keeps.
    `CREATE OR REPLACE FUNCTION ${s}.keep_precision() RETURNS trigger LANGUAGE plpgsql AS $f$
     DECLARE
       cols jsonb := TG_ARGV[0]::jsonb;
       r jsonb;
       patch jsonb := '{}'::jsonb;
       c text;
       v text;
     BEGIN
       IF current_setting('${SUPPRESS_SETTING}', true) = 'on' THEN RETURN NEW; END IF;
       r := to_jsonb(NEW);
       FOR c IN SELECT jsonb_array_elements_text(cols -> 'seconds') LOOP
         v := r ->> c;
         IF v ~ '[.][0-9]' THEN patch := patch || jsonb_build_object(c, regexp_replace(v, '[.][0-9]+', '')); END IF;
       END LOOP;
       FOR c IN SELECT jsonb_array_elements_text(cols -> 'digits15') LOOP
         IF jsonb_typeof(r -> c) = 'number' THEN
           -- float8 -> numeric keeps 15 significant digits (DBL_DIG), as SharePoint's float column does
           patch := patch || jsonb_build_object(c, (r ->> c)::float8::numeric);
         END IF;
       END LOOP;
       FOR c IN SELECT jsonb_array_elements_text(cols -> 'json') LOOP
         IF jsonb_typeof(r -> c) IS DISTINCT FROM 'null' AND r ? c THEN
           patch := patch || jsonb_build_object(c, r -> c);
         END IF;
       END LOOP;
       FOR c IN SELECT jsonb_array_elements_text(cols -> 'emptyText') LOOP
         IF r ->> c = '' THEN patch := patch || jsonb_build_object(c, NULL::text); END IF;
       END LOOP;
       IF patch = '{}'::jsonb THEN RETURN NEW; END IF;
       RETURN jsonb_populate_record(NEW, patch);
     END
     $f$`,
  ];
}

/** Advisory lock class that serialises installs of one schema's capture (concurrent attaches). */
const CAPTURE_LOCK_CLASS = 0x5350_4354; // 'SPCT'

/** The mark stored as a comment on the function and each trigger: what definition it was installed from. */
const mark = (sqlText: string) =>
  `typeorm-sharepoint capture ${createHash('sha256').update(sqlText).digest('hex').slice(0, 32)}`;

interface WantedTrigger {
  table: string;
  name: string;
  /** null: the trigger must not exist (a table with nothing to round). */
  sql: string | null;
  mark: string | null;
}

function wantedTriggers(schema: string, lists: ListSchema[]): WantedTrigger[] {
  return lists.flatMap((list) => {
    const table = quoteTablePath(list.tablePath);
    const args = [list.entityName, keyColumns(list).join(','), String(priorityNumber(list))]
      .map((a) => `'${a.replace(/'/g, "''")}'`)
      .join(', ');
    // CREATE OR REPLACE (PostgreSQL 14+) swaps the definition atomically: never a moment without a trigger.
    const sqlText = `CREATE OR REPLACE TRIGGER "${triggerName(schema)}" AFTER INSERT OR UPDATE OR DELETE ON ${table}
         FOR EACH ROW WHEN (${NOT_SUPPRESSED}) EXECUTE FUNCTION "${schema}".capture_change(${args})`;
    const kept = keptColumns(list);
    const keepSql = keepsEverything(kept)
      ? null
      : `CREATE OR REPLACE TRIGGER "${keepTriggerName(schema)}" BEFORE INSERT OR UPDATE ON ${table}
         FOR EACH ROW WHEN (${NOT_SUPPRESSED}) EXECUTE FUNCTION "${schema}".keep_precision('${JSON.stringify(kept).replace(/'/g, "''")}')`;
    return [
      { table, name: triggerName(schema), sql: sqlText, mark: mark(sqlText) },
      { table, name: keepTriggerName(schema), sql: keepSql, mark: keepSql && mark(keepSql) },
    ];
  });
}

const triggerKey = (table: string, name: string) => `${table}\u0000${name}`;

/**
 * What is installed, read from the catalogs only (no lock on any application table): per table, whether
 * our trigger is there, enabled and marked with the wanted definition, and whether a legacy one remains.
 */
async function installedTriggers(
  db: Db,
  schema: string,
  wanted: WantedTrigger[],
): Promise<Map<string, { current: boolean; legacy: boolean }>> {
  const found = await rows<{
    tbl: string;
    name: string;
    present: boolean;
    note: string | null;
    enabled: string | null;
    legacy: boolean;
  }>(
    db,
    `SELECT c.tbl, c.name, t.oid IS NOT NULL AS present, obj_description(t.oid, 'pg_trigger') AS note,
            t.tgenabled::text AS enabled,
            c.name = $3 AND EXISTS (SELECT 1 FROM pg_trigger l WHERE l.tgrelid = to_regclass(c.tbl) AND l.tgname = $4) AS legacy
       FROM unnest($1::text[], $2::text[]) AS c(tbl, name)
       LEFT JOIN pg_trigger t ON t.tgrelid = to_regclass(c.tbl) AND t.tgname = c.name`,
    [
      wanted.map((w) => w.table),
      wanted.map((w) => w.name),
      triggerName(schema),
      legacyTriggerName(schema) ?? null,
    ],
  );
  const byKey = new Map(found.map((f) => [triggerKey(f.tbl, f.name), f]));
  return new Map(
    wanted.map((w) => {
      const f = byKey.get(triggerKey(w.table, w.name));
      const current = w.sql === null ? !f?.present : f?.note === w.mark && f.enabled === 'O';
      return [triggerKey(w.table, w.name), { current, legacy: f?.legacy ?? false }];
    }),
  );
}

const functionMark = async (db: Db, schema: string): Promise<string | null> =>
  (
    await rows<{ note: string | null }>(
      db,
      `SELECT obj_description(p.oid, 'pg_proc') AS note FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = $1 AND p.proname = 'capture_change'`,
      [schema],
    )
  )[0]?.note ?? null;

/**
 * Installs the capture function and one trigger per synced table, idempotently and without ever leaving a
 * table without its trigger (decision 1): a definition that changed is swapped in place with
 * `CREATE OR REPLACE TRIGGER` (PostgreSQL 14+), and one that did not is not touched at all — an attach of a
 * read-only process (CLI `status`, scale-out) reads the catalogs and takes no lock on application tables.
 * Each function and trigger carries its definition's hash as a comment, so "unchanged" is exact.
 */
export async function installCaptureTriggers(
  dataSource: DataSource,
  schema: string,
  lists: ListSchema[],
): Promise<void> {
  const functions = captureFunctionSql(schema);
  const wantedFunctions = mark(functions.join('\n'));
  const wanted = wantedTriggers(schema, lists);
  const serialise = (runner: QueryRunner) =>
    execute(runner, 'SELECT pg_advisory_xact_lock($1, hashtext($2))', [CAPTURE_LOCK_CLASS, schema]);

  if ((await functionMark(dataSource, schema)) !== wantedFunctions) {
    // Serialised: two concurrent CREATE OR REPLACE FUNCTION may fail with "tuple concurrently updated".
    await transaction(dataSource, async (runner) => {
      await serialise(runner);
      if ((await functionMark(runner, schema)) === wantedFunctions) return;
      for (const statement of functions) await execute(runner, statement);
      await execute(runner, `COMMENT ON FUNCTION "${schema}".capture_change() IS '${wantedFunctions}'`);
    });
  }

  const installed = await installedTriggers(dataSource, schema, wanted);
  for (const w of wanted) {
    const state = installed.get(triggerKey(w.table, w.name));
    if (state?.current && !state.legacy) continue;
    // One table per transaction: a lock on one table is never held while waiting for another's, and the
    // short lock_timeout makes the attach, not the application's writes, wait and try again.
    await yieldingTransaction(
      dataSource,
      async (runner) => {
        await serialise(runner);
        const now = (await installedTriggers(runner, schema, [w])).get(triggerKey(w.table, w.name));
        if (!now?.current && w.sql === null) {
          await execute(runner, `DROP TRIGGER IF EXISTS "${w.name}" ON ${w.table}`);
        } else if (!now?.current) {
          await execute(runner, w.sql!);
          await execute(runner, `COMMENT ON TRIGGER "${w.name}" ON ${w.table} IS '${w.mark}'`);
        }
        const legacy = legacyTriggerName(schema);
        if (legacy && now?.legacy) await execute(runner, `DROP TRIGGER IF EXISTS "${legacy}" ON ${w.table}`);
      },
      { lockTimeoutMs: 200, attempts: 50 },
    ).catch((error: unknown) => {
      throw new CaptureInstallError(
        `typeorm-sharepoint: could not install the capture trigger on ${w.table}: ${(error as Error).message}` +
          (isLockConflict(error) ? ' (other transactions kept the table locked; attach again later)' : ''),
        { cause: error },
      );
    });
  }
}

/** Tables that carry our trigger (for status and tests). */
export async function capturedTables(db: Db, schema: string): Promise<string[]> {
  const found = await rows<{ t: string }>(
    db,
    `SELECT tgrelid::regclass::text AS t FROM pg_trigger WHERE tgname = $1 AND NOT tgisinternal ORDER BY 1`,
    [triggerName(schema)],
  );
  return found.map((r) => r.t);
}
