import type { DataSource } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js';
import { SchemaError } from './errors.js';
import { buildField, type FieldSpec } from './fields.js';
import { explicitNameProblem, humanize, internalName, pascal } from './names.js';
import type { Refinements } from './refinements.js';
import type { FieldKind, FieldSchema, SharePointColumnOptions } from './types.js';

// One TypeORM column → one SharePoint field: PostgreSQL types, the kind each maps to, names and defaults.

const STRING_TYPES = new Set([
  'character varying',
  'varchar',
  'character',
  'char',
  'citext',
  'string',
  'nvarchar',
]);
export const INTEGER_TYPES = new Set(['integer', 'int', 'int2', 'int4', 'int8', 'smallint', 'bigint']);
const FLOAT_TYPES = new Set(['double precision', 'real', 'float', 'float4', 'float8']);
const DECIMAL_TYPES = new Set(['numeric', 'decimal', 'money']);
const DATETIME_TYPES = new Set([
  'timestamp with time zone',
  'timestamp without time zone',
  'timestamp',
  'timestamptz',
]);

/**
 * Columns PostgreSQL derives itself (generated columns, full-text `tsvector` such as Twenty's
 * `searchVector`): never synced and never refused. SharePoint does not need them, and a rebuild regenerates
 * them from the synced columns.
 */
export function derivedByPostgres(dataSource: DataSource, column: ColumnMetadata): boolean {
  return column.generatedType !== undefined || normalizedType(dataSource, column) === 'tsvector';
}

/** PostgreSQL types that have no SharePoint column: refused at attach, naming entity and column. */
function unmappable(type: string): boolean {
  return (
    /^(bytea|point|line|lseg|box|path|polygon|circle|cidr|inet|macaddr|tsquery|interval|bit|varbit|xml|int4range|int8range|numrange|tsrange|tstzrange|daterange|geometry|geography|hstore|ltree|cube)/.test(
      type,
    ) || /^time( with(out)? time zone)?$/.test(type)
  );
}

export function normalizedType(dataSource: DataSource, column: ColumnMetadata): string {
  // TypeORM's own abstractions, which the driver would flatten to `text` (and lose their meaning).
  if (column.type === 'simple-array' || column.type === 'simple-json' || column.type === 'simple-enum') {
    return column.type;
  }
  const type = dataSource.driver.normalizeType(column);
  return String(type).toLowerCase();
}

/** The field's SharePoint name: the explicit one (checked), else derived from the property. */
export function nameFor(
  entity: string,
  property: string,
  explicit: string | undefined,
  wanted: string,
): string {
  if (explicit === undefined) return internalName(wanted);
  const problem = explicitNameProblem(explicit);
  if (problem)
    throw new SchemaError(entity, property, 'columnName', `@SharePointColumn name "${explicit}": ${problem}`);
  return explicit;
}

/** What a column's kind is: the SharePoint column type its PostgreSQL type (and the options) map to. */
interface Kind {
  kind: FieldKind;
  maxLength?: number | undefined;
  scale?: number | undefined;
  choices?: string[] | undefined;
  uuid: boolean;
}

/**
 * The PostgreSQL type → SharePoint kind table, one branch a rule: one chain of type tests whose order matters
 * (arrays before strings, exact numerics before other decimals).
 */
function kindOf(
  type: string,
  column: ColumnMetadata,
  refine: SharePointColumnOptions,
  isArray: boolean,
  fail: (detail: string) => never,
): Kind {
  let kind: FieldKind;
  let maxLength: number | undefined;
  let scale: number | undefined;
  let choices: string[] | undefined;
  let uuid = false;
  if (isArray && type === 'enum') {
    // Twenty's MULTI_SELECT: enum[].
    kind = 'multiChoice';
    choices = (column.enum ?? []).map(String);
    if (choices.length === 0) fail('enum array column without values');
  } else if (isArray && refine.choices !== undefined) {
    if (refine.choices.length === 0) fail('the choices option needs at least one choice');
    kind = 'multiChoice';
    choices = refine.choices.map(String);
  } else if (isArray) {
    // Twenty's ARRAY: text[] as a JSON array in multi-line text (elements may hold commas).
    kind = 'array';
  } else if (STRING_TYPES.has(type)) {
    const length = refine.maxLength ?? (Number.parseInt(String(column.length || ''), 10) || 255);
    maxLength = length;
    kind = refine.multiline || length > 255 ? 'note' : 'text';
  } else if (type === 'text') {
    kind = 'note';
    maxLength = refine.maxLength;
  } else if (type === 'uuid') {
    kind = 'text';
    maxLength = 36;
    uuid = true;
  } else if (INTEGER_TYPES.has(type)) {
    kind = 'integer';
  } else if (FLOAT_TYPES.has(type)) {
    kind = 'number';
  } else if ((type === 'numeric' || type === 'decimal') && !(column.precision && column.precision <= 15)) {
    // A SharePoint number is a double: exact to 15 significant digits. `numeric` without such a precision
    // (Twenty's amountMicros, lat/lng) is kept exact as decimal text (docs/schema.md, "Exact numbers").
    kind = 'decimal';
  } else if (DECIMAL_TYPES.has(type)) {
    kind = 'number';
    scale = column.scale;
  } else if (type === 'boolean' || type === 'bool') {
    kind = 'boolean';
  } else if (DATETIME_TYPES.has(type)) {
    kind = 'dateTime';
  } else if (type === 'date') {
    kind = 'date';
  } else if (type === 'enum' || type === 'simple-enum') {
    kind = 'choice';
    choices = (column.enum ?? []).map(String);
    if (choices.length === 0) fail('enum column without values');
  } else if (type === 'simple-array') {
    kind = 'list';
  } else if (type === 'json' || type === 'jsonb' || type === 'simple-json') {
    kind = 'json';
  } else {
    fail(`type "${type}" has no SharePoint column; map it to another type or add @SharePointIgnore()`);
  }
  return { kind: kind!, maxLength, scale, choices, uuid };
}

