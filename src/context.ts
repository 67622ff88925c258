import type { DataSource } from 'typeorm';
import { UsageError } from './errors/index.js';
import type { GraphClient } from './graph/index.js';
import type { ListSchema } from './schema/index.js';

/** Structured logger; every field is safe to log (no secrets ever reach it). */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** What the concerns report while they work; metrics, progress bars and tests listen to it. */
export type SyncEvent =
  | {
      type: 'writeback.sent';
      entity: string;
      op: 'create' | 'update' | 'delete';
      count: number;
      latencyMs: number[];
    }
  | { type: 'writeback.batch'; size: number }
  | { type: 'writeback.retry'; entity: string; twentyId: string; error: string; attempt: number }
  | { type: 'writeback.deadLetter'; entity: string; twentyId: string; error: string }
  | { type: 'conflict'; entity: string; twentyId: string; policy: string; resolution: string }
  | { type: 'load.progress'; entity: string; loaded: number; skipped: number; total?: number; done: boolean }
  | { type: 'load.skipped'; entity: string; itemId: string; reason: string }
  | { type: 'inbound.applied'; entity: string; upserted: number; deleted: number; echoes: number }
  /** A poll tick: the lists it refreshed (only lists already loaded). */
  | { type: 'inbound.polled'; entities: string[] };

export type SyncEventListener = (event: SyncEvent) => void;

/** Everything a concern needs, built once by `SharePointSync.attach` and passed down. */
export interface SyncContext {
  dataSource: DataSource;
  /** Schema of the library's own tables (`sharepoint_sync` by default). */
  schema: string;
  graph: GraphClient;
  site: { id: string; hostname: string; path: string };
  lists: ListSchema[];
  /** entityName → SharePoint list id, known after provisioning or site resolution. */
  listIds: Map<string, string>;
  logger: Logger;
  emit(event: SyncEvent): void;
}

export function listFor(ctx: Pick<SyncContext, 'lists'>, entity: string | Function): ListSchema {
  const found = ctx.lists.find((l) =>
    typeof entity === 'string' ? l.entityName === entity : l.target === entity,
  );
  if (!found) {
    const name = typeof entity === 'string' ? entity : entity.name;
    throw new UsageError(
      `typeorm-sharepoint: ${name} is not a SharePoint-synced entity (register it in the DataSource, and decorate it with @SharePointList or name it in attach's lists).`,
    );
  }
  return found;
}
