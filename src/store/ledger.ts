import type { DataSource } from 'typeorm';
import { assertSchemaName, execute, rows, transaction } from './db.js';
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
    return new PostgresLedgerStore(dataSource, schema);
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
    return transaction(this.dataSource, async (runner) => {
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
    });
  }

  async figures(
    key: string,
  ): Promise<{ usedThisMinute: number; usedToday: number; throttled: number; pausedForMs: number }> {
    const [row] = await rows<Record<string, string | number>>(
      this.dataSource,
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
