import { createHash, randomUUID } from 'node:crypto';
import { badRequest, GraphError, notFound } from './errors.js';
import type { SeededRandom } from './random.js';

/** The in-memory SharePoint: sites → lists → columns and items, plus the change sequence that feeds delta. */

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

export const COLUMN_FACETS = [
  'boolean',
  'calculated',
  'choice',
  'contentApprovalStatus',
  'currency',
  'dateTime',
  'geolocation',
  'hyperlinkOrPicture',
  'lookup',
  'number',
  'personOrGroup',
  'term',
  'text',
  'thumbnail',
] as const;

const COLUMN_SETTABLE = new Set<string>([
  ...COLUMN_FACETS,
  'name',
  'displayName',
  'description',
  'columnGroup',
  'enforceUniqueValues',
  'hidden',
  'indexed',
  'required',
  'readOnly',
  'defaultValue',
  'validation',
  'isDeletable',
  'isReorderable',
  'isSealed',
  'propagateChanges',
  'sourceContentType',
]);

/** Longest internal column name SharePoint keeps (it silently truncates longer ones; we refuse them). */
export const MAX_COLUMN_NAME_LENGTH = 32;
const COLUMN_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

const BUILT_IN_COLUMNS: Array<Partial<ColumnRecord> & { name: string }> = [
  { name: 'ContentType', displayName: 'Content Type', columnGroup: '_Hidden' },
  {
    name: 'Title',
    required: true,
    readOnly: false,
    columnGroup: 'Custom Columns',
    facet: 'text',
    facetValue: {
      allowMultipleLines: false,
      appendChangesToExistingText: false,
      linesForEditing: 0,
      maxLength: 255,
    },
  },
  { name: 'Modified', facet: 'dateTime', facetValue: { displayAs: 'default', format: 'dateTime' } },
  { name: 'Created', facet: 'dateTime', facetValue: { displayAs: 'default', format: 'dateTime' } },
  {
    name: 'Author',
    displayName: 'Created By',
    facet: 'personOrGroup',
    facetValue: { allowMultipleSelection: false, chooseFromType: 'peopleOnly', displayAs: 'account' },
  },
  {
    name: 'Editor',
    displayName: 'Modified By',
    facet: 'personOrGroup',
    facetValue: { allowMultipleSelection: false, chooseFromType: 'peopleOnly', displayAs: 'account' },
  },
  {
    name: '_UIVersionString',
    displayName: 'Version',
    facet: 'text',
    facetValue: { allowMultipleLines: false },
  },
  { name: 'Attachments', facet: 'boolean', facetValue: {} },
  { name: 'Edit', hidden: false },
  { name: 'LinkTitleNoMenu', displayName: 'Title' },
  { name: 'LinkTitle', displayName: 'Title' },
  { name: 'DocIcon', displayName: 'Type', hidden: true },
  { name: 'ItemChildCount', displayName: 'Item Child Count', hidden: true },
  { name: 'FolderChildCount', displayName: 'Folder Child Count', hidden: true },
  { name: 'AppAuthor', displayName: 'App Created By', hidden: true },
  { name: 'AppEditor', displayName: 'App Modified By', hidden: true },
  { name: 'ID', indexed: true, facet: 'number', facetValue: { decimalPlaces: 'none', displayAs: 'number' } },
];

/**
 * Internal names SharePoint owns: a new column may not take them (compared case-insensitively). The library
 * keeps its own list (src/schema/names.ts) on purpose: the emulator models SharePoint independently, so a
 * name the library forgot to avoid is refused here instead of passing silently.
 */
export const RESERVED_COLUMN_NAMES = new Set(
  [
    ...BUILT_IN_COLUMNS.map((c) => c.name),
    'GUID',
    'UniqueId',
    'FileRef',
    'FileLeafRef',
    'FileDirRef',
    'FSObjType',
    'Order',
    'Version',
    'Owshiddenversion',
    'WorkflowVersion',
    'WorkflowInstanceID',
    'PermMask',
    'ScopeId',
    'MetaInfo',
    'InstanceID',
    'ServerUrl',
    'EncodedAbsUrl',
    'BaseName',
    'ProgId',
    'SortBehavior',
    'ParentVersionString',
    'ParentLeafName',
    'Restricted',
    'OriginatorId',
    'NoExecute',
    'ContentVersion',
    'ContentTypeId',
    'SelectTitle',
    'SelectFilename',
    'ComplianceAssetId',
    'AccessPolicy',
  ].map((n) => n.toLowerCase()),
);

