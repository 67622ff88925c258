import { createRequire } from 'node:module';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import {
  ConfigError,
  configFromEnv,
  formatMigrationReport,
  formatPlan,
  formatProvisioningResult,
  formatVerifyReport,
  type LoadResult,
  SharePointSync,
  type SharePointSyncOptions,
} from 'typeorm-sharepoint';
import type { FaultRule } from 'typeorm-sharepoint/testing';
import { runDemo } from '../demo/index.js';
import { loadDataSource, loadWorkspaces, UsageError } from './datasource.js';
import { Output } from './output.js';

/** Exit codes: 0 done; 1 the operation failed or found a problem (drift, dead letters); 2 usage/configuration. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

interface GlobalOptions {
  datasource?: string;
  json?: boolean;
  /** Every `--site` given (commander collects them): the last one counts, `emulator` serves them all. */
  site?: string[];
  graphBaseUrl?: string;
  schema?: string;
  workspace?: string;
}

/** The package's version: src/cli and dist/cli are both two folders below package.json. */
function packageVersion(): string {
  return (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
}

function parseSiteRef(ref: string): { hostname: string; path: string } {
  const match = /^([^:/\s]+):(\/\S*)$/.exec(ref);
  if (!match || /^[a-z][a-z0-9+.-]*:\/\//i.test(ref))
    throw new UsageError(
      `--site ${ref}: expected host:/path without a scheme, e.g. contoso.sharepoint.com:/sites/crm`,
    );
  return { hostname: match[1]!, path: match[2]! };
}

/** commander parser for `--port`: an integer 0–65535, else a usage error (exit 2). */
function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535)
    throw new InvalidArgumentError('expected a port number from 0 to 65535.');
  return port;
}

interface EmulatorCommandOptions {
  port: number;
  host: string;
  site?: string[];
  seed?: number;
  ruPerMinute?: number;
  latencyMs?: number;
  latencyPerItemMs?: number;
  deltaRepeatProbability?: number;
  batchShuffle: boolean;
  fault?: FaultRule[];
}

const numberParser = (rule: string, ok: (n: number) => boolean) => (value: string) => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || !ok(n))
    throw new InvalidArgumentError(`expected ${rule}.`);
  return n;
};
const parsePositive = numberParser('a number > 0', (n) => n > 0);
const parseNonNegative = numberParser('a number ≥ 0', (n) => n >= 0);
const parseProbability = numberParser('a number from 0 to 1', (n) => n >= 0 && n <= 1);

const FAULT_KEYS = [
  'method',
  'path',
  'pathPattern',
  'scope',
  'status',
  'retryAfterSeconds',
  'latencyMs',
  'drop',
  'lostResponse',
  'probability',
  'count',
];

/** `--fault <json>` (repeatable): a FaultRule as JSON; `pathPattern` becomes the rule's RegExp path. */
function parseFault(value: string, previous: FaultRule[] = []): FaultRule[] {
  let rule: FaultRule & { pathPattern?: string };
  try {
    rule = JSON.parse(value);
    if (typeof rule !== 'object' || rule === null || Array.isArray(rule)) throw new Error('not an object');
    const unknown = Object.keys(rule).filter((k) => !FAULT_KEYS.includes(k));
    if (unknown.length) throw new Error(`unknown key ${unknown.join(', ')}; known: ${FAULT_KEYS.join(', ')}`);
    const { pathPattern, ...rest } = rule;
    rule = pathPattern === undefined ? rest : { ...rest, path: new RegExp(pathPattern) };
  } catch (error) {
    throw new InvalidArgumentError(`expected a JSON fault rule (${(error as Error).message}).`);
  }
  return [...previous, rule];
}

