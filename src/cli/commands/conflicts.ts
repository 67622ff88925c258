import { UsageError } from 'typeorm-sharepoint';
import type { Cli } from '../context.js';

/** `conflicts list|resolve`. */
export function conflictCommands({ program, withSync }: Cli): void {
  const conflicts = program.command('conflicts').description('changes made on both sides at once');
  conflicts
    .command('list')
    .option('--entity <name>')
    .option('--all', 'resolved ones too (default: open only)')
    .action(async (options: { entity?: string; all?: boolean }) => {
      await withSync(async (sync, output) => {
        const found = await sync.conflicts.list({
          ...(options.entity ? { entity: options.entity } : {}),
          ...(options.all ? {} : { open: true }),
        });
        output.result(found, () =>
          found.length
            ? found
                .map(
                  (c) =>
                    `#${c.id} ${c.entity} ${c.twentyId} [${c.policy}] ${c.reason} — ${c.resolution ?? 'open'}` +
                    `\n    local:      ${JSON.stringify(c.local)}\n    SharePoint: ${JSON.stringify(c.remote)}`,
                )
                .join('\n')
            : 'no conflicts',
        );
      });
    });
  conflicts
    .command('resolve')
    .argument('<id>', 'conflict id (from `conflicts list`)')
    .argument('<choice>', 'sharepoint | twenty (alias: local)')
    .action(async (id: string, choice: string) => {
      if (choice !== 'sharepoint' && choice !== 'twenty' && choice !== 'local') {
        throw new UsageError(
          `conflicts resolve: choice must be "sharepoint" or "twenty" ("local" is an alias), got "${choice}"`,
        );
      }
      await withSync(async (sync, output) => {
        const resolved = await sync.conflicts.resolve(
          Number(id),
          choice === 'sharepoint' ? 'sharepoint' : 'twenty',
        );
        output.result(resolved, () => `conflict #${resolved.id} resolved: ${resolved.resolution}`);
      });
    });
}
