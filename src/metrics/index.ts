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

export class SyncMetrics {
  private readonly totals: ProcessTotals = emptyTotals();
  private readonly attributes: Attributes;
  private readonly errors;
  private readonly conflicts;
  private readonly latency;
  private readonly throughput;
  private readonly batchSize;
  private readonly resourceUnits;
  private readonly throttled;
  private readonly deadLettered;
  private readonly meter: Meter;
  private readonly observe: (result: import('@opentelemetry/api').BatchObservableResult) => Promise<void>;
  private readonly gauges;

  constructor(options: SyncMetricsOptions) {
    const meter = options.meter ?? metrics.getMeter(PACKAGE_NAME);
    this.meter = meter;
    this.attributes = { ...options.attributes };
    this.errors = meter.createCounter('sharepoint_sync_errors', {
      description: 'Write-back attempts that failed (each retry counts)',
    });
    this.conflicts = meter.createCounter('sharepoint_sync_conflicts', {
      description: 'Conflicts detected between SharePoint and local changes',
    });
    this.deadLettered = meter.createCounter('sharepoint_sync_dead_lettered', {
      description: 'Records moved to dead letters',
    });
    this.latency = meter.createHistogram('sharepoint_sync_latency', {
      description: 'Time from the local commit to the SharePoint acknowledgement',
      unit: 'ms',
    });
    this.throughput = meter.createCounter('sharepoint_sync_throughput', {
      description: 'Records written back to SharePoint',
    });
    this.batchSize = meter.createHistogram('sharepoint_sync_batch_size', {
      description: 'Requests per $batch sent by write-back',
    });
    this.resourceUnits = meter.createCounter('sharepoint_sync_resource_units', {
      description: 'SharePoint resource units spent (FACTS.md costs; inner $batch requests each count)',
    });
    this.throttled = meter.createCounter('sharepoint_sync_throttled', {
      description: 'Requests answered 429/503 by Graph',
    });
    this.gauges = {
      pending: meter.createObservableGauge('sharepoint_sync_pending', {
        description: 'Changes waiting to be written back',
      }),
      lag: meter.createObservableGauge('sharepoint_sync_lag_seconds', {
        description: 'Age of the oldest change not yet written back',
        unit: 's',
      }),
      deadLetters: meter.createObservableGauge('sharepoint_sync_dead_letters', {
        description: 'Records in dead letters',
      }),
      openConflicts: meter.createObservableGauge('sharepoint_sync_open_conflicts', {
        description: 'Conflicts waiting for a person (manualReview)',
      }),
      budgetUsedMinute: meter.createObservableGauge('sharepoint_sync_budget_used_minute', {
        description: 'Resource units started in the current minute (every process sharing the budget)',
      }),
      budgetUsedToday: meter.createObservableGauge('sharepoint_sync_budget_used_today', {
        description: 'Resource units started in the last 24 hours (every process sharing the budget)',
      }),
      budgetRemainingToday: meter.createObservableGauge('sharepoint_sync_budget_remaining_today', {
        description: "Resource units left of the app's daily limit in this tenant",
      }),
      budgetThrottled: meter.createObservableGauge('sharepoint_sync_budget_throttled', {
        description: '429/503 answers seen by every process sharing the budget',
      }),
    };
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
        this.throughput.add(event.count, { ...attributes, op: event.op });
        for (const ms of event.latencyMs) this.latency.record(ms, attributes);
        break;
      case 'writeback.batch':
        this.totals.batches += 1;
        this.batchSize.record(event.size, attributes);
        break;
      case 'writeback.retry':
        this.totals.errors += 1;
        this.errors.add(1, attributes);
        break;
      case 'writeback.deadLetter':
        this.totals.errors += 1;
        this.totals.deadLettered += 1;
        this.errors.add(1, attributes);
        this.deadLettered.add(1, attributes);
        break;
      case 'conflict':
        this.totals.conflicts += 1;
        this.conflicts.add(1, { ...attributes, policy: event.policy, resolution: event.resolution });
        break;
      default:
        break;
    }
  };

  /** Feed of the gateway's per-request observations. */
  onRequest = (request: RequestObservation): void => {
    this.totals.requests += 1;
    this.totals.resourceUnits += request.resourceUnits;
    if (request.resourceUnits > 0) this.resourceUnits.add(request.resourceUnits, this.attributes);
    if (request.throttled) {
      this.totals.throttled += 1;
      this.throttled.add(1, this.attributes);
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
