import { formatPlan, formatProvisioningResult } from 'typeorm-sharepoint';
import type { Cli } from '../context.js';

/** `bootstrap`: create missing lists and columns, or print the plan. */
export function bootstrapCommand({ program, withSync }: Cli): void {
  program
    .command('bootstrap')
    .description('create missing SharePoint lists and columns (never drops or alters anything)')
    .option('--dry-run', 'print the plan without changing anything')
    .option('--fail-on-drift', 'exit 1 when a column differs or SharePoint has extra columns')
    .action(async (options: { dryRun?: boolean; failOnDrift?: boolean }) => {
      await withSync(async (sync, output) => {
        const plan = await sync.plan();
        if (options.dryRun) {
          output.result(plan, () => formatPlan(plan));
          return;
        }
        const result = await sync.bootstrap({ failOnDrift: Boolean(options.failOnDrift) });
        output.result({ ...result, listIds: Object.fromEntries(result.listIds) }, () =>
          formatProvisioningResult(result),
        );
      });
    });
}