export function formatDate(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function itemETag(item: ItemRecord): string {
  return `"${item.uniqueId},${item.version}"`;
}

function normalizeETag(value: string): string {
  return value.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
}

export type ChangeListener = (list: ListRecord) => void;

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

  /** `hostname:/path`, `hostname,guid,guid`, or `root`-less forms used by the backdoor. */
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

  findListById(listId: string): ListRecord | undefined {
    for (const site of this.sites) {
      const list = site.lists.find((l) => l.id === listId);
      if (list) return list;
    }
    return undefined;
  }

  // ---------- lists ----------

  createList(site: SiteRecord, body: Record<string, unknown>): ListRecord {
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
      throw new GraphError(
        409,
        'nameAlreadyExists',
        `A list, survey, discussion board, or document library with the specified title '${displayName}' already exists in this Web site.`,
      );
    }
    const columns = body.columns;
    if (columns !== undefined && !Array.isArray(columns))
      throw badRequest("Property 'columns' must be an array.");
    const at = this.now();
    const list: ListRecord = {
      id: freshGuid(this.random),
      displayName,
      name: uniqueListName(site, displayName),
      description: typeof body.description === 'string' ? body.description : '',
      createdAt: at,
      modifiedAt: at,
      site,
      columns: BUILT_IN_COLUMNS.map((c) => this.builtInColumn(c)),
      items: new Map(),
      tombstones: new Map(),
      nextItemId: 1,
      tokenEpoch: 0,
    };
    // Validate every column before the list exists, so a bad column leaves nothing behind.
    const staged: ColumnRecord[] = [];
    for (const definition of (columns ?? []) as unknown[]) {
      staged.push(this.buildColumn({ ...list, columns: [...list.columns, ...staged] }, definition));
    }
    list.columns.push(...staged);
    site.lists.push(list);
    return list;
  }

  private builtInColumn(c: Partial<ColumnRecord> & { name: string }): ColumnRecord {
    return {
      id: this.random.guid(),
      name: c.name,
      displayName: c.displayName ?? c.name,
      description: '',
      columnGroup: c.columnGroup ?? '_Hidden',
      required: c.required ?? false,
      indexed: c.indexed ?? false,
      enforceUniqueValues: false,
      hidden: c.hidden ?? false,
      readOnly: c.readOnly ?? true,
      system: true,
      facet: c.facet,
      facetValue: c.facetValue ?? {},
      extra: {},
    };
  }

  // ---------- columns ----------

  createColumn(list: ListRecord, definition: unknown): ColumnRecord {
    const column = this.buildColumn(list, definition);
    list.columns.push(column);
    list.modifiedAt = this.now();
    return column;
  }

  private buildColumn(list: ListRecord, definition: unknown): ColumnRecord {
    if (typeof definition !== 'object' || definition === null || Array.isArray(definition)) {
      throw badRequest('A column definition must be an object.');
    }
    const def = definition as Record<string, unknown>;
    for (const key of Object.keys(def)) {
      if (key.startsWith('@odata.')) continue;
      if (!COLUMN_SETTABLE.has(key))
        throw badRequest(`Property '${key}' cannot be set on a column definition.`);
    }
    const name = def.name;
    if (typeof name !== 'string' || name === '')
      throw badRequest("Property 'name' is required to create a column.");
    if (!COLUMN_NAME.test(name)) {
      throw badRequest(
        `The column name '${name}' is invalid: use letters, digits and underscores, starting with a letter.`,
      );
    }
    if (name.length > MAX_COLUMN_NAME_LENGTH) {
      throw badRequest(`The column name '${name}' is longer than ${MAX_COLUMN_NAME_LENGTH} characters.`);
    }
    if (RESERVED_COLUMN_NAMES.has(name.toLowerCase())) {
      throw badRequest(`The column name '${name}' is reserved by SharePoint.`);
    }
    if (list.columns.some((c) => c.name.toLowerCase() === name.toLowerCase())) {
      throw badRequest(`A column with the name '${name}' already exists in the list '${list.displayName}'.`);
    }
    const facets = COLUMN_FACETS.filter((f) => def[f] !== undefined && def[f] !== null);
    if (facets.length !== 1) {
      throw badRequest(
        facets.length === 0
          ? `The column '${name}' needs exactly one type facet (text, number, boolean, dateTime, choice, currency, …).`
          : `The column '${name}' has several type facets (${facets.join(', ')}); give exactly one.`,
      );
    }
    const facet = facets[0]!;
    const facetInput = def[facet];
    if (typeof facetInput !== 'object' || Array.isArray(facetInput)) {
      throw badRequest(`The '${facet}' facet of column '${name}' must be an object.`);
    }
    const facetValue = facetWithDefaults(facet, facetInput as Record<string, unknown>, name);
    const indexed = def.indexed === true;
    const enforceUniqueValues = def.enforceUniqueValues === true;
    if (enforceUniqueValues && !indexed) {
      throw badRequest(
        `The column '${name}' enforces unique values and must be indexed (set indexed: true).`,
      );
    }
    for (const flag of ['indexed', 'enforceUniqueValues', 'required', 'hidden', 'readOnly'] as const) {
      if (def[flag] !== undefined && typeof def[flag] !== 'boolean') {
        throw badRequest(`Property '${flag}' of column '${name}' must be a boolean.`);
      }
    }
    const extra: Record<string, unknown> = {};
    for (const key of [
      'defaultValue',
      'validation',
      'isDeletable',
      'isReorderable',
      'isSealed',
      'propagateChanges',
    ]) {
      if (def[key] !== undefined) extra[key] = def[key];
    }
    return {
      id: this.random.guid(),
      name,
      displayName: typeof def.displayName === 'string' && def.displayName !== '' ? def.displayName : name,
      description: typeof def.description === 'string' ? def.description : '',
      columnGroup: typeof def.columnGroup === 'string' ? def.columnGroup : 'Custom Columns',
      required: def.required === true,
      indexed,
      enforceUniqueValues,
      hidden: def.hidden === true,
      readOnly: def.readOnly === true,
      system: false,
      facet,
      facetValue,
      extra,
    };
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
    if (typeof patch !== 'object' || patch === null || Array.isArray(patch))
      throw badRequest('The body must be an object.');
    const p = patch as Record<string, unknown>;
    if (column.system && column.name !== 'Title') {
      throw badRequest(`The built-in column '${column.name}' cannot be changed.`);
    }
    for (const key of Object.keys(p)) {
      if (key.startsWith('@odata.')) continue;
      if (key === 'name' || key === 'id') {
        if (p[key] === column[key]) continue;
        throw badRequest(`The internal name of column '${column.name}' cannot be changed after creation.`);
      }
      if (!COLUMN_SETTABLE.has(key))
        throw badRequest(`Property '${key}' cannot be set on a column definition.`);
      if ((COLUMN_FACETS as readonly string[]).includes(key) && key !== column.facet) {
        throw badRequest(`The type of column '${column.name}' cannot be changed to '${key}'.`);
      }
    }
    const indexed = typeof p.indexed === 'boolean' ? p.indexed : column.indexed;
    const unique =
      typeof p.enforceUniqueValues === 'boolean' ? p.enforceUniqueValues : column.enforceUniqueValues;
    if (unique && !indexed) {
      throw badRequest(`The column '${column.name}' enforces unique values and must stay indexed.`);
    }
    if (unique && !column.enforceUniqueValues) {
      const seen = new Set<string>();
      for (const item of list.items.values()) {
        const v = item.fields[column.name];
        if (v === undefined || v === null) continue;
        const k = uniqueKey(v);
        if (seen.has(k))
          throw badRequest(
            `The column '${column.name}' has duplicate values and cannot enforce unique values.`,
          );
        seen.add(k);
      }
    }
    column.indexed = indexed;
    column.enforceUniqueValues = unique;
    if (typeof p.required === 'boolean') column.required = p.required;
    if (typeof p.hidden === 'boolean') column.hidden = p.hidden;
    if (typeof p.displayName === 'string' && p.displayName !== '') column.displayName = p.displayName;
    if (typeof p.description === 'string') column.description = p.description;
    if (typeof p.columnGroup === 'string') column.columnGroup = p.columnGroup;
    if (column.facet && typeof p[column.facet] === 'object' && p[column.facet] !== null) {
      column.facetValue = facetWithDefaults(
        column.facet,
        { ...column.facetValue, ...(p[column.facet] as Record<string, unknown>) },
        column.name,
      );
    }
    for (const key of [
      'defaultValue',
      'validation',
      'isDeletable',
      'isReorderable',
      'isSealed',
      'propagateChanges',
    ]) {
      if (p[key] !== undefined) column.extra[key] = p[key];
    }
    list.modifiedAt = this.now();
    return column;
  }

  // ---------- items ----------

  createItem(list: ListRecord, fields: unknown): ItemRecord {
    const values = this.validateFields(list, fields, undefined);
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
    const values = this.validateFields(list, fields, item);
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

  /**
   * Checks a `fields` object against the column definitions; returns the normalised values
   * (null = clear). `existing` is the item being updated (undefined on create).
   */
  private validateFields(
    list: ListRecord,
    fields: unknown,
    existing: ItemRecord | undefined,
  ): Record<string, unknown> {
    if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) {
      throw badRequest("The request needs a 'fields' object.");
    }
    const out: Record<string, unknown> = {};
    for (const [key, raw] of Object.entries(fields as Record<string, unknown>)) {
      if (key.includes('@')) continue; // OData annotations such as Tags@odata.type
      const column = list.columns.find((c) => c.name === key);
      if (!column) throw badRequest(`Field '${key}' is not recognized.`);
      if (column.readOnly || (column.system && column.name !== 'Title')) {
        throw badRequest(`Field '${key}' is read-only.`);
      }
      out[key] = raw === null || raw === undefined ? null : validateValue(column, raw);
    }
    for (const column of list.columns) {
      if (!column.required) continue;
      const next = column.name in out ? out[column.name] : existing?.fields[column.name];
      if (next === undefined || next === null || next === '') {
        throw badRequest(`Field '${column.name}' is required.`);
      }
    }
    for (const column of list.columns) {
      if (!column.enforceUniqueValues) continue;
      const v = out[column.name];
      if (v === undefined || v === null) continue;
      const holder = uniqueIndex(list, column.name).get(uniqueKey(v));
      if (holder !== undefined && holder !== existing?.id && list.items.has(holder)) {
        throw new GraphError(
          409,
          'nameAlreadyExists',
          `The list item could not be added or updated because duplicate values were found in the following field(s) in the list: [${column.name}].`,
        );
      }
    }
    return out;
  }
}

