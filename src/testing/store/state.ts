import { createHash, randomUUID } from 'node:crypto';
import { badRequest, GraphErrorResponse, notFound } from '../errors.js';
import type { SeededRandom } from '../random.js';
import { buildColumn, builtInColumns, patchColumn } from './catalogue.js';
import { type ColumnRecord, type ItemRecord, itemETag, type ListRecord, type SiteRecord } from './records.js';
import { normalizePath, parseSiteRef } from './site-ref.js';
import { indexItem, unindexItem } from './unique-index.js';
import { validateFields } from './values.js';

export type ChangeListener = (list: ListRecord) => void;

/**
 * The in-memory SharePoint: sites → lists → columns and items, plus the change sequence that feeds delta.
 * What a column may be is the catalogue's (catalogue.ts); what a value may be is values.ts's.
 */
export class EmulatorState {
  readonly sites: SiteRecord[] = [];
  private sequence = 0;
  private readonly changeListeners: ChangeListener[] = [];

  constructor(
    siteRefs: string[],
    private readonly random: SeededRandom,
    private readonly now: () => number,
  ) {
    for (const ref of siteRefs) {
      const { hostname, path } = parseSiteRef(ref);
      if (this.findSiteByPath(hostname, path)) continue;
      this.sites.push({
        id: `${hostname},${siteGuid(random, `site:${hostname}:${path}`)},${siteGuid(random, `web:${hostname}:${path}`)}`,
        hostname,
        path,
        name: path.split('/').filter(Boolean).pop() ?? hostname,
        createdAt: now(),
        lists: [],
      });
    }
  }

  onChange(listener: ChangeListener): void {
    this.changeListeners.push(listener);
  }

  get currentSequence(): number {
    return this.sequence;
  }

  findSiteByPath(hostname: string, path: string): SiteRecord | undefined {
    const p = normalizePath(path);
    return this.sites.find(
      (s) => s.hostname.toLowerCase() === hostname.toLowerCase() && s.path.toLowerCase() === p.toLowerCase(),
    );
  }

  findSiteById(id: string): SiteRecord | undefined {
    return this.sites.find((s) => s.id.toLowerCase() === id.toLowerCase());
  }

  /** `hostname:/path` or a site id (`hostname,guid,guid`), as the backdoor takes them. */
  resolveSiteRef(ref: string): SiteRecord | undefined {
    if (ref.includes(':')) {
      const { hostname, path } = parseSiteRef(ref);
      return this.findSiteByPath(hostname, path);
    }
    return this.findSiteById(ref);
  }

  findList(site: SiteRecord, idOrTitle: string): ListRecord | undefined {
    const key = idOrTitle.toLowerCase();
    return (
      site.lists.find((l) => l.id.toLowerCase() === key) ??
      site.lists.find((l) => l.displayName.toLowerCase() === key) ??
      site.lists.find((l) => l.name.toLowerCase() === key)
    );
  }

  // ---------- lists ----------

  createList(site: SiteRecord, body: Record<string, unknown>): ListRecord {
    const displayName = checkListBody(site, body);
    const at = this.now();
    const list: ListRecord = {
      id: freshGuid(this.random),
      displayName,
      name: uniqueListName(site, displayName),
      description: typeof body.description === 'string' ? body.description : '',
      createdAt: at,
      modifiedAt: at,
      site,
      columns: builtInColumns(this.random),
      items: new Map(),
      tombstones: new Map(),
      nextItemId: 1,
      tokenEpoch: 0,
    };
    // Validate every column before the list exists, so a bad column leaves nothing behind.
    const staged: ColumnRecord[] = [];
    for (const definition of (body.columns ?? []) as unknown[]) {
      staged.push(buildColumn({ ...list, columns: [...list.columns, ...staged] }, definition, this.random));
    }
    list.columns.push(...staged);
    site.lists.push(list);
    return list;
  }

  // ---------- columns ----------

  createColumn(list: ListRecord, definition: unknown): ColumnRecord {
    const column = buildColumn(list, definition, this.random);
    list.columns.push(column);
    list.modifiedAt = this.now();
    return column;
  }

  findColumn(list: ListRecord, idOrName: string): ColumnRecord | undefined {
    const key = idOrName.toLowerCase();
    return (
      list.columns.find((c) => c.id.toLowerCase() === key) ??
      list.columns.find((c) => c.name.toLowerCase() === key)
    );
  }

  /** `DELETE …/columns/{id}`: a list's own column goes, with its values; built-in columns cannot. */
  deleteColumn(list: ListRecord, column: ColumnRecord): void {
    if (column.system) throw badRequest(`The built-in column '${column.name}' cannot be deleted.`);
    list.columns = list.columns.filter((c) => c !== column);
    for (const item of list.items.values()) delete item.fields[column.name];
  }

  updateColumn(list: ListRecord, column: ColumnRecord, patch: unknown): ColumnRecord {
    patchColumn(list, column, patch);
    list.modifiedAt = this.now();
    return column;
  }

  // ---------- items ----------