/**
 * One column's SharePoint field: the checks (each rule its own error, in the order the errors must come),
 * the kind (`kindOf`), requiredness, default and name.
 */
export function fieldOfColumn(
  dataSource: DataSource,
  entity: string,
  column: ColumnMetadata,
  refinements: Refinements,
): FieldSchema {
  const property = column.propertyPath;
  const refine = refinements.column(entity, column.target, column.propertyName, column.propertyPath);
  const type = normalizedType(dataSource, column);
  const fail = (detail: string) => {
    throw new SchemaError(entity, property, 'unmappableType', detail);
  };
  const isArray = column.isArray || refine.array === true;
  if (isArray && !(type === 'enum' || type === 'text' || STRING_TYPES.has(type)))
    fail(
      `PostgreSQL array column (${type}[]) has no SharePoint column (enum[] and text[] do); use jsonb or simple-array, or @SharePointIgnore()`,
    );
  if (refine.choices !== undefined && !(isArray && type !== 'enum'))
    fail('the choices option is for text[] columns (stored as multi-choice); an enum brings its own values');
  if (unmappable(type))
    fail(`type "${type}" has no SharePoint column; map it to another type or add @SharePointIgnore()`);

  const { kind, maxLength, scale, choices, uuid } = kindOf(type, column, refine, isArray, fail);
  const hasDefault = column.default !== undefined && column.default !== null;
  const nullable = refine.nullable ?? column.isNullable;
  const required =
    refine.required ??
    (!nullable &&
      !hasDefault &&
      !column.isGenerated &&
      !column.isCreateDate &&
      !column.isUpdateDate &&
      !column.isVersion &&
      !column.isDeleteDate);
  const defaultValue =
    hasDefault && (typeof column.default === 'string' || typeof column.default === 'number')
      ? sharePointDefault(kind, String(column.default), choices)
      : undefined;
  const spec: FieldSpec = {
    name: nameFor(entity, property, refine.name, pascal(property)),
    displayName: refine.displayName ?? humanize(property),
    property,
    databaseName: column.databaseName,
    kind,
    required,
    nullable,
    indexed: refine.indexed ?? false,
    ...(maxLength !== undefined ? { maxLength } : {}),
    ...(scale !== undefined ? { scale } : {}),
    ...(refine.minimum !== undefined ? { minimum: refine.minimum } : {}),
    ...(refine.maximum !== undefined ? { maximum: refine.maximum } : {}),
    ...(choices ? { choices } : {}),
    ...(uuid ? { uuid } : {}),
    ...(defaultValue !== undefined ? { defaultValue } : {}),
  };
  if (spec.kind === 'text' && spec.maxLength !== undefined && spec.maxLength > 255) spec.kind = 'note';
  return buildField(spec);
}

/**
 * The column default SharePoint is given, when it is a value SharePoint can hold: text, a number, one of the
 * choices (an SQL string literal counts as its text). Anything else (an SQL expression such as `now()`, a default of another shape) gives no default.
 */
function sharePointDefault(
  kind: FieldKind,
  given: string,
  choices: string[] | undefined,
): string | undefined {
  // An SQL literal (`'NEW'`, `'System'::text`): Twenty hands its defaults to TypeORM in this form.
  const literal = /^'((?:[^']|'')*)'(::[\w". ]+(\[\])?)?$/.exec(given);
  const value = literal ? literal[1]!.replace(/''/g, "'") : given;
  switch (kind) {
    case 'text':
    case 'note':
      return value === '' ? undefined : value;
    case 'integer':
    case 'number':
      return value.trim() !== '' && Number.isFinite(Number(value)) ? value : undefined;
    case 'choice':
      return choices?.includes(value) ? value : undefined;
    default:
      return undefined;
  }
}
