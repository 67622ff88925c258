import type { QueryRunner } from 'typeorm';
import type { SyncContext } from '../context.js';
import { ClosedError } from '../errors/index.js';
import { notifyChannel } from '../store/capture.js';
import { execute, rows } from '../store/db.js';
import * as sql from '../store/sql.js';

interface PgClient {
  on(event: string, listener: (...args: unknown[]) => void): void;
  removeListener(event: string, listener: (...args: unknown[]) => void): void;
}

interface Connection {
  runner: QueryRunner;
  client: PgClient;
  onLost: (error?: unknown) => void;
}

const randomId = () => 1 + Math.floor(Math.random() * 0x7fff_fffe);
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How long a re-connecting worker waits for its old backend to let go of the lock before taking a new id. */
const SAME_ID_WAIT_MS = 15_000;

/**
 * A worker's identity: a random id held as a session advisory lock on a dedicated connection for the worker's
 * lifetime (decision 9). Other workers release claims whose id has no such lock, so a killed process's claims are
 * taken over at once. The same connection LISTENs for P0 notifications.
 *
 * That connection can die under a living worker (a PostgreSQL restart, `pg_terminate_backend`, the network), and
 * the lock and the LISTEN die with it. The session notices (the client's `error`/`end` event, or `check()` after
 * a failed query), logs it, and at once takes the lock of the **same id** and LISTEN again on a new connection,
 * so the worker's in-flight claims stay its own; `ensure()` makes every cycle wait for that before it claims.
 */
export class WorkerSession {
  private id = randomId();
  private everHeld = false;
  private conn: Connection | undefined;
  private connecting: Promise<void> | undefined;
  private lostAt: number | undefined;
  private checking: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly ctx: SyncContext,
    /** Called on a NOTIFY, and after a reconnect (notifications sent while the session was gone are lost). */
    private readonly wake: () => void,
  ) {}

  private readonly onNotification = () => this.wake();

  /** The worker id, once its lock and LISTEN are held on a live connection (re-connecting first if needed). */
  async ensure(): Promise<number> {
    while (!this.conn) {
      if (this.closed)
        throw new ClosedError('the write-back worker', 'a write-back cycle', 'the sync is closing');
      this.connecting ??= this.connect().finally(() => {
        this.connecting = undefined;
      });
      await this.connecting;
    }
    return this.id;
  }

  /**
   * After a query failed with a lost connection: is the session's own connection still alive? Several loops may
   * ask at once; they share one probe, since a pg client must not be given a query while it runs another.
   */
  check(): Promise<void> {
    const conn = this.conn;
    if (!conn) return Promise.resolve();
    this.checking ??= conn.runner
      .query('SELECT 1')
      .then(
        () => undefined,
        (error: unknown) => conn.onLost(error),
      )
      .finally(() => {
        this.checking = undefined;
      });
    return this.checking;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.connecting?.catch(() => undefined);
    const conn = this.conn;
    this.conn = undefined;
    if (!conn) return;
    this.detach(conn);
    try {
      await execute(conn.runner, `UNLISTEN "${notifyChannel(this.ctx.schema)}"`);
      await execute(conn.runner, 'SELECT pg_advisory_unlock($1, $2)', [sql.WORKER_LOCK_CLASS, this.id]);
    } catch {
      // The connection is gone already: so are its lock and LISTEN.
    } finally {
      await conn.runner.release();
    }
  }

  private detach(conn: Connection): void {
    conn.client.removeListener('notification', this.onNotification);
    conn.client.removeListener('error', conn.onLost);
    conn.client.removeListener('end', conn.onLost);
  }

  private lost(conn: Connection, error: unknown): void {
    if (this.conn !== conn) return;
    this.detach(conn);
    this.conn = undefined;
    this.lostAt = Date.now();
    void conn.runner.release().catch(() => undefined);
    if (this.closed) return;
    this.ctx.logger.warn(
      'typeorm-sharepoint: the write-back worker lost its PostgreSQL session (advisory lock and LISTEN); taking them again on a new connection before claiming more',
      { workerId: this.id, error: String(error ?? 'connection ended') },
    );
    // At once, not at the next cycle: the loops may be asleep waiting for a NOTIFY that cannot arrive now.
    void this.ensure().then(
      () => this.wake(),
      () => undefined,
    );
  }

  private async tryLock(runner: QueryRunner, id: number): Promise<boolean> {
    const [row] = await rows<{ ok: boolean }>(runner, 'SELECT pg_try_advisory_lock($1, $2) AS ok', [
      sql.WORKER_LOCK_CLASS,
      id,
    ]);
    return row?.ok === true;
  }

  private async lock(runner: QueryRunner): Promise<void> {
    if (this.everHeld) {
      // The same id, so that the claims made under it stay ours. The old backend may still be exiting.
      const deadline = Date.now() + SAME_ID_WAIT_MS;
      while (Date.now() < deadline) {
        if (await this.tryLock(runner, this.id)) return;
        await delay(50);
      }
      this.ctx.logger.warn(
        'typeorm-sharepoint: the write-back worker could not take its lock again; continuing under a new id (its earlier claims are released as orphans)',
        { workerId: this.id },
      );
    }
    for (;;) {
      const id = randomId();
      if (await this.tryLock(runner, id)) {
        this.id = id;
        this.everHeld = true;
        return;
      }
    }
  }

  private async connect(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (this.closed)
        throw new ClosedError('the write-back worker', 'a write-back cycle', 'the sync is closing');
      if (!this.ctx.dataSource.isInitialized) {
        throw new ClosedError('the DataSource', 'the write-back worker', 'the worker cannot run without it');
      }
      const runner = this.ctx.dataSource.createQueryRunner();
      let conn: Connection | undefined;
      try {
        const client = (await runner.connect()) as PgClient;
        const onLost = (error?: unknown) => {
          if (conn) this.lost(conn, error);
        };
        conn = { runner, client, onLost };
        client.on('error', onLost);
        client.on('end', onLost);
        await this.lock(runner);
        client.on('notification', this.onNotification);
        await execute(runner, `LISTEN "${notifyChannel(this.ctx.schema)}"`);
        if (this.closed) {
          this.detach(conn);
          await execute(runner, 'SELECT pg_advisory_unlock($1, $2)', [sql.WORKER_LOCK_CLASS, this.id]);
          await runner.release();
          throw new ClosedError('the write-back worker', 'a write-back cycle', 'the sync is closing');
        }
        this.conn = conn;
        if (this.lostAt !== undefined) {
          this.ctx.logger.info('typeorm-sharepoint: the write-back worker holds its lock and LISTEN again', {
            workerId: this.id,
            afterMs: Date.now() - this.lostAt,
          });
          this.lostAt = undefined;
        }
        return;
      } catch (error) {
        if (conn) this.detach(conn);
        await runner.release().catch(() => undefined);
        if (this.closed) throw error;
        if (attempt === 1 || attempt % 10 === 0) {
          this.ctx.logger.warn(
            'typeorm-sharepoint: the write-back worker cannot open its session yet; retrying',
            {
              workerId: this.id,
              attempt,
              error: String(error),
            },
          );
        }
        await delay(Math.min(2000, 25 * 2 ** attempt));
      }
    }
  }
}
