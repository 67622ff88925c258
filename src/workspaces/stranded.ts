import { type Meter, metrics } from '@opentelemetry/api';
import type { Logger } from '../context.js';
import { emptyTotals } from '../metrics/index.js';
import type { StrandedWorkspace, WorkspaceStatus } from './types.js';

/** Where a closed workspace left changes: its schema, its site and how many. */
export interface Parked {
  schema: string;
  site: string;
  pending: number;
}

/**
 * Workspaces closed with changes in their outbox (parked), and those among them the resolver no longer knows
 * (stranded: nobody will send their changes). Loud: a log line, `status()`, a counter and a gauge.
 */
export class StrandedWatch {
  private readonly parked = new Map<string, Parked>();
  private readonly strandedById = new Map<string, StrandedWorkspace>();
  private readonly counter: ReturnType<Meter['createCounter']>;
  private readonly gauge: ReturnType<Meter['createObservableGauge']>;

  constructor(
    private readonly logger: Logger,
    meter: Meter = metrics.getMeter('typeorm-sharepoint'),
  ) {
    this.counter = meter.createCounter('sharepoint_sync_workspaces_stranded', {
      description:
        'Workspaces found removed from the resolver with changes still in their outbox (nobody sends them)',
    });
    this.gauge = meter.createObservableGauge('sharepoint_sync_workspace_stranded_pending', {
      description: 'Changes left in the outbox of a workspace the resolver no longer knows',
    });
    this.gauge.addCallback((result) => {
      for (const s of this.strandedById.values()) result.observe(s.pending, { workspace: s.workspace });
    });
  }

  list(): StrandedWorkspace[] {
    return [...this.strandedById.values()];
  }

  /** One `status()` entry per stranded workspace (`stranded` set, figures from its last count). */
  statuses(): WorkspaceStatus[] {
    return this.list().map((s) => ({
      workspace: s.workspace,
      stranded: s,
      pending: s.pending,
      pendingByPriority: { P0: 0, P1: 0, P2: 0, P3: 0 },
      lagSeconds: 0,
      deadLetters: 0,
      openConflicts: 0,
      lists: [],
      totals: emptyTotals(),
      writeback: { enabled: false },
    }));
  }

  /** The workspace attached again: whatever it left is being sent. */
  forget(id: string): void {
    this.parked.delete(id);
    this.strandedById.delete(id);
  }

  /** The resolver returned nothing for `id`: stranded if it had left changes behind. */
  unknown(id: string): void {
    const parked = this.parked.get(id);
    if (parked) this.mark(id, parked);
  }

  /** Changes left in a closing workspace's outbox are sent on its next attach — if the resolver still knows it. */
  async leftBehind(id: string, parked: Parked, stillKnown: () => Promise<boolean>): Promise<void> {
    this.parked.set(id, parked);
    if (!(await stillKnown())) this.mark(id, parked);
  }

  private mark(id: string, parked: Parked): void {
    const stranded: StrandedWorkspace = {
      workspace: id,
      ...parked,
      detectedAt: new Date().toISOString(),
      reason: 'removed from the resolver with changes still in its outbox',
    };
    if (!this.strandedById.has(id)) this.counter.add(1, { workspace: id });
    this.strandedById.set(id, stranded);
    this.logger.error(
      `typeorm-sharepoint: workspace "${id}" was removed from the resolver with ${parked.pending} change(s) ` +
        `not sent to ${parked.site}; they stay in schema "${parked.schema}" and nothing will send them. Return it ` +
        'to the resolver and drain it (detach(id, { drain: true })) before removing it; see docs/workspaces.md.',
      { workspace: id, schema: parked.schema, site: parked.site, pending: parked.pending },
    );
  }
}
