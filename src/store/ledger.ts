import { DataSource, type DataSourceOptions } from 'typeorm';
import { assertSchemaName, execute, guardNewConnections, rows, transaction } from './db.js';
import { budgetLedgerMigrations, migrate } from './migrations.js';
import * as sql from './sql.js';

/** The ledger's state of one key (the same shape as graph's `LedgerState`; store imports nothing from graph). */
interface State {
  tokens: number;
  refilledAtMs: number;
  pausedUntilMs: number;
  throttled: number;
  waiting?: Array<{ holder: string; units: number; untilMs: number }>;
}

export const DEFAULT_LEDGER_SCHEMA = 'sharepoint_budget';

/**
 * The shared budget's state in PostgreSQL (a `LedgerStore` for graph's `StoreLedger`): one row per tenant and
 * application, locked for each change, and the units spent per minute (the daily figure). One short
 * transaction per lease; the clock is the database's.
 */
export class PostgresLedgerStore {
  private constructor(
    private readonly dataSource: DataSource,
    private readonly schema: string,
  ) {}

  /** Creates (or upgrades) the ledger's schema and returns its store. */
  static async open(dataSource: DataSource, schema = DEFAULT_LEDGER_SCHEMA): Promise<PostgresLedgerStore> {
    assertSchemaName(schema);
    await migrate(dataSource, schema, budgetLedgerMigrations(schema));
    // Now, not on first use: its `destroy()` hook then runs after those installed later (a sync closing with the
    // DataSource may still give units back through the ledger).
    await ledgerSource(dataSource);
    return new PostgresLedgerStore(dataSource, schema);
  }

  /**
   * The ledger runs on connections of its own, never the application's pool: a request to Graph waits for a
   * lease, so a lease that needed a pooled connection would deadlock as soon as everything holding the pool's
   * connections waits for Graph (a load holds one while it fetches its next page; parallel load workers, many
   * lists loading at once, the application's own transactions). Two connections per application DataSource,
   * shared by every sync attached to it, closed idle after a few seconds and with the DataSource's `destroy()`.
   */
  private own(): Promise<DataSource> {
    if (!this.dataSource.isInitialized)
      return Promise.reject(new Error("typeorm-sharepoint: the budget ledger's DataSource was destroyed"));
    return ledgerSource(this.dataSource);
  }

  update<T>(
    key: string,
    change: (
      state: State | undefined,
      nowMs: number,
      usedToday: number,
    ) => { state: State; spent: number; result: T },
  ): Promise<T> {
    const s = this.schema;
    return this.own().then((own) =>
      transaction(own, async (runner) => {
        let found = await rows<Record<string, unknown>>(runner, sql.lockLedger(s), [key]);
        const isNew = found.length === 0;
        if (isNew) {
          await execute(runner, sql.insertLedger(s), [key]);
          found = await rows(runner, sql.lockLedger(s), [key]);
        }
        const row = found[0]!;
        const nowMs = Number(row.now_ms);
        const state: State | undefined = isNew
          ? undefined
          : {
              tokens: Number(row.tokens),
              refilledAtMs: Number(row.refilled_ms),
              pausedUntilMs: Math.max(0, Number(row.paused_ms)),
              throttled: Number(row.throttled),
              waiting: (row.waiting ?? []) as NonNullable<State['waiting']>,
            };
        const out = change(state, nowMs, Number(row.used_today));
        await execute(runner, sql.updateLedger(s), [
          key,
          out.state.tokens,
          out.state.refilledAtMs,
          Math.max(0, out.state.pausedUntilMs),
          out.state.throttled,
          JSON.stringify(out.state.waiting ?? []),
        ]);
        if (out.spent !== 0) await execute(runner, sql.recordLedgerMinute(s), [key, Math.round(out.spent)]);
        return out.result;
      }),
    );
  }

  async figures(
    key: string,
  ): Promise<{ usedThisMinute: number; usedToday: number; throttled: number; pausedForMs: number }> {
    const [row] = await rows<Record<string, string | number>>(
      await this.own(),
      sql.ledgerFigures(this.schema),
      [key],
    );
    return {
      usedThisMinute: Number(row?.used_minute ?? 0),
      usedToday: Number(row?.used_today ?? 0),
      throttled: Number(row?.throttled ?? 0),
      pausedForMs: Math.round(Number(row?.paused_for_ms ?? 0)),
    };
  }

  usable(): boolean {
    return this.dataSource.isInitialized;
  }
}

/** The ledger's connections per database (not per DataSource: workspaces open one DataSource each). */
const ledgerSources = new Map<string, { ready: Promise<DataSource>; users: Set<DataSource> }>();
const hooked = new WeakSet<DataSource>();

/** What identifies the database a DataSource connects to (and as whom): DataSources equal in it share a ledger pool. */
function databaseKey(options: DataSourceOptions): string {
  const o = options as unknown as Record<string, unknown>;
  return JSON.stringify(
    ['type', 'url', 'host', 'port', 'username', 'password', 'database', 'ssl', 'replication'].map(
      (k) => o[k],
    ),
  );
}

/**
 * The ledger's own small DataSource for `app`'s database (same server, database and credentials), created on
 * first use, shared by every DataSource of that database and destroyed with the last of them.
 */
function ledgerSource(app: DataSource): Promise<DataSource> {
  const key = databaseKey(app.options);
  let entry = ledgerSources.get(key);
  if (!entry) {
    const extra = (app.options as { extra?: Record<string, unknown> }).extra ?? {};
    const own = new DataSource({
      ...app.options,
      entities: [],
      subscribers: [],
      migrations: [],
      synchronize: false,
      migrationsRun: false,
      dropSchema: false,
      poolSize: LEDGER_CONNECTIONS,
      // node-pg: `max` here wins over poolSize; idle connections close and never keep the process alive.
      extra: { ...extra, max: LEDGER_CONNECTIONS, idleTimeoutMillis: 5_000, allowExitOnIdle: true },
    } as DataSourceOptions);
    const ready = own.initialize().then(() => {
      guardNewConnections(own);
      return own;
    });
    const created = { ready, users: new Set<DataSource>() };
    ready.catch(() => {
      if (ledgerSources.get(key) === created) ledgerSources.delete(key);
    });
    ledgerSources.set(key, created);
    entry = created;
  }
  entry.users.add(app);
  if (!hooked.has(app)) {
    hooked.add(app);
    const destroy = app.destroy;
    app.destroy = async function (this: DataSource): Promise<void> {
      const current = ledgerSources.get(key);
      if (current?.users.delete(app) && current.users.size === 0) {
        ledgerSources.delete(key);
        await current.ready.then((d) => d.destroy()).catch(() => undefined);
      }
      return destroy.call(this);
    };
  }
  return entry.ready;
}

/** Connections of the ledger's pool per database: leases are short, one transaction each, and rare (a local share). */
const LEDGER_CONNECTIONS = 2;
