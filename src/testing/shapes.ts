import {
  type ColumnRecord,
  formatDate,
  type ItemRecord,
  itemETag,
  type ListRecord,
  type SiteRecord,
} from './store/records.js';

/** JSON shapes as Graph v1.0 returns them; only properties of v1.0-lists-schema.json. */

/** Who the emulator says created and changed items: an identity with its id, as listitem-get.md shows. */
const SYSTEM_ACCOUNT = {
  user: { id: '1a2b3c4d-0000-4000-8000-5e7e5e7e5e7e', displayName: 'System Account' },
};

export function siteJson(site: SiteRecord): Record<string, unknown> {
  const [, siteGuid, webGuid] = site.id.split(',');
  return {
    id: site.id,
    createdDateTime: formatDate(site.createdAt),
    lastModifiedDateTime: formatDate(site.createdAt),
    description: '',
    name: site.name,
    displayName: site.name,
    webUrl: `https://${site.hostname}${site.path === '/' ? '' : site.path}`,
    root: site.path === '/' ? {} : undefined,
    sharepointIds: {
      siteId: siteGuid,
      webId: webGuid,
      siteUrl: `https://${site.hostname}${site.path === '/' ? '' : site.path}`,
    },
    siteCollection: { hostname: site.hostname },
  };
}

export function listJson(list: ListRecord, expandColumns: boolean): Record<string, unknown> {
  const site = list.site;
  return {
    '@odata.etag': `"${list.id},${list.columns.length}"`,
    id: list.id,
    createdDateTime: formatDate(list.createdAt),
    lastModifiedDateTime: formatDate(list.modifiedAt),
    description: list.description,
    eTag: `"${list.id},${list.columns.length}"`,
    name: list.name,
    displayName: list.displayName,
    webUrl: `https://${site.hostname}${site.path === '/' ? '' : site.path}/Lists/${list.name}`,
    createdBy: SYSTEM_ACCOUNT,
    lastModifiedBy: SYSTEM_ACCOUNT,
    parentReference: { siteId: site.id },
    list: { contentTypesEnabled: false, hidden: false, template: 'genericList' },
    ...(expandColumns ? { columns: list.columns.map(columnJson) } : {}),
  };
}

export function columnJson(column: ColumnRecord): Record<string, unknown> {
  return {
    id: column.id,
    name: column.name,
    displayName: column.displayName,
    description: column.description,
    columnGroup: column.columnGroup,
    enforceUniqueValues: column.enforceUniqueValues,
    hidden: column.hidden,
    indexed: column.indexed,
    isDeletable: column.system ? false : (column.extra.isDeletable ?? true),
    isReorderable: column.extra.isReorderable ?? true,
    isSealed: column.extra.isSealed ?? false,
    propagateChanges: column.extra.propagateChanges ?? false,
    readOnly: column.readOnly,
    required: column.required,
    ...(column.extra.defaultValue !== undefined ? { defaultValue: column.extra.defaultValue } : {}),
    ...(column.extra.validation !== undefined ? { validation: column.extra.validation } : {}),
    ...(column.facet ? { [column.facet]: structuredClone(column.facetValue) } : {}),
  };
}

/** SharePoint's id for the app/system account that the emulator writes as. */
const SYSTEM_LOOKUP_ID = '1073741823';

/**
 * A fieldValueSet: `@odata.etag`, id, every set value and the built-in fields SharePoint adds to every item
 * (ContentType, Created, Modified, AuthorLookupId, LinkTitle, …, as Graph returns them); `select` narrows it.
 */
export function fieldsJson(item: ItemRecord, select?: string[]): Record<string, unknown> {
  const title = typeof item.fields.Title === 'string' ? item.fields.Title : '';
  const all: Record<string, unknown> = {
    '@odata.etag': itemETag(item),
    id: String(item.id),
    ...item.fields,
    ContentType: 'Item',
    Created: formatDate(item.createdAt),
    Modified: formatDate(item.modifiedAt),
    AuthorLookupId: SYSTEM_LOOKUP_ID,
    EditorLookupId: SYSTEM_LOOKUP_ID,
    _UIVersionString: `${item.version}.0`,
    Attachments: false,
    Edit: '',
    LinkTitleNoMenu: title,
    LinkTitle: title,
    ItemChildCount: '0',
    FolderChildCount: '0',
    _ComplianceFlags: '',
    _ComplianceTag: '',
    _ComplianceTagWrittenTime: '',
    _ComplianceTagUserId: '',
  };
  // Values are copied (the answer must not alias the store's); field names match case-insensitively, the
  // first spelling wins. Keyed once per item: a load shapes every item of every page through here.
  if (!select) return Object.fromEntries(Object.entries(all).map(([k, v]) => [k, copied(v)]));
  const byName = new Map<string, string>();
  for (const key of Object.keys(all)) {
    const lower = key.toLowerCase();
    if (!byName.has(lower)) byName.set(lower, key);
  }
  const out: Record<string, unknown> = { '@odata.etag': all['@odata.etag'] };
  for (const name of select) {
    const key = byName.get(name.toLowerCase());
    if (key !== undefined && all[key] !== undefined && all[key] !== null) out[key] = copied(all[key]);
  }
  return out;
}

function copied(value: unknown): unknown {
  return typeof value === 'object' && value !== null ? structuredClone(value) : value;
}

export function itemJson(
  list: ListRecord,
  item: ItemRecord,
  fields: { expand: boolean; select?: string[] },
): Record<string, unknown> {
  const site = list.site;
  return {
    '@odata.etag': itemETag(item),
    id: String(item.id),
    createdDateTime: formatDate(item.createdAt),
    eTag: itemETag(item),
    lastModifiedDateTime: formatDate(item.modifiedAt),
    webUrl: `https://${site.hostname}${site.path === '/' ? '' : site.path}/Lists/${list.name}/${item.id}_.000`,
    createdBy: SYSTEM_ACCOUNT,
    lastModifiedBy: SYSTEM_ACCOUNT,
    parentReference: { id: list.id, siteId: site.id },
    contentType: { id: '0x0100', name: 'Item' },
    sharepointIds: { listId: list.id, listItemId: String(item.id), listItemUniqueId: item.uniqueId },
    ...(fields.expand ? { fields: fieldsJson(item, fields.select) } : {}),
  };
}

export function deletedItemJson(list: ListRecord, id: number): Record<string, unknown> {
  return {
    id: String(id),
    parentReference: { id: list.id, siteId: list.site.id },
    // listitem-delta.md, example 2: a deleted entry still names its content type.
    contentType: { id: '0x0100', name: 'Item' },
    deleted: { state: 'deleted' },
  };
}

/**
 * The value as JSON would carry it (undefined properties dropped, `toJSON` applied, non-finite numbers null):
 * schema tests read objects before they are serialised. A copy by hand, not `JSON.parse(JSON.stringify())`:
 * every item of every page goes through here, and the round trip was most of the emulator's CPU on a load.
 */
export function clean<T>(value: T): T {
  return jsonValue(value) as T;
}

function jsonValue(value: unknown): unknown {
  if (value === null) return null;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'object':
      break;
    case 'bigint':
      throw new TypeError('Do not know how to serialize a BigInt');
    default:
      return undefined;
  }
  const withJson = value as { toJSON?: () => unknown };
  if (typeof withJson.toJSON === 'function') return jsonValue(withJson.toJSON());
  if (Array.isArray(value)) return value.map((v) => jsonValue(v) ?? null);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const json = jsonValue(v);
    if (json !== undefined) out[k] = json;
  }
  return out;
}
