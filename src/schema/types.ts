/** Write-back priority of a list: P0 immediate, P1 batched (window), P2 every 5 minutes, P3 daily. */
export type Priority = 'P0' | 'P1' | 'P2' | 'P3';

/** What happens when SharePoint and the application changed the same record (docs/inbound.md). */
export type ConflictPolicy = 'sharePointPriority' | 'twentyPriority' | 'lastWriteWins' | 'manualReview';

export interface SharePointListOptions {
  /** List display name. Default: the entity name pluralised (`Company` → `Companies`). */
  title?: string;
  /** Write-back priority. Default: the `defaultPriority` of attach (`P1`). */
  priority?: Priority;
  /** Internal name of the id column holding the primary key. Default `TwentyId`. */
  idColumn?: string;
  /** Conflict policy of this list. Default `sharePointPriority` (SharePoint is the source of truth). */
  conflictResolution?: ConflictPolicy;
  /** Property whose value fills SharePoint's built-in `Title`. Default: the first single-line string column. */
  titleColumn?: string;
}

/**
 * A list configured without decorators (attach's `lists`, e.g. for Twenty's runtime `EntitySchema`s): the
 * `@SharePointList` options plus per-property column options; `false` leaves a property out of SharePoint.
 */
export interface ListConfig extends SharePointListOptions {
  columns?: Record<string, SharePointColumnOptions | false>;
}

export interface SharePointColumnOptions {
  /** Internal column name (letters, digits, `_`; ≤ 32). Default: the property path in PascalCase. Never changes once created. */
  name?: string;
  /** Display name. Default: the property path in words (`address.city` → `Address City`). */
  displayName?: string;
  /** Index the column in SharePoint (needed for `$filter` on lists over 5,000 items). */
  indexed?: boolean;
  /** Required in SharePoint. Default: the column is not nullable and has no default. */
  required?: boolean;
  /** Longest text. Default: the column's `length` (single-line text holds at most 255). */
  maxLength?: number;
  /** Numbers: smallest and largest value SharePoint accepts. */
  minimum?: number;
  maximum?: number;
  /** Strings: store as multi-line text (no 255 limit). Default: `text` columns and lengths over 255. */
  multiline?: boolean;
  /**
   * PostgreSQL accepts NULL in this column. Default: the ORM metadata's `nullable`. Set it where the ORM
   * metadata does not match the table (Twenty's composite sub-columns: its EntitySchemas flag them nullable
   * exactly when they are required). Decides `required` and what an empty SharePoint value becomes.
   */
  nullable?: boolean;
  /**
   * The database column is a PostgreSQL array although the ORM metadata says scalar text (Twenty's ARRAY
   * fields: its EntitySchemas omit `array: true`, its tables have `text[]`). Mapped as a `text[]` column.
   */
  array?: boolean;
  /**
   * A `text[]` column: store it as a SharePoint multi-choice column with these choices instead of a JSON
   * array in multi-line text (a value outside them is refused before commit).
   */
  choices?: string[];
  /**
   * Relations only: the target is a local table, not a SharePoint list, and that is intended. Without it, a
   * relation to an entity that is not synced is a `SchemaError` at attach: after a rebuild its rows would not
   * be there to point at. With it, SharePoint stores the id; a rebuild restores it only where the target
   * row exists locally (else it is left empty and logged). See docs/schema.md.
   */
  localTarget?: boolean;
}

/** How one field is stored in SharePoint. */
export type FieldKind =
  | 'id'
  | 'text'
  | 'note'
  | 'integer'
  | 'number'
  | 'boolean'
  | 'dateTime'
  | 'date'
  | 'choice'
  /** PostgreSQL `enum[]` (Twenty's MULTI_SELECT), or `text[]` given `choices`: a multi-choice column. */
  | 'multiChoice'
  | 'json'
  /** TypeORM `simple-array`: a JSON array in multi-line text, read back as comma-joined text. */
  | 'list'
  /** A PostgreSQL `text[]` (Twenty's ARRAY): a JSON array in multi-line text (any element, commas too). */
  | 'array'
  /** `numeric` without a precision of at most 15 digits (Twenty's micros, lat/lng): exact decimal text. */
  | 'decimal'
  | 'relation';

/** One SharePoint column and how values cross between PostgreSQL and Graph. */
export interface FieldSchema {
  /** SharePoint internal name (stable: the same entity always yields the same name). */
  name: string;
  displayName: string;
  /** Entity property path, e.g. `address.city`; for a relation column the relation's property (`company`). */
  property: string;
  /** PostgreSQL column name. */
  databaseName: string;
  kind: FieldKind;
  required: boolean;
  /** PostgreSQL accepts NULL. A non-nullable text column stores an empty SharePoint value as `''`. */
  nullable: boolean;
  indexed: boolean;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  choices?: string[];
  /** For relation columns: the target entity name. */
  relationTarget?: string;
  /** Graph v1.0 `columnDefinition` sent to create the column. */
  definition: Record<string, unknown>;
  /** A PostgreSQL value (as the driver returns it, or as the entity holds it) → the Graph field value. */
  toSharePoint(value: unknown): unknown;
  /** A Graph field value → the value to store in PostgreSQL. Throws an Error saying why it does not fit. */
  fromSharePoint(raw: unknown): unknown;
}

export type RelationKind = 'many-to-one' | 'one-to-one' | 'one-to-many' | 'many-to-many';

export interface RelationSchema {
  property: string;
  kind: RelationKind;
  /** The id column on this list (owning side of many-to-one / one-to-one). */
  field?: FieldSchema;
  target?: Function | string;
  targetEntityName?: string;
  /** Property on the target that points back (one-to-many: the target's many-to-one). */
  inverseProperty?: string;
  /** Many-to-many: the junction list's entity name. */
  junctionEntityName?: string;
  /** `@SharePointColumn({ localTarget: true })`: the target is knowingly not a SharePoint list. */
  localTarget?: boolean;
}

export interface JunctionSchema {
  ownerEntityName: string;
  inverseEntityName: string;
  /** The owner's many-to-many property. */
  ownerProperty: string;
  ownerField: FieldSchema;
  inverseField: FieldSchema;
}

/** Everything the library knows about one synced list. */
export interface ListSchema {
  kind: 'entity' | 'junction';
  entityName: string;
  target: Function | string;
  title: string;
  tablePath: string;
  /** PostgreSQL column of the primary key (a junction: its owner column). */
  primaryKey: string;
  priority: Priority;
  conflictResolution: ConflictPolicy;
  /** The `TwentyId` column. */
  idField: FieldSchema;
  /** Every mapped column except the id (flattened embedded columns, relation ids, the soft-delete column). */
  fields: FieldSchema[];
  relations: RelationSchema[];
  junction?: JunctionSchema;
  /** Field whose value fills SharePoint's built-in `Title` (the id when none). */
  titleSource?: FieldSchema;
  /** The soft-delete column, if any. */
  deleteDateField?: FieldSchema;
}
