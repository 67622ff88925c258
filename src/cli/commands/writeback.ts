import type { Cli } from '../context.js';
import { parseSeconds } from '../parsers.js';

/** `status`, `drain`, `dead-letters`: the write-back. */
export function writebackCommands({ program, withSync }: Cli): void {
  program
    .command('status')
    .description('pending write-backs, lag, dead letters, conflicts, requests and resource units')
    .action(async () => {
      await withSync(async (sync, output) => {
        const status = await sync.status();
        output.result(status, () =>
          [
            `pending: ${status.pending} (P0 ${status.pendingByPriority.P0}, P1 ${status.pendingByPriority.P1}, P2 ${status.pendingByPriority.P2}, P3 ${status.pendingByPriority.P3})`,
            `lag: ${status.lagSeconds.toFixed(1)} s`,
            `dead letters: ${status.deadLetters}`,
            `open conflicts: ${status.openConflicts}`,
            ...status.lists.map(
              (l) => `${l.entity}: list ${l.listId ?? '(missing)'}, loaded ${l.loadedAt ?? 'never'}`,
            ),
          ].join('\n'),
        );
      });
    });

  program
    .command('drain')
    .description('send every pending write-back now; exit 1 if anything is dead-lettered')
    .option('--timeout <seconds>', 'give up after this long', parseSeconds)
    .action(async (options: { timeout?: number }) => {
      await withSync(async (sync, output) => {
        const result = await sync.flush(options.timeout ? { timeoutMs: options.timeout * 1000 } : {});
        output.result(result, () => `sent ${result.sent} change(s); the outbox is empty`);
      }, {});
    });

  const deadLetters = program.command('dead-letters').description('records that could not be written back');
  deadLetters
    .command('list')
    .option('--entity <name>')
    .action(async (options: { entity?: string }) => {
      await withSync(async (sync, output) => {
        const letters = await sync.deadLetters(options.entity ? { entity: options.entity } : {});
        output.result(letters, () =>
          letters.length
            ? letters
                .map((l) => `#${l.id} ${l.entity} ${l.twentyId} ${l.op}: ${l.error} (${l.attempts} attempts)`)
                .join('\n')
            : 'no dead letters',
        );
      });
    });
  deadLetters
    .command('retry')
    .option('--entity <name>')
    .argument('[id...]', 'dead-letter ids (all when none are given)')
    .action(async (ids: string[], options: { entity?: string }) => {
      await withSync(async (sync, output) => {
        const count = await sync.retryDeadLetters({
          ...(options.entity ? { entity: options.entity } : {}),
          ...(ids.length ? { ids: ids.map(Number) } : {}),
        });
        output.result({ requeued: count }, () => `re-queued ${count} record(s)`);
      });
    });
}
