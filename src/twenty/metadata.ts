import { UsageError } from '../errors/index.js';
/**
 * Twenty CRM's object and field metadata, as much of it as the SharePoint mapping needs. The shapes follow
 * Twenty's own (`FieldMetadataType`, composite types, relation settings); relation targets are named by
 * object name instead of metadata id. docs/twenty.md.
 */

/** Twenty's `FieldMetadataType` values that can appear on a workspace object. */
export type TwentyFieldType =
  | 'UUID'
  | 'TEXT'
  | 'ARRAY'
  | 'RICH_TEXT'
  | 'RICH_TEXT_V2'
  | 'NUMERIC'
  | 'NUMBER'
  | 'POSITION'
  | 'BOOLEAN'
  | 'DATE_TIME'
  | 'DATE'
  | 'SELECT'
  | 'MULTI_SELECT'
  | 'RATING'
  | 'RAW_JSON'
  | 'FILES'
  | 'TS_VECTOR'
  | 'RELATION'
  | 'MORPH_RELATION'
  | 'FULL_NAME'
  | 'LINKS'
  | 'CURRENCY'
  | 'ADDRESS'
  | 'ACTOR'
  | 'EMAILS'
  | 'PHONES';

export interface TwentyFieldOption {
  value: string;
  label?: string;
}

export interface TwentyField {
  /** Field name (= column name for a plain field, prefix of the sub-columns for a composite). */
  name: string;
  type: TwentyFieldType;
  label?: string;
  /** Twenty's `isNullable` (default true). */
  isNullable?: boolean;
  /** Twenty's `defaultValue`, in Twenty's form (`"'NEW'"`, `'now'`, `'uuid'`, numbers, composite objects). */
  defaultValue?: unknown;
  /** SELECT / MULTI_SELECT / RATING values. */
  options?: TwentyFieldOption[];
  settings?: {
    /** RELATION / MORPH_RELATION. */
    relationType?: 'MANY_TO_ONE' | 'ONE_TO_MANY';
    /** RELATION: the join column (default field name + `Id`). */
    joinColumnName?: string;
    onDelete?: 'CASCADE' | 'SET NULL' | 'RESTRICT' | 'NO ACTION';
    /** TS_VECTOR: the generated expression. */
    asExpression?: string;
    /** NUMBER: `INT`, `FLOAT`… (does not change the column: always double precision). */
    dataType?: string;
  };
  /** RELATION: the object it points at (by `nameSingular`) and the field there that points back. */
  relationTarget?: { object: string; field?: string };
}

export interface TwentyObject {
  nameSingular: string;
  namePlural?: string;
  labelSingular?: string;
  labelPlural?: string;
  /** Custom objects live in table `_<nameSingular>`. */
  isCustom?: boolean;
  /** The field shown as the record's name (Twenty's `labelIdentifierFieldMetadataId`, by name). */
  labelIdentifierFieldName?: string;
  fields: TwentyField[];
}

export interface CompositeProperty {
  /** Sub-property name (`primaryLinkUrl`); the column is field name + this with a capital first letter. */
  name: string;
  type: 'TEXT' | 'UUID' | 'NUMERIC' | 'RAW_JSON' | 'SELECT';
  isRequired?: boolean;
  options?: string[];
}

/** ACTOR `source` values (newest Twenty; older versions have fewer). */
export const ACTOR_SOURCES = [
  'EMAIL',
  'CALENDAR',
  'WORKFLOW',
  'AGENT',
  'API',
  'IMPORT',
  'MANUAL',
  'SYSTEM',
  'WEBHOOK',
  'APPLICATION',
] as const;

const text = (name: string): CompositeProperty => ({ name, type: 'TEXT' });

/** Twenty's composite types and their sub-properties (`twenty-shared` composite-type definitions). */
export const COMPOSITE_TYPES: Readonly<Record<string, readonly CompositeProperty[]>> = {
  FULL_NAME: [text('firstName'), text('lastName')],
  LINKS: [text('primaryLinkLabel'), text('primaryLinkUrl'), { name: 'secondaryLinks', type: 'RAW_JSON' }],
  CURRENCY: [{ name: 'amountMicros', type: 'NUMERIC' }, text('currencyCode')],
  ADDRESS: [
    text('addressStreet1'),
    text('addressStreet2'),
    text('addressCity'),
    text('addressPostcode'),
    text('addressState'),
    text('addressCountry'),
    { name: 'addressLat', type: 'NUMERIC' },
    { name: 'addressLng', type: 'NUMERIC' },
  ],
  ACTOR: [
    { name: 'source', type: 'SELECT', isRequired: true, options: [...ACTOR_SOURCES] },
    { name: 'workspaceMemberId', type: 'UUID' },
    { name: 'name', type: 'TEXT', isRequired: true },
    { name: 'context', type: 'RAW_JSON' },
  ],
  EMAILS: [text('primaryEmail'), { name: 'additionalEmails', type: 'RAW_JSON' }],
  PHONES: [
    text('primaryPhoneNumber'),
    text('primaryPhoneCountryCode'),
    text('primaryPhoneCallingCode'),
    { name: 'additionalPhones', type: 'RAW_JSON' },
  ],
  RICH_TEXT: [text('blocknote'), text('markdown')],
  RICH_TEXT_V2: [text('blocknote'), text('markdown')],
};

/** Twenty's `computeCompositeColumnName`: `name` + `firstName` → `nameFirstName`. */
export function compositeColumnName(field: string, property: string): string {
  return `${field}${property.charAt(0).toUpperCase()}${property.slice(1)}`;
}

/** The table of an object: `nameSingular`, or `_` + `nameSingular` for a custom object. */
export function twentyTableName(object: TwentyObject): string {
  return object.isCustom ? `_${object.nameSingular}` : object.nameSingular;
}

/** The join column of a MANY_TO_ONE relation field. */
export function joinColumnOf(field: TwentyField): string {
  return field.settings?.joinColumnName ?? `${field.name}Id`;
}

/**
 * A workspace's PostgreSQL schema: `workspace_` + the workspace UUID (dashes removed) read as one hex
 * number and written in base 36 (Twenty's `getWorkspaceSchemaName`).
 */
export function twentyWorkspaceSchema(workspaceId: string): string {
  const hex = workspaceId.replace(/-/g, '').toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(hex))
    throw new UsageError(`${JSON.stringify(workspaceId)} is not a workspace UUID`);
  return `workspace_${BigInt(`0x${hex}`).toString(36)}`;
}
