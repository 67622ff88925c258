import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { DataSource } from 'typeorm';
import {
  type ConsoleOptions,
  type ConsoleWorkspaces,
  createConsole,
  defaultWorkspaceSchema,
  SharePointSync,
  type SharePointSyncOptions,
} from 'typeorm-sharepoint';
import {
  importModule,
  isDataSource,
  loadDataSource,
  loadWorkspaces,
  UsageError,
  type WorkspacesLike,
} from './datasource.js';
import { Output } from './output.js';

/** The environment variables holding the console's tokens (never flags: a command line shows in `ps`). */
export const CONSOLE_TOKEN_VARIABLES = {
  token: 'TYPEORM_SHAREPOINT_CONSOLE_TOKEN',
  readOnlyToken: 'TYPEORM_SHAREPOINT_CONSOLE_READONLY_TOKEN',
} as const;

/** What attaching from the console never does: bootstrap or poll (the application runs the sync). */
const OBSERVER = { bootstrap: { onAttach: false }, inbound: { pollIntervalSeconds: 0 } };

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535)
    throw new InvalidArgumentError('expected a port number from 0 to 65535.');
  return port;
}

interface Globals {
  datasource?: string;
  json?: boolean;
  workspace?: string;
}

/** Workspace ids the data-source module lists (`export const workspaceIds = [...]` or a function). */
async function exportedWorkspaceIds(file: string): Promise<(() => Promise<string[]>) | undefined> {
  const module = await importModule(file);
  const value = module.workspaceIds;
  if (Array.isArray(value)) return async () => value.map(String);
  if (typeof value === 'function') return async () => ((await value()) as unknown[]).map(String);
  return undefined;
}

/**
 * Where the Workspaces page reads the figures of workspaces that are not attached, without attaching them: a
 * DataSource the module exports beside the workspaces (default or any name, as the other commands find one) on
 * the database their schemas live in, and their schemas by the module's `workspaceSchema(id)` or the default
 * rule. Initialised here when it is not yet (and then destroyed on exit). Undefined when the module exports none.
 */
async function exportedStoredFigures(
  file: string,
  cleanups: (() => Promise<void>)[],
): Promise<ConsoleOptions['storedFigures']> {
  const module = await importModule(file);
  let dataSource: DataSource | undefined;
  for (const candidate of [module.default, ...Object.values(module)]) {
    const value = await candidate;
    if (isDataSource(value)) {
      dataSource = value;
      break;
    }
  }
  if (!dataSource) return undefined;
  if (!dataSource.isInitialized) {
    await dataSource.initialize();
    const owned = dataSource;
    cleanups.push(() => owned.destroy());
  }
  const rule = module.workspaceSchema;
  const schemaOf =
    typeof rule === 'function'
      ? async (id: string) => String(await (rule as (id: string) => unknown)(id))
      : defaultWorkspaceSchema;
  return { dataSource, schemaOf };
}

/**
 * `typeorm-sharepoint console --port N`: the operator console over the same data-source file as the other
 * commands. It only observes and acts through the tables: the application keeps running the sync (worker,
 * polls); a retry or a resolution is sent by the application's worker.
 * Over 80 lines: the command's options and its one action (open the data source, attach as observer, serve).
 */
export function registerConsole(
  program: Command,
  deps: { env: NodeJS.ProcessEnv; syncOptions: () => SharePointSyncOptions },
): void {
  program
    .command('console')
    .description('serve the operator console (overview, dead letters, conflicts, workspaces) over HTTP')
    .addOption(
      new Option('--port <port>', 'port to listen on (0 picks a free one)')
        .default(4020)
        .argParser(parsePort),
    )
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--base-path <path>', 'serve under this path, e.g. /ops/sharepoint', '')
    .action(async (options: { port: number; host: string; basePath: string }) => {
      const global = program.opts<Globals>();
      const output = new Output(Boolean(global.json));
      const file = global.datasource ?? deps.env.TYPEORM_SHAREPOINT_DATASOURCE;
      if (!file)
        throw new UsageError('--datasource <file> is required (or set TYPEORM_SHAREPOINT_DATASOURCE).');
      const token = deps.env[CONSOLE_TOKEN_VARIABLES.token];
      const readOnlyToken = deps.env[CONSOLE_TOKEN_VARIABLES.readOnlyToken];
      if (!token && !readOnlyToken)
        throw new UsageError(
          `console: set ${CONSOLE_TOKEN_VARIABLES.token} (read-write) or ${CONSOLE_TOKEN_VARIABLES.readOnlyToken} (read-only): nothing is served without authentication.`,
        );

      const cleanups: (() => Promise<void>)[] = [];
      let target: { sync: SharePointSync } | { workspaces: ConsoleWorkspaces } | undefined;
      let workspaceIds: (() => Promise<string[]>) | undefined;
      let storedFigures: ConsoleOptions['storedFigures'];
      let workspaces: WorkspacesLike | undefined;
      if (global.workspace !== undefined) {
        workspaces = await loadWorkspaces(file);
        await workspaces.stopWorker?.();
        target = { sync: await workspaces.get(global.workspace, { overrides: OBSERVER }) };
      } else {
        workspaces = await loadWorkspaces(file).catch((error: unknown) => {
          if (error instanceof UsageError) return undefined;
          throw error;
        });
        if (workspaces) {
          await workspaces.stopWorker?.();
          const all = workspaces as WorkspacesLike & Pick<ConsoleWorkspaces, 'status' | 'attached'>;
          workspaceIds = await exportedWorkspaceIds(file);
          storedFigures = await exportedStoredFigures(file, cleanups);
          target = {
            workspaces: {
              status: () => all.status(),
              attached: () => all.attached(),
              get: (id) => all.get(id, { overrides: OBSERVER }),
            },
          };
        }
      }
      if (workspaces) {
        const owned = workspaces;
        cleanups.push(() => owned.close({ flush: false }));
      } else {
        const dataSource = await loadDataSource(file);
        cleanups.push(() => dataSource.destroy());
        const sync = await SharePointSync.attach(dataSource, deps.syncOptions());
        cleanups.unshift(() => sync.close());
        target = { sync };
      }
      try {
        const handler = createConsole({
          ...target!,
          ...(workspaceIds ? { workspaceIds } : {}),
          ...(storedFigures ? { storedFigures } : {}),
          attachOnView: true,
          ...(token ? { token } : {}),
          ...(readOnlyToken ? { readOnlyToken } : {}),
          basePath: options.basePath,
          logger: {
            debug() {},
            info: (message, fields) => process.stderr.write(`${message} ${JSON.stringify(fields ?? {})}\n`),
            warn: (message, fields) => process.stderr.write(`${message} ${JSON.stringify(fields ?? {})}\n`),
            error: (message, fields) => process.stderr.write(`${message} ${JSON.stringify(fields ?? {})}\n`),
          },
        });
        cleanups.unshift(async () => handler.close());
        const server = http.createServer(handler);
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(options.port, options.host, resolve);
        });
        cleanups.unshift(() => new Promise<void>((resolve) => server.close(() => resolve())));
        const { port } = server.address() as AddressInfo;
        const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}${options.basePath.replace(/\/$/, '')}/`;
        output.result({ url }, () => `typeorm-sharepoint console at ${url} (Ctrl+C stops it)`);
        await new Promise<void>((resolve) => {
          process.once('SIGINT', () => resolve());
          process.once('SIGTERM', () => resolve());
        });
      } finally {
        for (const cleanup of cleanups) await cleanup().catch(() => undefined);
      }
    });
}
