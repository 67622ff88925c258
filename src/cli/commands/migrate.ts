import { formatMigrationReport } from 'typeorm-sharepoint';
import { type Cli, EXIT } from '../context.js';
import { parseSeconds } from '../parsers.js';

/** `migrate`: send rows that existed before attach. */
export function migrateCommand({ program, withSync }: Cli): void {
  program
    .command('migrate')
    .description(
      'send existing PostgreSQL rows to SharePoint (bootstrap, queue, drain, verify); resumable, never duplicates',
    )
    .option('--dry-run', 'print row counts and the bootstrap plan without changing anything')
    .option('--timeout <seconds>', 'stop waiting after this long (re-run to continue)', parseSeconds)
    .argument('[entity...]', 'entity names (all synced entities when none are named)')
    .action(async (entities: string[], options: { dryRun?: boolean; timeout?: number }) => {
      await withSync(async (sync, output) => {
        const counter = output.counter('migrate');
        try {
          const report = await sync.migrate({
            dryRun: Boolean(options.dryRun),
            ...(entities.length ? { entities } : {}),
            ...(options.timeout ? { timeoutMs: options.timeout * 1000 } : {}),
            onProgress: (p) => counter.update(p.done, p.total),
          });
          counter.stop();
          output.result(report, () => formatMigrationReport(report));
          if (report.verify && !report.verify.ok) process.exitCode = EXIT.failed;
        } finally {
          counter.stop();
        }
      });
    });
}
