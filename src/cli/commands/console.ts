import { registerConsole } from '../console.js';
import { type Cli, type GlobalOptions, syncOptions } from '../context.js';

/** `console`: the operator console (its options and serving live in ../console.ts). */
export function consoleCommand(cli: Cli): void {
  registerConsole(cli.program, {
    env: cli.env,
    syncOptions: () => syncOptions(cli.program.opts<GlobalOptions>(), cli.env),
  });
}
