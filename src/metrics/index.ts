import { type Attributes, type Meter, metrics } from '@opentelemetry/api';
import type { SyncEvent } from '../context.js';

/** What the gateway reports for every HTTP call and inner `$batch` request. */
export interface RequestObservation {
  status: number;
  resourceUnits: number;
  throttled: boolean;
}

/** Figures that live in PostgreSQL (read when a metric reader collects, or for `status()`). */
export interface StoredFigures {
  pending: number;
  lagSeconds: number;
  deadLetters: number;
  openConflicts: number;
}

/** Counters kept in process since attach; `status()` returns them next to the stored figures. */
export interface ProcessTotals {
  sent: number;
  errors: number;
  conflicts: number;
  deadLettered: number;
  batches: number;
  requests: number;
  resourceUnits: number;
  throttled: number;
}

/** The budget's figures (graph's `BudgetFigures`; all processes when the budget is shared). */
export interface BudgetObservation {
  usedThisMinute: number;
  usedToday: number;
  remainingToday: number;
  throttled: number;
}

export interface SyncMetricsOptions {
  /** Defaults to the global meter provider: a no-op until the application installs an OpenTelemetry SDK. */
  meter?: Meter;
  /** Added to every data point, e.g. `{ workspace: 'acme' }`. */
  attributes?: Attributes;
  /** Reads the stored figures for the observable gauges. */
  readStoredFigures: () => Promise<StoredFigures>;
  /** Reads the resource-unit budget's figures for the `sharepoint_sync_budget_*` gauges. */
  readBudget?: () => Promise<BudgetObservation | undefined>;
}

const PACKAGE_NAME = 'typeorm-sharepoint';

/**
 * OpenTelemetry meters named `sharepoint_sync_*`. One instance per `SharePointSync`, so several
 * instances in one process (workspaces) never share labels or totals by accident.
 */
/** Totals of a process that has sent nothing yet (also what a detached workspace reports). */
export function emptyTotals(): ProcessTotals {
  return {
    sent: 0,
    errors: 0,
    conflicts: 0,
    deadLettered: 0,
    batches: 0,
    requests: 0,
    resourceUnits: 0,
    throttled: 0,
  };
}

/** The instruments, as data: OpenTelemetry name, description, unit. docs/observability.md names them too. */
const COUNTERS = {
  errors: {
    name: 'sharepoint_sync_errors',
    description: 'Write-back attempts that failed (each retry counts)',
  },
  conflicts: {
    name: 'sharepoint_sync_conflicts',
    description: 'Conflicts detected between SharePoint and local changes',
  },
  deadLettered: { name: 'sharepoint_sync_dead_lettered', description: 'Records moved to dead letters' },
  throughput: { name: 'sharepoint_sync_throughput', description: 'Records written back to SharePoint' },
  resourceUnits: {
    name: 'sharepoint_sync_resource_units',
    description: 'SharePoint resource units spent (docs/graph.md costs; inner $batch requests each count)',
  },
  throttled: { name: 'sharepoint_sync_throttled', description: 'Requests answered 429/503 by Graph' },
} as const;
const HISTOGRAMS = {
  latency: {
    name: 'sharepoint_sync_latency',
    description: 'Time from the local commit to the SharePoint acknowledgement',
    unit: 'ms',
  },
  batchSize: { name: 'sharepoint_sync_batch_size', description: 'Requests per $batch sent by write-back' },
} as const;
const GAUGES = {
  pending: { name: 'sharepoint_sync_pending', description: 'Changes waiting to be written back' },
  lag: {
    name: 'sharepoint_sync_lag_seconds',
    description: 'Age of the oldest change not yet written back',
    unit: 's',
  },
  deadLetters: { name: 'sharepoint_sync_dead_letters', description: 'Records in dead letters' },
  openConflicts: {
    name: 'sharepoint_sync_open_conflicts',
    description: 'Conflicts waiting for a person (manualReview)',
  },
  budgetUsedMinute: {
    name: 'sharepoint_sync_budget_used_minute',
    description: 'Resource units started in the current minute (every process sharing the budget)',
  },
  budgetUsedToday: {
    name: 'sharepoint_sync_budget_used_today',
    description: 'Resource units started in the last 24 hours (every process sharing the budget)',
  },
  budgetRemainingToday: {
    name: 'sharepoint_sync_budget_remaining_today',
    description: "Resource units left of the app's daily limit in this tenant",
  },
  budgetThrottled: {
    name: 'sharepoint_sync_budget_throttled',
    description: '429/503 answers seen by every process sharing the budget',
  },
} as const;