function checkIfMatch(item: ItemRecord, ifMatch: string | undefined): void {
  if (ifMatch === undefined || ifMatch.trim() === '*') return;
  if (normalizeETag(ifMatch) !== normalizeETag(itemETag(item))) {
    throw new GraphError(
      412,
      'resourceModified',
      'The resource has changed since the caller last read it; usually an eTag mismatch.',
    );
  }
}

/**
 * Value → item id, per unique column of a list: a duplicate check costs one lookup, not a scan (a list of
 * 100,000 items would otherwise take minutes to fill). Built on first use, kept current by every write.
 */
const uniqueIndexes = new WeakMap<ListRecord, Map<string, Map<string, number>>>();

function uniqueIndex(list: ListRecord, columnName: string): Map<string, number> {
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

function unindexItem(list: ListRecord, fields: Record<string, unknown>, id: number): void {
  const perList = uniqueIndexes.get(list);
  if (!perList) return;
  for (const [columnName, index] of perList) {
    const v = fields[columnName];
    if (v !== undefined && v !== null && index.get(uniqueKey(v)) === id) index.delete(uniqueKey(v));
  }
}

function indexItem(list: ListRecord, item: ItemRecord, before: Record<string, unknown> | undefined): void {
  if (before) unindexItem(list, before, item.id);
  const perList = uniqueIndexes.get(list);
  if (!perList) return;
  for (const [columnName, index] of perList) {
    const v = item.fields[columnName];
    if (v !== undefined && v !== null) index.set(uniqueKey(v), item.id);
  }
}

function uniqueKey(value: unknown): string {
  return typeof value === 'string' ? `s:${value.toLowerCase()}` : `${typeof value}:${JSON.stringify(value)}`;
}

function validateValue(column: ColumnRecord, raw: unknown): unknown {
  const name = column.name;
  const f = column.facetValue;
  switch (column.facet) {
    case 'text': {
      if (typeof raw !== 'string') throw badRequest(`Field '${name}' expects a text value.`);
      const max = typeof f.maxLength === 'number' ? f.maxLength : f.allowMultipleLines ? undefined : 255;
      if (max !== undefined && raw.length > max) {
        throw badRequest(`Field '${name}' is longer than its maximum length of ${max} characters.`);
      }
      return raw;
    }
    case 'number':
    case 'currency': {
      if (typeof raw !== 'number' || !Number.isFinite(raw))
        throw badRequest(`Field '${name}' expects a number.`);
      if (typeof f.minimum === 'number' && raw < f.minimum) {
        throw badRequest(`Field '${name}' must be at least ${f.minimum}.`);
      }
      if (typeof f.maximum === 'number' && raw > f.maximum) {
        throw badRequest(`Field '${name}' must be at most ${f.maximum}.`);
      }
      return raw;
    }
    case 'boolean':
      if (typeof raw !== 'boolean') throw badRequest(`Field '${name}' expects true or false.`);
      return raw;
    case 'dateTime': {
      const ms = typeof raw === 'string' ? Date.parse(raw) : Number.NaN;
      if (Number.isNaN(ms)) throw badRequest(`Field '${name}' expects an ISO 8601 date and time.`);
      return formatDate(ms);
    }
    case 'choice': {
      const choices = Array.isArray(f.choices) ? (f.choices as unknown[]) : [];
      if (f.displayAs === 'checkBoxes') {
        // A multi-choice column: a collection of choices; an empty one is no value.
        if (!Array.isArray(raw) || !raw.every((v) => typeof v === 'string'))
          throw badRequest(`Field '${name}' expects a collection of its choices.`);
        const bad = f.allowTextEntry ? undefined : raw.find((v) => !choices.includes(v));
        if (bad !== undefined)
          throw badRequest(
            `Field '${name}' does not allow the value '${bad}' (choices: ${choices.join(', ')}).`,
          );
        return raw.length === 0 ? null : [...raw];
      }
      if (typeof raw !== 'string') throw badRequest(`Field '${name}' expects one of its choices.`);
      if (!f.allowTextEntry && !choices.includes(raw)) {
        throw badRequest(
          `Field '${name}' does not allow the value '${raw}' (choices: ${choices.join(', ')}).`,
        );
      }
      return raw;
    }
    default:
      return raw;
  }
}

function facetWithDefaults(
  facet: string,
  input: Record<string, unknown>,
  name: string,
): Record<string, unknown> {
  switch (facet) {
    case 'text': {
      const multi = input.allowMultipleLines === true;
      if (input.maxLength !== undefined && (typeof input.maxLength !== 'number' || input.maxLength < 1)) {
        throw badRequest(`text.maxLength of column '${name}' must be a positive number.`);
      }
      if (!multi && typeof input.maxLength === 'number' && input.maxLength > 255) {
        throw badRequest(`text.maxLength of single-line column '${name}' must be at most 255.`);
      }
      return {
        allowMultipleLines: multi,
        appendChangesToExistingText: input.appendChangesToExistingText === true,
        linesForEditing: typeof input.linesForEditing === 'number' ? input.linesForEditing : multi ? 6 : 0,
        ...(input.maxLength !== undefined || !multi ? { maxLength: input.maxLength ?? 255 } : {}),
        ...(input.textType !== undefined ? { textType: input.textType } : {}),
      };
    }
    case 'number':
    case 'currency': {
      const min = input.minimum;
      const max = input.maximum;
      if (min !== undefined && typeof min !== 'number')
        throw badRequest(`${facet}.minimum of column '${name}' must be a number.`);
      if (max !== undefined && typeof max !== 'number')
        throw badRequest(`${facet}.maximum of column '${name}' must be a number.`);
      if (typeof min === 'number' && typeof max === 'number' && min > max) {
        throw badRequest(`${facet}.minimum of column '${name}' is greater than its maximum.`);
      }
      if (facet === 'currency') return { locale: typeof input.locale === 'string' ? input.locale : 'en-us' };
      return {
        decimalPlaces: input.decimalPlaces ?? 'automatic',
        displayAs: input.displayAs ?? 'number',
        ...(min !== undefined ? { minimum: min } : {}),
        ...(max !== undefined ? { maximum: max } : {}),
      };
    }
    case 'dateTime':
      return { displayAs: input.displayAs ?? 'default', format: input.format ?? 'dateTime' };
    case 'choice': {
      const choices = input.choices;
      if (!Array.isArray(choices) || choices.length === 0 || !choices.every((c) => typeof c === 'string')) {
        throw badRequest(`choice.choices of column '${name}' must be a non-empty array of strings.`);
      }
      return {
        allowTextEntry: input.allowTextEntry === true,
        choices: [...choices],
        displayAs: input.displayAs ?? 'dropDownMenu',
      };
    }
    default:
      return { ...input };
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

export function parseSiteRef(ref: string): { hostname: string; path: string } {
  const at = ref.indexOf(':');
  if (at <= 0) throw new Error(`Site reference '${ref}' must look like 'contoso.sharepoint.com:/sites/crm'.`);
  return { hostname: ref.slice(0, at), path: normalizePath(ref.slice(at + 1)) };
}

function normalizePath(path: string): string {
  const p = `/${path.replace(/^\/+|\/+$/g, '')}`;
  return p === '/' ? '/' : p;
}

function uniqueListName(site: SiteRecord, displayName: string): string {
  const base = displayName.replace(/[^A-Za-z0-9]/g, '') || 'List';
  let name = base;
  for (let n = 1; site.lists.some((l) => l.name.toLowerCase() === name.toLowerCase()); n++)
    name = `${base}${n}`;
  return name;
}
