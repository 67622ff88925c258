import type { Cli } from '../context.js';
import { bootstrapCommand } from './bootstrap.js';
import { cacheCommands } from './cache.js';
import { conflictCommands } from './conflicts.js';
import { consoleCommand } from './console.js';
import { demoCommand } from './demo.js';
import { emulatorCommand } from './emulator.js';
import { migrateCommand } from './migrate.js';
import { writebackCommands } from './writeback.js';

/**
 * Every command group, in the order `--help` lists them. A new group is one file in this folder and one
 * line here.
 */
export const COMMANDS: ((cli: Cli) => void)[] = [
  bootstrapCommand,
  cacheCommands,
  writebackCommands,
  conflictCommands,
  migrateCommand,
  demoCommand,
  emulatorCommand,
  consoleCommand,
];
