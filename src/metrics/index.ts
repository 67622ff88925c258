import { type Attributes, type BatchObservableResult, type Meter, metrics } from '@opentelemetry/api';
import type { SyncEvent } from '../context.js';
import type { StoredListFigures } from './lists.js';

export { type ListGaugeRow, listFiguresFromRows, type StoredListFigures } from './lists.js';

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
  /** The budget's limits (graph.budget) for the `…_limit_minute`/`…_limit_day` gauges (not observed when absent). */
  resourceUnitsPerMinute?: number;
  resourceUnitsPerDay?: number;
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
  /** Reads the stored figures for the observable gauges (one point each, when `readListFigures` is absent). */
  readStoredFigures: () => Promise<StoredFigures>;
  /**
   * Reads the stored figures per list and priority: the gauges then have one point per row, with the
   * attributes `entity` and `priority` (their sum is `readStoredFigures`'s total; the lag's max is its lag).
   */
  readListFigures?: () => Promise<StoredListFigures[]>;
  /** The list's priority (`P0`–`P3`) by entity name: added as `priority` to the counters that carry `entity`. */
  listPriority?: (entity: string) => string | undefined;
  /** Reads the resource-unit budget's figures for the `sharepoint_sync_budget_*` gauges. */
  readBudget?: () => Promise<BudgetObservation | undefined>;
}

const PACKAGE_NAME = 'typeorm-sharepoint';

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

/** The instruments, as data: OpenTelemetry name, description, unit (docs/operations.md, docs/grafana.md). */
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
  pending: {
    name: 'sharepoint_sync_pending',
    description: 'Changes waiting to be written back, per list (entity) and priority',
  },
  lag: {
    name: 'sharepoint_sync_lag_seconds',
    description: 'Age of the oldest change not yet written back, per list (entity) and priority',
    unit: 's',
  },
  deadLetters: {
    name: 'sharepoint_sync_dead_letters',
    description: 'Records in dead letters, per list (entity) and priority',
  },
  openConflicts: {
    name: 'sharepoint_sync_open_conflicts',
    description: 'Conflicts waiting for a person (manualReview), per list (entity)',
  },
  lastRefresh: {
    name: 'sharepoint_sync_last_refresh_timestamp_seconds',
    description: 'When the list (entity) was last loaded or pulled (delta) into PostgreSQL, by any process',
    unit: 's',
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
  budgetLimitMinute: {
    name: 'sharepoint_sync_budget_limit_minute',
    description:
      'Resource units allowed per minute (graph.budget; shared by every process sharing the budget)',
  },
  budgetLimitDay: {
    name: 'sharepoint_sync_budget_limit_day',
    description: "Resource units allowed per 24 hours: the app's daily limit in this tenant (graph.budget)",
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

/**
 * OpenTelemetry meters named `sharepoint_sync_*`. One instance per `SharePointSync`, so several
 * instances in one process (workspaces) never share labels or totals by accident.
 */
export class SyncMetrics {
  private readonly totals: ProcessTotals = emptyTotals();
  private readonly attributes: Attributes;
  private readonly counters;
  private readonly histograms;
  private readonly meter: Meter;
  private readonly observe: (result: BatchObservableResult) => Promise<void>;
  private readonly gauges;
  private readonly listPriority: ((entity: string) => string | undefined) | undefined;

  constructor(options: SyncMetricsOptions) {
    const meter = options.meter ?? metrics.getMeter(PACKAGE_NAME);
    this.meter = meter;
    this.attributes = { ...options.attributes };
    this.listPriority = options.listPriority;
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
        if (budget.resourceUnitsPerMinute !== undefined)
          result.observe(this.gauges.budgetLimitMinute, budget.resourceUnitsPerMinute, this.attributes);
        if (budget.resourceUnitsPerDay !== undefined)
          result.observe(this.gauges.budgetLimitDay, budget.resourceUnitsPerDay, this.attributes);
      }
      if (options.readListFigures) {
        const lists = await options.readListFigures().catch(() => undefined);
        if (lists) this.observeLists(result, lists);
        return;
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

  /** One point per list and priority (bounded: lists × priorities), with the instance's attributes. */
  private observeLists(result: BatchObservableResult, lists: readonly StoredListFigures[]): void {
    for (const list of lists) {
      const attributes = {
        ...this.attributes,
        entity: list.entity,
        ...(list.priority ? { priority: list.priority } : {}),
      };
      if (list.pending !== undefined) result.observe(this.gauges.pending, list.pending, attributes);
      if (list.lagSeconds !== undefined) result.observe(this.gauges.lag, list.lagSeconds, attributes);
      if (list.deadLetters !== undefined)
        result.observe(this.gauges.deadLetters, list.deadLetters, attributes);
      if (list.openConflicts !== undefined)
        result.observe(this.gauges.openConflicts, list.openConflicts, attributes);
      if (list.refreshedAt !== undefined)
        result.observe(this.gauges.lastRefresh, list.refreshedAt, attributes);
    }
  }

  /** The instance's attributes, with the event's list (`entity`) and that list's `priority` when it has one. */
  private eventAttributes(event: SyncEvent): Attributes {
    if (!('entity' in event)) return this.attributes;
    const priority = this.listPriority?.(event.entity);
    return { ...this.attributes, entity: event.entity, ...(priority ? { priority } : {}) };
  }

  /** Feed of the library's own events (see `SyncEvent`). */
  onEvent = (event: SyncEvent): void => {
    const attributes = this.eventAttributes(event);
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
