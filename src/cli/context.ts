import { Command } from 'commander';
import {
  configFromEnv,
  parseSiteRef,
  SharePointSync,
  type SharePointSyncOptions,
  UsageError,
} from 'typeorm-sharepoint';
import { loadDataSource, loadWorkspaces } from './datasource.js';
import { Output } from './output.js';

/** Exit codes: 0 done; 1 the operation failed or found a problem (drift, dead letters); 2 usage/configuration. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export interface GlobalOptions {
  datasource?: string;
  json?: boolean;
  /** Every `--site` given (commander collects them): the last one counts, `emulator` serves them all. */
  site?: string[];
  graphBaseUrl?: string;
  schema?: string;
  workspace?: string;
}

/** What every command group gets: the program, the environment, output, and an attached sync. */
export interface Cli {
  program: Command;
  env: NodeJS.ProcessEnv;
  out(): Output;
  /** Loads the DataSource (or `--workspace`), attaches, runs `work`, and always detaches. */
  withSync<T>(
    work: (sync: SharePointSync, output: Output) => Promise<T>,
    overrides?: Partial<SharePointSyncOptions>,
  ): Promise<T>;
}

/** Options from the environment (validated by configFromEnv), then flags on top. */
export function syncOptions(global: GlobalOptions, env: NodeJS.ProcessEnv): SharePointSyncOptions {
  const withSite = { ...env };
  const lastSite = global.site?.at(-1);
  if (lastSite) {
    const site = parseSiteRef(lastSite, '--site');
    withSite.SHAREPOINT_SITE_HOSTNAME = site.hostname;
    withSite.SHAREPOINT_SITE_PATH = site.path;
  }
  if (global.graphBaseUrl) withSite.SHAREPOINT_GRAPH_BASE_URL = global.graphBaseUrl;
  if (global.schema) withSite.SHAREPOINT_SYNC_SCHEMA = global.schema;
  const config = configFromEnv(withSite);
  return {
    site: config.site,
    ...(config.credential ? { credential: config.credential } : {}),
    ...(config.graph ? { graph: config.graph } : {}),
    ...(config.schema ? { schema: config.schema } : {}),
    defaultPriority: config.defaultPriority,
    // The CLI bootstraps only when asked (`bootstrap`), and never sends from a short-lived process
    // unless the command is about sending (`drain`).
    bootstrap: { ...config.bootstrap, onAttach: false },
    cache: config.cache,
    writeback: { ...config.writeback, runWorker: false },
    // A short-lived process does not poll; `load` and `pull` are explicit.
    inbound: { pollIntervalSeconds: 0 },
    webhooks: config.webhooks,
  };
}

/**
 * The program with its global options; the commands are registered by src/cli/commands.
 * Over 80 lines: the declaration of the global options (data, one `.option` each).
 */
export function createCli(env: NodeJS.ProcessEnv, json: boolean, version: string): Cli {
  const program = new Command('typeorm-sharepoint')
    .description('SharePoint Lists as the source of truth for a TypeORM app; PostgreSQL as the cache.')
    .option(
      '-d, --datasource <file>',
      'module exporting your TypeORM DataSource (.js, or .ts with tsx installed)',
    )
    .option(
      '--site <host:/path>',
      'SharePoint site (overrides SHAREPOINT_SITE_HOSTNAME/PATH); repeatable for `emulator`',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option(
      '--graph-base-url <url>',
      'Graph base URL, e.g. the emulator (overrides SHAREPOINT_GRAPH_BASE_URL)',
    )
    .option('--schema <name>', "schema of the library's tables (overrides SHAREPOINT_SYNC_SCHEMA)")
    .option(
      '--workspace <id>',
      'run against one workspace of the SharePointWorkspaces that --datasource exports (default or `workspaces`)',
    )
    .option('--json', 'machine-readable output on stdout')
    .version(version, '-V, --version', 'print the version')
    .showHelpAfterError()
    .exitOverride();
  // With --json, stdout carries exactly one JSON document whatever happens: commander's own messages
  // (usage errors, help, version) are held back and `main` prints them as JSON.
  if (json) program.configureOutput({ writeOut: () => {}, writeErr: () => {} });

  const out = () => new Output(Boolean(program.opts<GlobalOptions>().json));

  /** Loads the DataSource, attaches, runs `work`, and always detaches. */
  async function withSync<T>(
    work: (sync: SharePointSync, output: Output) => Promise<T>,
    overrides: Partial<SharePointSyncOptions> = {},
  ) {
    const global = program.opts<GlobalOptions>();
    const file = global.datasource ?? env.TYPEORM_SHAREPOINT_DATASOURCE;
    if (!file)
      throw new UsageError('--datasource <file> is required (or set TYPEORM_SHAREPOINT_DATASOURCE).');
    if (global.workspace !== undefined) return withWorkspace(file, global, work);
    const options = { ...syncOptions(global, env), ...overrides };
    const dataSource = await loadDataSource(file);
    const output = out();
    const progress = output.progress();
    try {
      const sync = await SharePointSync.attach(dataSource, options);
      const unsubscribe = sync.on(progress.onEvent);
      try {
        return await work(sync, output);
      } finally {
        unsubscribe();
        await sync.close();
      }
    } finally {
      progress.stop();
      await dataSource.destroy();
    }
  }

  /** `--workspace`: the workspace's definition supplies site, schema and options; nothing is sent unless asked. */
  async function withWorkspace<T>(
    file: string,
    global: GlobalOptions,
    work: (sync: SharePointSync, output: Output) => Promise<T>,
  ) {
    for (const [flag, value] of [
      ['--site', global.site?.at(-1)],
      ['--schema', global.schema],
      ['--graph-base-url', global.graphBaseUrl],
    ] as const) {
      if (value !== undefined) {
        throw new UsageError(
          `${flag} cannot be combined with --workspace (the workspace's definition sets it).`,
        );
      }
    }
    const workspaces = await loadWorkspaces(file);
    // A short-lived process never sends in the background; `drain` sends through flush().
    await workspaces.stopWorker?.();
    const output = out();
    const progress = output.progress();
    try {
      // As without --workspace: bootstrap only when asked (`bootstrap`), no polling (which may write TwentyIds
      // back): whatever the definition says, `status`, `verify`, `dead-letters` and `conflicts list` never write.
      const sync = await workspaces.get(global.workspace!, {
        overrides: { bootstrap: { onAttach: false }, inbound: { pollIntervalSeconds: 0 } },
      });
      const unsubscribe = sync.on(progress.onEvent);
      try {
        return await work(sync, output);
      } finally {
        unsubscribe();
      }
    } finally {
      progress.stop();
      await workspaces.close({ flush: false });
    }
  }

  return { program, env, out, withSync };
}
