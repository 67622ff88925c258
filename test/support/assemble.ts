import type { DataSource } from 'typeorm';
import type { Logger, SyncEvent } from '../../src/context.js';
import { assembleContext, type ContextParts } from '../../src/sync/assemble.js';
import type { SharePointSyncOptions } from '../../src/sync/index.js';

export interface TestContext extends ContextParts {
  /** Every event the context emitted, in order (tests may empty it). */
  events: SyncEvent[];
}

/**
 * The context one concern's tests run on, wired by the library's own assembler (src/sync/assemble.ts) as
 * `attach` wires it: the harnesses then build the one concern they test (a `Writeback`, a `Cache`) with
 * their own settings. The budget is this process's alone (no ledger in the test database) unless `graph`
 * says otherwise. `close()` unregisters the gauges; the caller still owns the DataSource.
 */
export async function assembleTestContext(
  dataSource: DataSource,
  options: {
    /** The emulator's root, e.g. `http://127.0.0.1:1234` (`/v1.0` is added). */
    url: string;
    site: { hostname: string; path: string };
    graph?: SharePointSyncOptions['graph'];
    bootstrap?: SharePointSyncOptions['bootstrap'];
    logger?: Logger;
  },
): Promise<TestContext & { close(): void }> {
  const { graph, ...rest } = options;
  const parts = await assembleContext(dataSource, {
    site: rest.site,
    schema: 'sharepoint_sync',
    ...(rest.bootstrap ? { bootstrap: rest.bootstrap } : {}),
    ...(rest.logger ? { logger: rest.logger } : {}),
    graph: {
      baseUrl: `${rest.url}/v1.0`,
      ...graph,
      budget: { resourceUnitsPerMinute: 1_000_000, shared: false, ...graph?.budget },
    },
  });
  const events: SyncEvent[] = [];
  parts.listeners.add((event) => events.push(event));
  return { ...parts, events, close: () => parts.metrics.close() };
}
