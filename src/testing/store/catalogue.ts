import { badRequest } from '../errors.js';
import type { SeededRandom } from '../random.js';
import type { ColumnRecord, ListRecord } from './records.js';
import { uniqueKey } from './unique-index.js';

/**
 * The column catalogue: what a SharePoint `columnDefinition` may say (type facets, settable properties,
 * name rules), the built-in columns of a generic list, the internal names SharePoint owns, and each facet's
 * defaults. The store (state.ts) keeps the columns; this module says what a column may be.
 */

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

/** columnDefinition properties kept as given (`extra`) and echoed back. */
const EXTRA_PROPERTIES = [
  'defaultValue',
  'validation',
  'isDeletable',
  'isReorderable',
  'isSealed',
  'propagateChanges',
] as const;

export const COLUMN_SETTABLE = new Set<string>([
  ...COLUMN_FACETS,
  ...EXTRA_PROPERTIES,
  'name',
  'displayName',
  'description',
  'columnGroup',
  'enforceUniqueValues',
  'hidden',
  'indexed',
  'required',
  'readOnly',
  'sourceContentType',
]);

/** Longest internal column name SharePoint keeps (it silently truncates longer ones; we refuse them). */
export const MAX_COLUMN_NAME_LENGTH = 32;
const COLUMN_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

type BuiltIn = Partial<ColumnRecord> & { name: string };

const PERSON = { allowMultipleSelection: false, chooseFromType: 'peopleOnly', displayAs: 'account' };
const DATE = { displayAs: 'default', format: 'dateTime' };

/** The columns every generic list starts with, in SharePoint's order. */
const BUILT_IN_COLUMNS: BuiltIn[] = [
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
  { name: 'Modified', facet: 'dateTime', facetValue: DATE },
  { name: 'Created', facet: 'dateTime', facetValue: DATE },
  { name: 'Author', displayName: 'Created By', facet: 'personOrGroup', facetValue: PERSON },
  { name: 'Editor', displayName: 'Modified By', facet: 'personOrGroup', facetValue: PERSON },
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
 * Internal names SharePoint owns besides the built-in columns, by what they hold. The library keeps its own
 * list (src/schema/names.ts) on purpose: the emulator models SharePoint independently, so a name the library
 * forgot to avoid is refused here instead of passing silently (test/testing/catalogue.test.ts holds the
 * library to this one).
 */
const HIDDEN_INTERNAL_NAMES = [
  'GUID UniqueId Order Version Owshiddenversion MetaInfo InstanceID Restricted OriginatorId NoExecute',
  'FileRef FileLeafRef FileDirRef FSObjType ServerUrl EncodedAbsUrl BaseName ProgId SortBehavior',
  'ParentVersionString ParentLeafName ContentVersion ContentTypeId SelectTitle SelectFilename',
  'WorkflowVersion WorkflowInstanceID PermMask ScopeId ComplianceAssetId AccessPolicy',
].flatMap((group) => group.split(' '));

/** Names a new column may not take (compared case-insensitively). */
export const RESERVED_COLUMN_NAMES: ReadonlySet<string> = new Set(
  [...BUILT_IN_COLUMNS.map((c) => c.name), ...HIDDEN_INTERNAL_NAMES].map((n) => n.toLowerCase()),
);

/** The built-in columns of a new generic list, each with a fresh id. */
export function builtInColumns(random: SeededRandom): ColumnRecord[] {
  return BUILT_IN_COLUMNS.map((c) => ({
    id: random.guid(),
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
    facetValue: structuredClone(c.facetValue ?? {}),
    extra: {},
  }));
}

/** The `extra` properties present in `source`. */
export function extraProperties(source: Record<string, unknown>): Record<string, unknown> {
  const extra: Record<string, unknown> = {};
  for (const key of EXTRA_PROPERTIES) if (source[key] !== undefined) extra[key] = source[key];
  return extra;
}

/** A new column of `list` from a `columnDefinition` body, validated as SharePoint does (nothing is stored). */
export function buildColumn(list: ListRecord, definition: unknown, random: SeededRandom): ColumnRecord {
  if (typeof definition !== 'object' || definition === null || Array.isArray(definition)) {
    throw badRequest('A column definition must be an object.');
  }
  const def = definition as Record<string, unknown>;
  for (const key of Object.keys(def)) {
    if (key.startsWith('@odata.')) continue;
    if (!COLUMN_SETTABLE.has(key))
      throw badRequest(`Property '${key}' cannot be set on a column definition.`);
  }
  const name = checkNewName(list, def.name);
  const { facet, facetValue } = singleFacet(def, name);
  const indexed = def.indexed === true;
  const enforceUniqueValues = def.enforceUniqueValues === true;
  if (enforceUniqueValues && !indexed) {
    throw badRequest(`The column '${name}' enforces unique values and must be indexed (set indexed: true).`);
  }
  for (const flag of ['indexed', 'enforceUniqueValues', 'required', 'hidden', 'readOnly'] as const) {
    if (def[flag] !== undefined && typeof def[flag] !== 'boolean') {
      throw badRequest(`Property '${flag}' of column '${name}' must be a boolean.`);
    }
  }
  return {
    id: random.guid(),
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
    extra: extraProperties(def),
  };
}

function checkNewName(list: ListRecord, name: unknown): string {
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
  return name;
}

function singleFacet(
  def: Record<string, unknown>,
  name: string,
): { facet: string; facetValue: Record<string, unknown> } {
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
  return { facet, facetValue: facetWithDefaults(facet, facetInput as Record<string, unknown>, name) };
}

/** A facet as SharePoint stores it: the given settings, checked, with SharePoint's defaults filled in. */
export function facetWithDefaults(
  facet: string,
  input: Record<string, unknown>,
  name: string,
): Record<string, unknown> {
  switch (facet) {
    case 'text':
      return textFacet(input, name);
    case 'number':
    case 'currency':
      return numberFacet(facet, input, name);
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

function textFacet(input: Record<string, unknown>, name: string): Record<string, unknown> {
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

function numberFacet(facet: string, input: Record<string, unknown>, name: string): Record<string, unknown> {
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

/**
 * Checks a `PATCH …/columns/{id}` body against SharePoint's rules (names and types never change, unique
 * values need an index and no duplicates) and applies it to `column`.
 */
export function patchColumn(list: ListRecord, column: ColumnRecord, patch: unknown): void {
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
  if (unique && !column.enforceUniqueValues) refuseDuplicates(list, column);
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
  Object.assign(column.extra, extraProperties(p));
}

function refuseDuplicates(list: ListRecord, column: ColumnRecord): void {
  const seen = new Set<string>();
  for (const item of list.items.values()) {
    const v = item.fields[column.name];
    if (v === undefined || v === null) continue;
    const k = uniqueKey(v);
    if (seen.has(k))
      throw badRequest(`The column '${column.name}' has duplicate values and cannot enforce unique values.`);
    seen.add(k);
  }
}
