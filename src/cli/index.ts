import { createRequire } from 'node:module';
import { type Command, CommanderError } from 'commander';
import { ConfigError, UsageError } from 'typeorm-sharepoint';
import { COMMANDS } from './commands/index.js';
import { createCli, EXIT } from './context.js';
import { Output } from './output.js';

export { EXIT } from './context.js';

/** The package's version: src/cli and dist/cli are both two folders below package.json. */
function packageVersion(): string {
  return (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
}

/**
 * The library's messages name API calls (`flush()`); an operator at the shell needs the command that does
 * the same. One table, applied to every error the CLI prints.
 */
const API_TO_COMMAND: [RegExp, string][] = [
  [
    /Run flush\(\) first, or rebuild\(\{ force: true \}\) to discard them\./g,
    'Run `typeorm-sharepoint drain` first, or `typeorm-sharepoint rebuild --force` to discard them.',
  ],
  [/call sync\.retryDeadLetters\(\)/g, 'run `typeorm-sharepoint dead-letters retry`'],
  [/(?:sync\.)?retryDeadLetters\(\)/g, '`typeorm-sharepoint dead-letters retry`'],
  [/sync\.deadLetters\(\)/g, '`typeorm-sharepoint dead-letters list`'],
  [/rebuild\(\{ force: true \}\)/g, '`typeorm-sharepoint rebuild --force`'],
  [/\bflush\(\)/g, '`typeorm-sharepoint drain`'],
];

export function forTheShell(message: string): string {
  return API_TO_COMMAND.reduce((text, [api, command]) => text.replace(api, command), message);
}

export function buildProgram(
  env: NodeJS.ProcessEnv = process.env,
  { json = false }: { json?: boolean } = {},
): Command {
  const cli = createCli(env, json, packageVersion());
  for (const register of COMMANDS) register(cli);
  return cli.program;
}

// The program's `--site` option and the emulator's repeatable `--site` share a name; commander keeps
// them apart because the emulator's is declared on the subcommand.

export async function main(
  argv: string[] = process.argv,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const json = argv.includes('--json');
  const program = buildProgram(env, { json });
  const output = () => new Output(json);
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (json) {
        if (error.code === 'commander.version') output().result({ version: packageVersion() }, () => '');
        else if (error.exitCode === 0) output().result({ help: program.helpInformation() }, () => '');
        else output().error(error.message.replace(/^error: /, ''));
      }
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (
      error instanceof ConfigError ||
      error instanceof UsageError ||
      (error instanceof Error && error.name === 'UnknownWorkspaceError')
    ) {
      output().error(forTheShell(error.message));
      return EXIT.usage;
    }
    output().error(forTheShell(error instanceof Error ? error.message : String(error)));
    return EXIT.failed;
  }
}

// Run when executed as the binary (not when imported by tests).
const invokedDirectly =
  process.argv[1] && /typeorm-sharepoint|cli[\\/]index\.[cm]?[jt]s$/.test(process.argv[1]);
if (invokedDirectly) {
  main().then((code) => {
    process.exitCode = code;
  });
}
