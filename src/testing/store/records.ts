/** The records of the in-memory SharePoint: sites → lists → columns and items. */

export interface ColumnRecord {
  id: string;
  name: string;
  displayName: string;
  description: string;
  columnGroup: string;
  required: boolean;
  indexed: boolean;
  enforceUniqueValues: boolean;
  hidden: boolean;
  readOnly: boolean;
  /** Built-in column (only Title may be edited). */
  system: boolean;
  /** The type facet (`text`, `number`, …) or undefined for computed built-ins. */
  facet?: string;
  facetValue: Record<string, unknown>;
  /** Other columnDefinition properties given at creation (defaultValue, validation, …). */
  extra: Record<string, unknown>;
}

export interface ItemRecord {
  id: number;
  uniqueId: string;
  version: number;
  createdAt: number;
  modifiedAt: number;
  fields: Record<string, unknown>;
  /** Position in the change sequence of its latest write. */
  seq: number;
}

export interface ListRecord {
  id: string;
  displayName: string;
  name: string;
  description: string;
  createdAt: number;
  modifiedAt: number;
  site: SiteRecord;
  columns: ColumnRecord[];
  items: Map<number, ItemRecord>;
  /** Deleted item id → sequence of the delete. */
  tombstones: Map<number, number>;
  nextItemId: number;
  /** Bumped by expireDeltaTokens: older tokens answer 410. */
  tokenEpoch: number;
}

export interface SiteRecord {
  id: string;
  hostname: string;
  path: string;
  name: string;
  createdAt: number;
  lists: ListRecord[];
}

/** SharePoint keeps date-times to the second: `2026-01-01T10:00:00Z`. */
export function formatDate(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function itemETag(item: ItemRecord): string {
  return `"${item.uniqueId},${item.version}"`;
}
