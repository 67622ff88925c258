import { formatVerifyReport, type LoadResult } from 'typeorm-sharepoint';
import { type Cli, EXIT } from '../context.js';

function summariseLoads(results: LoadResult[]): string {
  return results
    .map(
      (r) =>
        `${r.entity}: ${r.mode} load, ${r.loaded} loaded, ${r.deleted} deleted, ${r.skipped.length} skipped` +
        (r.pendingLocal ? `, ${r.pendingLocal} kept (unsent local changes)` : '') +
        ` in ${(r.durationMs / 1000).toFixed(1)} s` +
        r.skipped.map((s) => `\n  skipped item ${s.itemId}: ${s.reason}`).join(''),
    )
    .join('\n');
}

/** `load`, `pull`, `rebuild`, `verify`: the cache. */
export function cacheCommands({ program, withSync }: Cli): void {
  program
    .command('load')
    .description(
      'load lists from SharePoint into PostgreSQL, or apply their delta when already loaded (all synced entities when none are named)',
    )
    .argument('[entity...]', 'entity names, e.g. Company Person')
    .action(async (entities: string[]) => {
      await withSync(async (sync, output) => {
        // First loads in dependency order; a list already loaded (within its TTL, "cached") gets its
        // delta now, as an operator who types `load` expects to see SharePoint's current state.
        const first = entities.length ? await sync.ensureLoaded(entities) : await sync.loadAll();
        const results: LoadResult[] = [];
        for (const result of first)
          results.push(result.mode === 'cached' ? await sync.refresh(result.entity) : result);
        output.result(results, () => summariseLoads(results));
      });
    });

  program
    .command('pull')
    .description('apply what changed in SharePoint now (delta), whatever the cache TTL')
    .argument('[entity...]', 'entity names (all synced entities when none are named)')
    .action(async (entities: string[]) => {
      await withSync(async (sync, output) => {
        const results = entities.length
          ? (await Promise.all(entities.map((entity) => sync.pull(entity)))).flat()
          : await sync.pull();
        output.result(results, () => summariseLoads(results));
      });
    });

  program
    .command('rebuild')
    .description('drop every cached row and reload from SharePoint')
    .option('--force', 'rebuild even while write-backs are pending (they are lost)')
    .action(async (options: { force?: boolean }) => {
      await withSync(async (sync, output) => {
        const results = await sync.rebuild({ force: Boolean(options.force) });
        output.result(results, () => summariseLoads(results));
      });
    });

  program
    .command('verify')
    .description('compare PostgreSQL with SharePoint; exit 1 on drift')
    .action(async () => {
      await withSync(async (sync, output) => {
        const report = await sync.verify();
        output.result(report, () => formatVerifyReport(report));
        if (!report.ok) process.exitCode = EXIT.failed;
      });
    });
}