interface InstrumentSpec {
  name: string;
  description: string;
  unit?: string;
}

/** One instrument per entry of `specs`, made by `create`, under the same keys. */
function instruments<K extends string, T>(
  specs: Record<K, InstrumentSpec>,
  create: (name: string, options: { description: string; unit?: string }) => T,
): Record<K, T> {
  return Object.fromEntries(
    Object.entries<InstrumentSpec>(specs).map(([key, { name, ...options }]) => [key, create(name, options)]),
  ) as Record<K, T>;
}

export class SyncMetrics {
  private readonly totals: ProcessTotals = emptyTotals();
  private readonly attributes: Attributes;
  private readonly counters;
  private readonly histograms;
  private readonly meter: Meter;
  private readonly observe: (result: import('@opentelemetry/api').BatchObservableResult) => Promise<void>;
  private readonly gauges;

  constructor(options: SyncMetricsOptions) {
    const meter = options.meter ?? metrics.getMeter(PACKAGE_NAME);
    this.meter = meter;
    this.attributes = { ...options.attributes };
    this.counters = instruments(COUNTERS, (name, o) => meter.createCounter(name, o));
    this.histograms = instruments(HISTOGRAMS, (name, o) => meter.createHistogram(name, o));
    this.gauges = instruments(GAUGES, (name, o) => meter.createObservableGauge(name, o));
    this.observe = async (result) => {
      const budget = await options.readBudget?.().catch(() => undefined);
      if (budget) {
        result.observe(this.gauges.budgetUsedMinute, budget.usedThisMinute, this.attributes);
        result.observe(this.gauges.budgetUsedToday, budget.usedToday, this.attributes);
        result.observe(this.gauges.budgetRemainingToday, budget.remainingToday, this.attributes);
        result.observe(this.gauges.budgetThrottled, budget.throttled, this.attributes);
      }
      const figures = await options.readStoredFigures().catch(() => undefined);
      if (!figures) return;
      result.observe(this.gauges.pending, figures.pending, this.attributes);
      result.observe(this.gauges.lag, figures.lagSeconds, this.attributes);
      result.observe(this.gauges.deadLetters, figures.deadLetters, this.attributes);
      result.observe(this.gauges.openConflicts, figures.openConflicts, this.attributes);
    };
    meter.addBatchObservableCallback(this.observe, Object.values(this.gauges));
  }

  /** Feed of the library's own events (see `SyncEvent`). */
  onEvent = (event: SyncEvent): void => {
    const attributes = 'entity' in event ? { ...this.attributes, entity: event.entity } : this.attributes;
    switch (event.type) {
      case 'writeback.sent':
        this.totals.sent += event.count;
        this.counters.throughput.add(event.count, { ...attributes, op: event.op });
        for (const ms of event.latencyMs) this.histograms.latency.record(ms, attributes);
        break;
      case 'writeback.batch':
        this.totals.batches += 1;
        this.histograms.batchSize.record(event.size, attributes);
        break;
      case 'writeback.retry':
        this.totals.errors += 1;
        this.counters.errors.add(1, attributes);
        break;
      case 'writeback.deadLetter':
        this.totals.errors += 1;
        this.totals.deadLettered += 1;
        this.counters.errors.add(1, attributes);
        this.counters.deadLettered.add(1, attributes);
        break;
      case 'conflict':
        this.totals.conflicts += 1;
        this.counters.conflicts.add(1, { ...attributes, policy: event.policy, resolution: event.resolution });
        break;
      default:
        break;
    }
  };

  /** Feed of the gateway's per-request observations. */
  onRequest = (request: RequestObservation): void => {
    this.totals.requests += 1;
    this.totals.resourceUnits += request.resourceUnits;
    if (request.resourceUnits > 0) this.counters.resourceUnits.add(request.resourceUnits, this.attributes);
    if (request.throttled) {
      this.totals.throttled += 1;
      this.counters.throttled.add(1, this.attributes);
    }
  };

  processTotals(): ProcessTotals {
    return { ...this.totals };
  }

  /** Detaches the observable callback (a closed instance must not keep querying PostgreSQL). */
  close(): void {
    this.meter.removeBatchObservableCallback(this.observe, Object.values(this.gauges));
  }
}
