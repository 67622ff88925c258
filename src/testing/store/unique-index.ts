import type { ItemRecord, ListRecord } from './records.js';

/**
 * Value → item id, per unique column of a list: a duplicate check costs one lookup, not a scan (a list of
 * 100,000 items would otherwise take minutes to fill). Built on first use, kept current by every write.
 */
const uniqueIndexes = new WeakMap<ListRecord, Map<string, Map<string, number>>>();

/** SharePoint compares unique text case-insensitively. */
export function uniqueKey(value: unknown): string {
  return typeof value === 'string' ? `s:${value.toLowerCase()}` : `${typeof value}:${JSON.stringify(value)}`;
}

export function uniqueIndex(list: ListRecord, columnName: string): Map<string, number> {
  let perList = uniqueIndexes.get(list);
  if (!perList) {
    perList = new Map();
    uniqueIndexes.set(list, perList);
  }
  let index = perList.get(columnName);
  if (!index) {
    index = new Map();
    for (const item of list.items.values()) {
      const v = item.fields[columnName];
      if (v !== undefined && v !== null) index.set(uniqueKey(v), item.id);
    }
    perList.set(columnName, index);
  }
  return index;
}

export function unindexItem(list: ListRecord, fields: Record<string, unknown>, id: number): void {
  const perList = uniqueIndexes.get(list);
  if (!perList) return;
  for (const [columnName, index] of perList) {
    const v = fields[columnName];
    if (v !== undefined && v !== null && index.get(uniqueKey(v)) === id) index.delete(uniqueKey(v));
  }
}

export function indexItem(
  list: ListRecord,
  item: ItemRecord,
  before: Record<string, unknown> | undefined,
): void {
  if (before) unindexItem(list, before, item.id);
  const perList = uniqueIndexes.get(list);
  if (!perList) return;
  for (const [columnName, index] of perList) {
    const v = item.fields[columnName];
    if (v !== undefined && v !== null) index.set(uniqueKey(v), item.id);
  }
}
