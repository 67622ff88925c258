import type { DataSource, QueryRunner } from 'typeorm';
import { ConfigError } from '../errors/index.js';

/** Anything that can run SQL: the DataSource (a pooled connection per call) or a QueryRunner inside a transaction. */
export type Db = DataSource | QueryRunner;

export interface QueryResult<T> {
  rows: T[];
  /** Rows affected by INSERT/UPDATE/DELETE (undefined for SELECT). */
  affected: number | undefined;
}

function isQueryRunner(db: Db): db is QueryRunner {
  return 'connection' in db && typeof (db as QueryRunner).startTransaction === 'function';
}

/**
 * Runs one statement and returns rows + affected count in one shape. TypeORM's postgres runner returns
 * `[rows, count]` for UPDATE/DELETE unless asked for a structured result, so we always ask.
 */
export async function execute<T = Record<string, unknown>>(
  db: Db,
  sql: string,
  params: unknown[] = [],
): Promise<QueryResult<T>> {
  if (isQueryRunner(db)) {
    const result = await db.query(sql, params, true);
    return { rows: (result.records ?? []) as T[], affected: result.affected ?? undefined };
  }
  const runner = db.createQueryRunner();
  try {
    const result = await runner.query(sql, params, true);
    return { rows: (result.records ?? []) as T[], affected: result.affected ?? undefined };
  } finally {
    await runner.release();
  }
}

export async function rows<T = Record<string, unknown>>(
  db: Db,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  return (await execute<T>(db, sql, params)).rows;
}

/** Runs `work` in a transaction on its own connection; commits when it resolves, rolls back when it throws. */
export async function transaction<T>(
  dataSource: DataSource,
  work: (runner: QueryRunner) => Promise<T>,
): Promise<T> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  await runner.startTransaction();
  try {
    const result = await work(runner);
    await runner.commitTransaction();
    return result;
  } catch (error) {
    // A lost connection cannot roll back (PostgreSQL already did): report the original error, not that one.
    if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
    throw error;
  } finally {
    await runner.release();
  }
}

/** PostgreSQL's codes for "gave up waiting for a lock" and "chosen as the deadlock victim". */
const LOCK_CONFLICTS = new Set(['55P03', '40P01']);

/**
 * A transaction of the library's own background work that yields to the application: it waits at most
 * `lockTimeoutMs` for any row lock (an application transaction holding an outbox row), then rolls back and
 * runs again. PostgreSQL's deadlock detector only acts after `deadlock_timeout` (1 s), so the library's side
 * always gives up first — an application write is never the one aborted because of the worker.
 */
/** The error is PostgreSQL giving up a lock wait (lock_timeout) or choosing this transaction as deadlock victim. */
export function isLockConflict(error: unknown): boolean {
  const code =
    (error as { driverError?: { code?: string } }).driverError?.code ?? (error as { code?: string }).code;
  return code !== undefined && LOCK_CONFLICTS.has(code);
}

/** PostgreSQL codes of a lost session: server shutdown/restart, terminated backend, connection failures. */
const CONNECTION_LOSS_CODES = new Set([
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08003',
  '08006',
  '08001',
  '08004',
]);
const CONNECTION_LOSS_MESSAGES =
  /Connection terminated|not queryable|Query runner already released|ECONNREFUSED|ECONNRESET|EPIPE|terminating connection|timeout exceeded when trying to connect/i;

const guardedPools = new WeakSet<object>();

/** What a pool and its clients look like from here (pg's `Pool` and `Client` are event emitters). */
interface Emitter {
  on(event: string, listener: (...args: never[]) => void): unknown;
}

/**
 * Gives every new connection of the DataSource's pool an `error` listener from the moment it connects.
 * pg-pool hands a new client to TypeORM inside the socket read that completed its handshake; when that read
 * also holds the server's FATAL (a backend killed as it started: a PostgreSQL restart, a failover,
 * `pg_terminate_backend`), the client emits `error` before TypeORM's query runner has attached its listener,
 * and Node makes that an uncaught exception that ends the process (TypeORM 0.3 and 1.x alike). With this
 * listener the error stays with the client: TypeORM's own listener (attached a moment later) and the pool
 * still see the connection fail and drop it. Idempotent.
 */
export function guardNewConnections(
  dataSource: DataSource,
  onError: (error: unknown) => void = () => undefined,
): void {
  const pool = (dataSource.driver as unknown as { master?: Emitter }).master;
  if (!pool || typeof pool.on !== 'function' || guardedPools.has(pool)) return;
  guardedPools.add(pool);
  pool.on('connect', (client: Emitter) => {
    client.on('error', (error: unknown) => onError(error));
  });
}

/** The error means the connection (or the server) went away, not that the statement was wrong: run it again. */
export function isConnectionLoss(error: unknown): boolean {
  const e = error as {
    name?: string;
    driverError?: { code?: string; message?: string };
    code?: string;
    message?: string;
  };
  // TypeORM releases a runner when its connection emits an error: the next statement on it says so.
  if (e?.name === 'QueryRunnerAlreadyReleasedError') return true;
  const code = e?.driverError?.code ?? e?.code;
  if (code !== undefined && CONNECTION_LOSS_CODES.has(code)) return true;
  return CONNECTION_LOSS_MESSAGES.test(`${e?.message ?? ''} ${e?.driverError?.message ?? ''}`);
}

/**
 * Runs `work` again while it fails because the connection was lost (a PostgreSQL restart, a killed backend),
 * for up to `timeoutMs`. Only for work that is safe to repeat (idempotent, or a transaction that rolled back).
 */
export async function retryOnConnectionLoss<T>(
  work: () => Promise<T>,
  { timeoutMs = 60_000, onRetry }: { timeoutMs?: number; onRetry?: (error: unknown) => void } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!isConnectionLoss(error) || Date.now() > deadline) throw error;
      onRetry?.(error);
      await yieldBackoff(attempt);
    }
  }
}

/** How long library transactions wait for an application's row lock before stepping back. */
export const YIELD_LOCK_TIMEOUT_MS = 100;

/** A pause before running a yielded transaction again: grows with the attempt, jittered. */
export function yieldBackoff(attempt: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.min(1000, 10 * 2 ** attempt) * (0.5 + Math.random())));
}

export async function yieldingTransaction<T>(
  dataSource: DataSource,
  work: (runner: QueryRunner) => Promise<T>,
  {
    lockTimeoutMs = YIELD_LOCK_TIMEOUT_MS,
    attempts = 20,
  }: { lockTimeoutMs?: number; attempts?: number } = {},
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await transaction(dataSource, async (runner) => {
        await runner.query(`SET LOCAL lock_timeout = '${Math.max(1, Math.floor(lockTimeoutMs))}ms'`);
        return work(runner);
      });
    } catch (error) {
      if (!isLockConflict(error) || attempt >= attempts) throw error;
      await yieldBackoff(attempt);
    }
  }
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** Our schema name is interpolated into SQL, so it must be a plain lower-case identifier. */
export function assertSchemaName(name: string): string {
  if (!IDENTIFIER.test(name)) {
    throw new ConfigError(
      'schema',
      'a lower-case PostgreSQL identifier: letters, digits and underscores, max 63, not starting with a digit',
      name,
    );
  }
  return name;
}
