import { createHash } from 'node:crypto';
import type { QueryRunner } from 'typeorm';
import type { ListSchema } from '../schema/index.js';
import { type Db, execute, rows } from '../store/db.js';
import { boundedIdentifier, truncatedIdentifier } from '../store/identifiers.js';
import { quoteTablePath } from '../store/rows.js';

/** Transaction-local setting that makes the capture trigger skip rows (cache loads, inbound changes). */
export const SUPPRESS_SETTING = 'typeorm_sharepoint.suppress';

/**
 * Marks the runner's current transaction as "written by the library": the capture trigger ignores its rows,
 * so loading from SharePoint never echoes back. Call it inside the transaction (the flag ends with it).
 */
export async function suppressCapture(runner: QueryRunner): Promise<void> {
  await runner.query(`SELECT set_config('${SUPPRESS_SETTING}', 'on', true)`);
}

/**
 * TwentyId of a junction (ManyToMany) row: a UUID-shaped md5 of `owner:inverse`. The capture trigger computes
 * the same value in SQL (`md5(owner || ':' || inverse)::uuid`), so JS and the database always agree.
 */
export function junctionTwentyId(ownerId: string, inverseId: string): string {
  const hex = createHash('md5').update(`${ownerId}:${inverseId}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Channel the trigger notifies for P0 rows (delivered on commit only); within 63 bytes for any schema name. */
export function notifyChannel(schema: string): string {
  return boundedIdentifier(schema, '_outbox');
}

/** Key columns the TwentyId is computed from: the primary key, or the pair of a junction table. */
export function keyColumns(list: ListSchema): string[] {
  if (list.kind === 'junction' && list.junction) {
    return [list.junction.ownerField.databaseName, list.junction.inverseField.databaseName];
  }
  return [list.primaryKey];
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
  ];
}

/** Creates (or replaces) the capture function and one trigger per synced table. Idempotent. */
export async function installCaptureTriggers(db: Db, schema: string, lists: ListSchema[]): Promise<void> {
  for (const statement of captureFunctionSql(schema)) await execute(db, statement);
  for (const list of lists) {
    const table = quoteTablePath(list.tablePath);
    const args = [list.entityName, keyColumns(list).join(','), String(priorityNumber(list))]
      .map((a) => `'${a.replace(/'/g, "''")}'`)
      .join(', ');
    // Drop + create in one statement batch: CREATE OR REPLACE TRIGGER needs PostgreSQL 14.
    const legacy = legacyTriggerName(schema);
    if (legacy) await execute(db, `DROP TRIGGER IF EXISTS "${legacy}" ON ${table}`);
    await execute(db, `DROP TRIGGER IF EXISTS "${triggerName(schema)}" ON ${table}`);
    await execute(
      db,
      `CREATE TRIGGER "${triggerName(schema)}" AFTER INSERT OR UPDATE OR DELETE ON ${table}
         FOR EACH ROW EXECUTE FUNCTION "${schema}".capture_change(${args})`,
    );
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
