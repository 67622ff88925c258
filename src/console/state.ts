import { type Logger, silentLogger } from '../context.js';
import type { SharePointSync } from '../sync/index.js';
import { type Authenticated, ConsoleAuth } from './auth.js';
import { History, SentCounter, storedWorkspaceFigures, type WorkspaceFigures } from './figures.js';
import type { WorkspaceRow } from './html.js';
import type { ConsoleOptions, ConsoleWorkspaces } from './options.js';
import { message, type Reply, redirect } from './reply.js';

/** The sync a page or an action is about, and its key in the charts' history ('' for a single sync). */
export interface Target {
  sync: SharePointSync;
  key: string;
}

/**
 * What the console keeps between requests: its options, sign-in, the last hour's samples and the sent
 * counters of each sync shown; and the look-ups every route shares (the target sync, the workspace rows,
 * the audit log).
 */
export class ConsoleState {
  readonly base: string;
  readonly logger: Logger;
  readonly auth: ConsoleAuth;
  readonly history = new History();
  readonly counters = new Map<SharePointSync, SentCounter>();
  readonly refreshMs: number;
  readonly multi: boolean;
  readonly sessionTtlMs: number;
  private readonly sampler: ReturnType<typeof setInterval>;
  private sampling = false;

  constructor(readonly options: ConsoleOptions) {
    this.base = (options.basePath ?? '').replace(/\/$/, '');
    this.logger = options.logger ?? silentLogger;
    this.sessionTtlMs = options.sessionTtlMs ?? 8 * 60 * 60_000;
    this.auth = new ConsoleAuth({
      token: options.token,
      readOnlyToken: options.readOnlyToken,
      authorize: options.authorize,
      sessionTtlMs: this.sessionTtlMs,
    });
    this.refreshMs = options.refreshIntervalMs ?? 2000;
    this.multi = Boolean(options.workspaces);
    if (options.sync) this.counterFor(options.sync);
    this.sampler = setInterval(() => this.sampleOnce(), options.sampleIntervalMs ?? 10_000);
    this.sampler.unref?.();
    void this.sample().catch(() => undefined);
  }

  counterFor(sync: SharePointSync): SentCounter {
    let counter = this.counters.get(sync);
    if (!counter) {
      counter = new SentCounter(sync);
      this.counters.set(sync, counter);
    }
    return counter;
  }

  /** Stops the sampler and the counters' listeners (the syncs stay attached). */
  close(): void {
    clearInterval(this.sampler);
    for (const counter of this.counters.values()) counter.stop();
    this.counters.clear();
  }

  private async sample(): Promise<void> {
    if (this.options.sync) {
      this.history.record('', await this.options.sync.status());
      return;
    }
    for (const status of await this.workspaces.status())
      if (!status.stranded) this.history.record(status.workspace, status);
  }

  /** One sample at a time: a slow one is not stacked on. */
  private sampleOnce(): void {
    if (this.sampling) return;
    this.sampling = true;
    this.sample()
      .catch((error: unknown) =>
        this.logger.warn('typeorm-sharepoint console: sampling failed', { error: String(error) }),
      )
      .finally(() => {
        this.sampling = false;
      });
  }

  private get workspaces(): ConsoleWorkspaces {
    return this.options.workspaces!;
  }

  async knownWorkspaces(): Promise<string[]> {
    const ids = new Set(this.workspaces.attached());
    for (const id of (await this.options.workspaceIds?.()) ?? []) ids.add(id);
    return [...ids];
  }

  /** The sync a page is about: the one given, or the `?workspace=` one. */
  async target(workspace: string | null): Promise<Target | Reply> {
    if (this.options.sync) return { sync: this.options.sync, key: '' };
    if (!workspace) return redirect(`${this.base}/workspaces`);
    const known =
      this.workspaces.attached().includes(workspace) ||
      (this.options.attachOnView && (await this.knownWorkspaces()).includes(workspace));
    if (!known)
      return message(404, 'Not attached', `Workspace "${workspace}" is not attached in this process.`);
    const sync = await this.workspaces.get(workspace);
    this.counterFor(sync);
    return { sync, key: workspace };
  }

  /** Every action is logged with who did it. */
  audit(who: Authenticated, action: string, fields: Record<string, unknown>): void {
    this.logger.info(`typeorm-sharepoint console: ${action}`, {
      who: who.principal.name,
      role: who.principal.role,
      via: who.via,
      ...fields,
    });
  }

  /**
   * The Workspaces page's rows: every known workspace with its figures and health — an attached one's from its
   * `status()`, another's read from its schema's tables (`storedFigures`) without attaching it. Each one that
   * opens from here (attached, or any known one with `attachOnView`) is linked.
   */
  async workspaceRows(): Promise<WorkspaceRow[]> {
    const statuses = await this.workspaces.status();
    const byId = new Map(statuses.map((s) => [s.workspace, s]));
    const attached = new Set(this.workspaces.attached());
    const ids = new Set([...(await this.knownWorkspaces()), ...byId.keys()]);
    const opens = (id: string) => attached.has(id) || Boolean(this.options.attachOnView);
    return Promise.all(
      [...ids].sort().map(async (id): Promise<WorkspaceRow> => {
        const s = byId.get(id);
        if (s?.stranded)
          return {
            workspace: id,
            attached: false,
            opens: false,
            health: 'problem',
            reason: `stranded: ${s.stranded.reason}`,
            ...figuresOf(s),
          };
        if (s) return { workspace: id, attached: true, opens: true, ...healthOf(s), ...figuresOf(s) };
        const stored = await this.storedFiguresOf(id);
        if (!stored || 'reason' in stored)
          return {
            workspace: id,
            attached: false,
            opens: opens(id),
            health: 'not attached',
            reason: stored?.reason ?? '',
          };
        return { workspace: id, attached: false, opens: opens(id), ...healthOf(stored), ...stored };
      }),
    );
  }

  /** A workspace's figures from its schema (`storedFigures`), or why there are none. */
  private async storedFiguresOf(id: string): Promise<WorkspaceFigures | { reason: string } | undefined> {
    const source = this.options.storedFigures;
    if (!source) return undefined;
    try {
      const figures = await storedWorkspaceFigures(source.dataSource, await source.schemaOf(id));
      return figures ?? { reason: 'nothing stored yet (never attached)' };
    } catch (error) {
      this.logger.warn('typeorm-sharepoint console: reading a workspace’s stored figures failed', {
        workspace: id,
        error: String(error),
      });
      return { reason: 'its stored figures could not be read (see the log)' };
    }
  }
}

const figuresOf = (s: WorkspaceFigures): WorkspaceFigures => ({
  pending: s.pending,
  lagSeconds: s.lagSeconds,
  deadLetters: s.deadLetters,
  openConflicts: s.openConflicts,
});

/** Dead letters are a problem; open conflicts or a change waiting over five minutes want attention. */
function healthOf(s: WorkspaceFigures): Pick<WorkspaceRow, 'health' | 'reason'> {
  if (s.deadLetters > 0) return { health: 'problem', reason: `${s.deadLetters} dead letter(s)` };
  if (s.openConflicts > 0) return { health: 'attention', reason: `${s.openConflicts} open conflict(s)` };
  if (s.lagSeconds > 300) return { health: 'attention', reason: 'a change has waited over 5 minutes' };
  return { health: 'ok', reason: '' };
}