/** commander parser for a duration in seconds: a positive number, else a usage error (exit 2). */
function parseSeconds(value: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new InvalidArgumentError('expected a positive number of seconds.');
  return seconds;
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

/** Options from the environment (validated by configFromEnv), then flags on top. */
function syncOptions(global: GlobalOptions, env: NodeJS.ProcessEnv): SharePointSyncOptions {
  const withSite = { ...env };
  const lastSite = global.site?.at(-1);
  if (lastSite) {
    const site = parseSiteRef(lastSite);
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

function summariseLoads(results: LoadResult[]): string {
  return results
    .map(
      (r) =>
        `${r.entity}: ${r.mode} load, ${r.loaded} loaded, ${r.deleted} deleted, ${r.skipped.length} skipped` +
        (r.pendingLocal ? `, ${r.pendingLocal} kept (unsent local changes)` : '') +
        ` in ${(r.durationMs / 1000).toFixed(1)} s` +
        r.skipped.map((s) => `\n  skipped item ${s.itemId}: ${s.reason}`).join(''),
    )
    .join('\n');
}

export function buildProgram(
  env: NodeJS.ProcessEnv = process.env,
  { json = false }: { json?: boolean } = {},
): Command {
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
    .version(packageVersion(), '-V, --version', 'print the version')
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

  program
    .command('load')
    .description(
      'load lists from SharePoint into PostgreSQL, or apply their delta when already loaded (all synced entities when none are named)',
    )
    .argument('[entity...]', 'entity names, e.g. Company Person')
    .action(async (entities: string[]) => {
      await withSync(async (sync, output) => {
        // First loads in dependency order; a list already loaded (within its TTL, "cached") gets its
        // delta now, as an operator who types `load` expects to see SharePoint's current state.
        const first = entities.length ? await sync.ensureLoaded(entities) : await sync.loadAll();
        const results: LoadResult[] = [];
        for (const result of first)
          results.push(result.mode === 'cached' ? await sync.refresh(result.entity) : result);
        output.result(results, () => summariseLoads(results));
      });
    });

  program
    .command('pull')
    .description('apply what changed in SharePoint now (delta), whatever the cache TTL')
    .argument('[entity...]', 'entity names (all synced entities when none are named)')
    .action(async (entities: string[]) => {
      await withSync(async (sync, output) => {
        const results = entities.length
          ? (await Promise.all(entities.map((entity) => sync.pull(entity)))).flat()
          : await sync.pull();
        output.result(results, () => summariseLoads(results));
      });
    });

  program
    .command('rebuild')
    .description('drop every cached row and reload from SharePoint')
    .option('--force', 'rebuild even while write-backs are pending (they are lost)')
    .action(async (options: { force?: boolean }) => {
      await withSync(async (sync, output) => {
        const results = await sync.rebuild({ force: Boolean(options.force) });
        output.result(results, () => summariseLoads(results));
      });
    });

  program
    .command('verify')
    .description('compare PostgreSQL with SharePoint; exit 1 on drift')
    .action(async () => {
      await withSync(async (sync, output) => {
        const report = await sync.verify();
        output.result(report, () => formatVerifyReport(report));
        if (!report.ok) process.exitCode = EXIT.failed;
      });
    });

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
    .argument('<choice>', 'sharepoint | local')
    .action(async (id: string, choice: string) => {
      if (choice !== 'sharepoint' && choice !== 'local') {
        throw new UsageError(`conflicts resolve: choice must be "sharepoint" or "local", got "${choice}"`);
      }
      await withSync(async (sync, output) => {
        const resolved = await sync.conflicts.resolve(
          Number(id),
          choice === 'sharepoint' ? 'sharePoint' : 'local',
        );
        output.result(resolved, () => `conflict #${resolved.id} resolved: ${resolved.resolution}`);
      });
    });

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

  program
    .command('emulator')
    .description('run the SharePoint emulator on loopback (Graph paths under /v1.0)')
    .addOption(
      new Option('--port <port>', 'port to listen on (0 picks a free one)')
        .default(4010)
        .argParser(parsePort),
    )
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--site <host:/path...>', 'a site to serve (repeatable); others answer 404')
    .option('--seed <n>', 'seed for deterministic shuffling and faults', (v: string) => {
      if (!/^-?\d+$/.test(v)) throw new InvalidArgumentError('expected an integer.');
      return Number(v);
    })
    .option('--ru-per-minute <n>', 'resource-unit budget per rolling minute (429 beyond it)', parsePositive)
    .option('--latency-ms <ms>', 'fixed time every HTTP call takes', parseNonNegative)
    .option('--latency-per-item-ms <ms>', 'added time per list item an answer carries', parseNonNegative)
    .option('--delta-repeat-probability <p>', 'chance a delta page repeats an entry (0–1)', parseProbability)
    .option('--no-batch-shuffle', 'answer $batch requests in the order asked')
    .option(
      '--fault <json>',
      'a fault rule, repeatable: {"method":"POST","pathPattern":"/items$","status":429,"retryAfterSeconds":2,"probability":0.1} (keys of FaultRule; pathPattern is a RegExp source, path an exact path)',
      parseFault,
    )
    .action(async (options: EmulatorCommandOptions) => {
      const { createEmulator } = await import('typeorm-sharepoint/testing');
      // `--site` after `emulator` is usually taken by the program-level option (same name): use either.
      const given = options.site?.length ? options.site : (program.opts<GlobalOptions>().site ?? []);
      const sites = given.length ? given : ['contoso.sharepoint.com:/sites/crm'];
      for (const site of sites) parseSiteRef(site);
      const emulator = createEmulator({
        sites,
        ...(options.seed === undefined ? {} : { seed: options.seed }),
        ...(options.ruPerMinute === undefined ? {} : { resourceUnitsPerMinute: options.ruPerMinute }),
        latency: { perRequestMs: options.latencyMs ?? 0, perItemMs: options.latencyPerItemMs ?? 0 },
        ...(options.deltaRepeatProbability === undefined
          ? {}
          : { deltaRepeatProbability: options.deltaRepeatProbability }),
        shuffleBatchResponses: options.batchShuffle,
        faults: options.fault ?? [],
      });
      const { url } = await emulator.listen({ port: options.port, host: options.host });
      out().result(
        { url: `${url}/v1.0`, sites },
        () => `SharePoint emulator at ${url}/v1.0 serving ${sites.join(', ')} (Ctrl+C stops it)`,
      );
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await emulator.close();
    });

  return program;
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
