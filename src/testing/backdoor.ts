import { columnJson } from './shapes.js';
import { formatDate, type ItemRecord, itemETag, type ListRecord } from './store/records.js';
import type { EmulatorState } from './store/state.js';
import type { ColumnSnapshot, EmulatorList, EmulatorSite, ItemSnapshot } from './types.js';

/**
 * `emulator.site(ref)`: act as a person editing in SharePoint. Not logged, costs no resource units, but the
 * same validation, eTags, delta and webhooks as a Graph call.
 */
export function backdoorSite(state: EmulatorState, ref: string): EmulatorSite {
  const site = state.resolveSiteRef(ref);
  if (!site)
    throw new Error(
      `Emulator: no site ${ref} (sites: ${state.sites.map((s) => `${s.hostname}:${s.path}`).join(', ')})`,
    );
  const listView = (list: ListRecord) => backdoorList(state, list);
  return {
    id: site.id,
    lists: () => site.lists.map(listView),
    list: (idOrTitle) => {
      const list = state.findList(site, idOrTitle);
      return list ? listView(list) : undefined;
    },
    createList: (definition) => listView(state.createList(site, { ...definition })),
  };
}

function backdoorList(state: EmulatorState, list: ListRecord): EmulatorList {
  return {
    id: list.id,
    displayName: list.displayName,
    columns: () => list.columns.map((c) => structuredClone(columnJson(c)) as ColumnSnapshot),
    items: () => [...list.items.values()].sort((a, b) => a.id - b.id).map(snapshot),
    item: (id) => {
      const item = state.findItem(list, id);
      return item ? snapshot(item) : undefined;
    },
    createItem: (fields) => snapshot(state.createItem(list, fields)),
    updateItem: (id, fields) => snapshot(state.updateItem(list, id, fields)),
    deleteItem: (id) => state.deleteItem(list, id),
  };
}

function snapshot(item: ItemRecord): ItemSnapshot {
  return {
    id: String(item.id),
    eTag: itemETag(item),
    createdDateTime: formatDate(item.createdAt),
    lastModifiedDateTime: formatDate(item.modifiedAt),
    fields: structuredClone(item.fields),
  };
}