  createItem(list: ListRecord, fields: unknown): ItemRecord {
    const values = validateFields(list, fields, undefined);
    // An empty value (null, '', an empty multi-choice) is no value: the item has no such field.
    for (const [k, v] of Object.entries(values)) if (v === null) delete values[k];
    const at = this.now();
    const item: ItemRecord = {
      id: list.nextItemId++,
      uniqueId: this.random.guid(),
      version: 1,
      createdAt: at,
      modifiedAt: at,
      fields: values,
      seq: ++this.sequence,
    };
    list.items.set(item.id, item);
    indexItem(list, item, undefined);
    list.modifiedAt = at;
    this.emitChange(list);
    return item;
  }

  findItem(list: ListRecord, id: string): ItemRecord | undefined {
    if (!/^\d+$/.test(id)) return undefined;
    return list.items.get(Number(id));
  }

  requireItem(list: ListRecord, id: string): ItemRecord {
    const item = this.findItem(list, id);
    if (!item) throw notFound(`The item '${id}' does not exist in the list '${list.displayName}'.`);
    return item;
  }

  updateItem(list: ListRecord, id: string, fields: unknown, ifMatch?: string): ItemRecord {
    const item = this.requireItem(list, id);
    checkIfMatch(item, ifMatch);
    const values = validateFields(list, fields, item);
    const before = { ...item.fields };
    for (const [k, v] of Object.entries(values)) {
      if (v === null) delete item.fields[k];
      else item.fields[k] = v;
    }
    indexItem(list, item, before);
    item.version++;
    item.modifiedAt = this.now();
    item.seq = ++this.sequence;
    list.modifiedAt = item.modifiedAt;
    this.emitChange(list);
    return item;
  }

  deleteItem(list: ListRecord, id: string, ifMatch?: string): void {
    const item = this.requireItem(list, id);
    checkIfMatch(item, ifMatch);
    list.items.delete(item.id);
    unindexItem(list, item.fields, item.id);
    list.tombstones.set(item.id, ++this.sequence);
    list.modifiedAt = this.now();
    this.emitChange(list);
  }

  expireDeltaTokens(listId?: string): void {
    for (const site of this.sites) {
      for (const list of site.lists) if (listId === undefined || list.id === listId) list.tokenEpoch++;
    }
  }

  private emitChange(list: ListRecord): void {
    for (const listener of this.changeListeners) {
      try {
        listener(list);
      } catch {
        // A listener failure must never break a write.
      }
    }
  }
}

/** Checks a `POST …/lists` body; returns its displayName. */
function checkListBody(site: SiteRecord, body: Record<string, unknown>): string {
  for (const key of Object.keys(body)) {
    if (key.startsWith('@odata.')) continue;
    if (key === 'name') {
      throw badRequest(
        "Cannot define a 'name' for a list as it is assigned by the server. Instead, provide 'displayName'.",
      );
    }
    if (!['displayName', 'description', 'columns', 'list'].includes(key)) {
      throw badRequest(`Property '${key}' cannot be set when creating a list.`);
    }
  }
  const displayName = body.displayName;
  if (typeof displayName !== 'string' || displayName.trim() === '') {
    throw badRequest("Property 'displayName' is required to create a list.");
  }
  const info = body.list as Record<string, unknown> | undefined;
  if (info !== undefined && (typeof info !== 'object' || info === null))
    throw badRequest("Property 'list' must be an object.");
  const template = info?.template ?? 'genericList';
  if (template !== 'genericList') {
    throw badRequest(
      `List template '${String(template)}' is not supported by the emulator (only genericList).`,
    );
  }
  if (site.lists.some((l) => l.displayName.toLowerCase() === displayName.toLowerCase())) {
    throw new GraphErrorResponse(
      409,
      'nameAlreadyExists',
      `A list, survey, discussion board, or document library with the specified title '${displayName}' already exists in this Web site.`,
    );
  }
  if (body.columns !== undefined && !Array.isArray(body.columns))
    throw badRequest("Property 'columns' must be an array.");
  return displayName;
}

function normalizeETag(value: string): string {
  return value.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
}

function checkIfMatch(item: ItemRecord, ifMatch: string | undefined): void {
  if (ifMatch === undefined || ifMatch.trim() === '*') return;
  if (normalizeETag(ifMatch) !== normalizeETag(itemETag(item))) {
    throw new GraphErrorResponse(
      412,
      'resourceModified',
      'The resource has changed since the caller last read it; usually an eTag mismatch.',
    );
  }
}

/**
 * A site keeps its id for as long as it exists: the same `hostname:path` is the same site in every emulator
 * instance (an emulator started again is that site with its lists gone), whatever the seed. The seeded
 * stream still advances as it did, so seeded shuffles and faults replay the same.
 */
function siteGuid(random: SeededRandom, key: string): string {
  random.guid();
  const hex = createHash('sha256').update(key).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`.toUpperCase();
}

/**
 * SharePoint gives every list a new GUID: a list deleted and created again, or an emulator started
 * again, is not the list a cache loaded before, and must not look like it (docs/emulator.md). The seeded
 * stream still advances as it did, so seeded shuffles and faults replay the same.
 */
function freshGuid(random: SeededRandom): string {
  random.guid();
  return randomUUID();
}

function uniqueListName(site: SiteRecord, displayName: string): string {
  const base = displayName.replace(/[^A-Za-z0-9]/g, '') || 'List';
  let name = base;
  for (let n = 1; site.lists.some((l) => l.name.toLowerCase() === name.toLowerCase()); n++)
    name = `${base}${n}`;
  return name;
}
