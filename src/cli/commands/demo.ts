import { runDemo } from '../../demo/index.js';
import { type Cli, EXIT } from '../context.js';

/** `demo`: the whole round trip on the emulator. */
export function demoCommand({ program, out }: Cli): void {
  program
    .command('demo')
    .description(
      'the whole round trip on the emulator and an embedded PostgreSQL: bootstrap, write, SharePoint has it, drop the cache, rebuild',
    )
    .option(
      '--database-url <url>',
      'use this PostgreSQL server instead of an embedded one (the demo creates its own database)',
    )
    .action(async (options: { databaseUrl?: string }) => {
      const output = out();
      const result = await runDemo({
        ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {}),
        // The story is the demo's output; with --json it moves to stderr so stdout stays one JSON document.
        print: (line) => (output.json ? process.stderr : process.stdout).write(`${line}\n`),
      });
      if (output.json) output.result(result, () => '');
      if (!result.verifyOk) process.exitCode = EXIT.failed;
    });
}
