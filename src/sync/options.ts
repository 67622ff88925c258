import type { Meter } from '@opentelemetry/api';
import type { CacheOptions } from '../cache/index.js';
import type { Logger } from '../context.js';
import type { GraphClientOptions, GraphCredential } from '../graph/index.js';
import type { InboundOptions, WebhookOptions } from '../inbound/index.js';
import type { ConflictPolicy, ListConfig, Priority } from '../schema/index.js';
import type { WritebackOptions } from '../writeback/index.js';

/**
 * The options of `SharePointSync.attach`. Their defaults and validation are one table in src/options
 * (docs/configuration.md is its readable copy).
 */
export interface SharePointSyncOptions {
  /** The SharePoint site that holds the lists, e.g. `{ hostname: 'contoso.sharepoint.com', path: '/sites/crm' }`. */
  site: { hostname: string; path: string };
  /** Any `@azure/identity` TokenCredential, or the official Graph SDK's `AuthenticationProvider`. Omit it for the emulator. */
  credential?: GraphCredential;
  /** Gateway settings: base URL (emulator, national clouds), timeouts, retry, resource-unit budget. */
  graph?: Omit<GraphClientOptions, 'credential'>;
  /** Schema of the library's own tables. Default `sharepoint_sync`. */
  schema?: string;
  /** Priority of lists whose `@SharePointList` names none (from `SHAREPOINT_SYNC_MODE`). Default `P1`. */
  defaultPriority?: Priority;
  /** Entity names to sync; other `@SharePointList` entities of the DataSource are ignored. Default: all. */
  entities?: string[];
  /**
   * Lists configured without decorators, by entity name (an `EntitySchema`'s `name` or a class name): the
   * `@SharePointList` options plus `columns: { [propertyPath]: SharePointColumnOptions | false }`. Merged
   * with decorators; the same option set differently in both is a `SchemaError`. See docs/schema.md.
   */
  lists?: Record<string, ListConfig>;
  /** Conflict policy of lists whose `@SharePointList` names none. Default `sharePointPriority`. */
  conflictResolution?: ConflictPolicy;
  /** Workspace id (multi-tenant apps, `SharePointWorkspaces`): carried by `status()` and every metric point. */
  workspace?: string;
  bootstrap?: {
    /** Create missing lists/columns during `attach`. Default true. */
    onAttach?: boolean;
    /** May bootstrap create lists? Default true. */
    createLists?: boolean;
    /** May bootstrap add columns? Default true. */
    createColumns?: boolean;
    /** Treat drift (a column that differs, an extra column) as an error. Default false: reported only. */
    failOnDrift?: boolean;
  };
  cache?: Partial<CacheOptions>;
  writeback?: Partial<WritebackOptions>;
  /** Delta polling of every list (the safety net under webhooks). `pollIntervalSeconds: 0` turns it off. */
  inbound?: InboundOptions;
  /** Change notifications: the handler's secret and path, and where Graph should call (`baseUrl`). */
  webhooks?: WebhookOptions;
  logger?: Logger;
  /** OpenTelemetry: a meter (default: the global provider's, a no-op until the app installs an SDK) and attributes added to every point. */
  metrics?: { meter?: Meter; attributes?: Record<string, string> };
}
