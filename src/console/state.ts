import { type Logger, silentLogger } from '../context.js';
import type { SharePointSync } from '../sync/index.js';
import { type Authenticated, ConsoleAuth } from './auth.js';
import { History, SentCounter } from './figures.js';
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

  /** The Workspaces page's rows: every known workspace, its figures and its health. */
  async workspaceRows(): Promise<WorkspaceRow[]> {
    const statuses = await this.workspaces.status();
    const byId = new Map(statuses.map((s) => [s.workspace, s]));
    const ids = new Set([...(await this.knownWorkspaces()), ...byId.keys()]);
    return [...ids].sort().map((id): WorkspaceRow => {
      const s = byId.get(id);
      if (!s) return { workspace: id, attached: false, health: 'not attached', reason: '' };
      const figures = {
        pending: s.pending,
        lagSeconds: s.lagSeconds,
        deadLetters: s.deadLetters,
        openConflicts: s.openConflicts,
      };
      if (s.stranded)
        return {
          workspace: id,
          attached: false,
          health: 'problem',
          reason: `stranded: ${s.stranded.reason}`,
          ...figures,
        };
      const [health, reason]: [WorkspaceRow['health'], string] =
        s.deadLetters > 0
          ? ['problem', `${s.deadLetters} dead letter(s)`]
          : s.openConflicts > 0
            ? ['attention', `${s.openConflicts} open conflict(s)`]
            : s.lagSeconds > 300
              ? ['attention', 'a change has waited over 5 minutes']
              : ['ok', ''];
      return { workspace: id, attached: true, health, reason, ...figures };
    });
  }
}
