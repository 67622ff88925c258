import type { DataSource, EntityMetadata } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js';
import type { RelationMetadata } from 'typeorm/metadata/RelationMetadata.js';
import { columnOptionsOf, isIgnored, listOptionsOf } from './decorators.js';
import { SchemaError } from './errors.js';
import { buildField, type FieldSpec } from './fields.js';
import { explicitNameProblem, humanize, internalName, pascal, pluralize } from './names.js';
import type {
  ConflictPolicy,
  FieldKind,
  FieldSchema,
  ListConfig,
  ListSchema,
  Priority,
  RelationSchema,
  SharePointColumnOptions,
  SharePointListOptions,
} from './types.js';

export interface ReadOptions {
  /** Priority of lists whose `@SharePointList` names none. Default `P1`. */
  defaultPriority?: Priority;
  /**
   * Lists configured without decorators (attach's `lists`): entity name (an `EntitySchema`'s `name` or a
   * class name) → list options and per-property column options (`false` leaves a property out).
   */
  lists?: Record<string, ListConfig>;
  /** Conflict policy of lists that name none (attach's `conflictResolution`). Default `sharePointPriority`. */
  conflictResolution?: ConflictPolicy;
}

/**
 * Where a list's and a column's options come from: the decorators and attach's `lists`, one set of rules
 * for classes and `EntitySchema`s alike. Both may say something; saying two different things is an error.
 */
class Refinements {
  constructor(private readonly config: Record<string, ListConfig>) {}

  /** The list options of an entity, or undefined when it is not synced. */
  list(metadata: EntityMetadata): SharePointListOptions | undefined {
    const decorated = listOptionsOf(metadata.target);
    const configured = this.config[metadata.name];
    if (!decorated && !configured) return undefined;
    const { columns: _columns, ...fromConfig } = configured ?? {};
    return merge(metadata.name, undefined, decorated ?? {}, fromConfig, '@SharePointList');
  }

  column(
    entity: string,
    target: Function | string,
    propertyName: string,
    path: string,
  ): SharePointColumnOptions {
    const configured = this.config[entity]?.columns?.[path];
    return merge(
      entity,
      path,
      columnOptionsOf(target, propertyName),
      configured === false ? {} : (configured ?? {}),
      '@SharePointColumn',
    );
  }

  ignored(entity: string, target: Function | string, propertyName: string, path: string): boolean {
    return isIgnored(target, propertyName) || this.config[entity]?.columns?.[path] === false;
  }

  /** Every property `lists[entity].columns` names must exist: a typo would silently sync the column. */
  checkColumns(metadata: EntityMetadata): void {
    const columns = this.config[metadata.name]?.columns;
    if (!columns) return;
    const known = new Set([
      ...metadata.columns.map((c) => c.propertyPath),
      ...metadata.embeddeds.flatMap((e) => [e.propertyPath, ...e.columnsFromTree.map((c) => c.propertyPath)]),
      ...metadata.relations.map((r) => r.propertyPath),
    ]);
    for (const path of Object.keys(columns)) {
      if (!known.has(path))
        throw new SchemaError(
          metadata.name,
          path,
          'unknownProperty',
          `attach's lists.${metadata.name}.columns names "${path}", which is not a property of ${metadata.name} (properties: ${[...known].join(', ')})`,
        );
    }
  }
}

/** Options set in two places agree, or the attach fails naming both. */
function merge<T extends object>(
  entity: string,
  property: string | undefined,
  decorated: T,
  configured: T,
  decorator: string,
): T {
  for (const [key, value] of Object.entries(configured)) {
    const other = (decorated as Record<string, unknown>)[key];
    if (value !== undefined && other !== undefined && other !== value)
      throw new SchemaError(
        entity,
        property,
        'conflictingOptions',
        `${key} is ${JSON.stringify(other)} in ${decorator} but ${JSON.stringify(value)} in attach's lists: set it in one place`,
      );
  }
  return { ...decorated, ...configured };
}

const STRING_TYPES = new Set([
  'character varying',
  'varchar',
  'character',
  'char',
  'citext',
  'string',
  'nvarchar',
]);
const INTEGER_TYPES = new Set(['integer', 'int', 'int2', 'int4', 'int8', 'smallint', 'bigint']);
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
function derivedByPostgres(dataSource: DataSource, column: ColumnMetadata): boolean {
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

function normalizedType(dataSource: DataSource, column: ColumnMetadata): string {
  // TypeORM's own abstractions, which the driver would flatten to `text` (and lose their meaning).
  if (column.type === 'simple-array' || column.type === 'simple-json' || column.type === 'simple-enum') {
    return column.type;
  }
  const type = dataSource.driver.normalizeType(column);
  return String(type).toLowerCase();
}

/**
 * Reads the SharePoint lists of every `@SharePointList` entity of an initialised DataSource, from TypeORM's
 * own metadata (types, lengths, nullability, enums, embedded columns, relations) refined by the decorators.
 * Throws `SchemaError` naming entity, column and rule for anything SharePoint cannot hold.
 */
export function readListSchemas(dataSource: DataSource, options: ReadOptions = {}): ListSchema[] {
  const config = options.lists ?? {};
  for (const name of Object.keys(config)) {
    if (!dataSource.entityMetadatas.some((m) => m.name === name))
      throw new SchemaError(
        name,
        undefined,
        'unknownEntity',
        `attach's lists names ${name}, which this DataSource does not have (entities: ${dataSource.entityMetadatas
          .map((m) => m.name)
          .join(', ')})`,
      );
  }
  const refine = new Refinements(config);
  const lists: ListSchema[] = [];
  const synced = dataSource.entityMetadatas.filter((m) => refine.list(m) !== undefined);
  for (const metadata of synced) {
    refine.checkColumns(metadata);
    lists.push(readEntity(dataSource, metadata, options, refine));
  }
  for (const metadata of synced) lists.push(...readJunctions(metadata, lists, refine));
  const titles = new Map<string, string>();
  for (const list of lists) {
    const key = list.title.toLowerCase();
    const other = titles.get(key);
    if (other) {
      throw new SchemaError(
        list.entityName,
        undefined,
        'uniqueListTitle',
        `list title "${list.title}" is already used by ${other}; give one of them another title (@SharePointList({ title }))`,
      );
    }
    titles.set(key, list.entityName);
  }
  return lists;
}

/**
 * Every stored relation points at a list that is synced too (or says it knowingly does not): a rebuild
 * loads only lists, so a relation to a local-only table would come back empty and drift forever.
 * Run on the lists actually attached (after `entities` narrowed them).
 */
export function assertRelationTargets(lists: readonly ListSchema[]): void {
  const synced = new Set(lists.filter((l) => l.kind === 'entity').map((l) => l.entityName));
  for (const list of lists) {
    if (list.kind !== 'entity') continue;
    for (const relation of list.relations) {
      if (!relation.field || relation.localTarget || !relation.targetEntityName) continue;
      if (synced.has(relation.targetEntityName)) continue;
      throw new SchemaError(
        list.entityName,
        relation.property,
        'relationTarget',
        `points at ${relation.targetEntityName}, which is not a synced SharePoint list: after a rebuild this relation would be empty. ` +
          `Sync ${relation.targetEntityName} too (@SharePointList, and in \`entities\` if you narrow them), or mark the relation @SharePointColumn({ localTarget: true }) if the target is meant to stay local`,
      );
    }
  }
}

function readEntity(
  dataSource: DataSource,
  metadata: EntityMetadata,
  options: ReadOptions,
  refine: Refinements,
): ListSchema {
  const entity = metadata.name;
  const listOptions = refine.list(metadata)!;
  const { pk, idName, idField } = idFieldOf(dataSource, metadata, listOptions);

  const fields: FieldSchema[] = [];
  const taken = new Map<string, string>([[idName.toLowerCase(), pk.propertyPath]]);
  const claim = (field: FieldSchema) => {
    const key = field.name.toLowerCase();
    const other = taken.get(key);
    if (other !== undefined) {
      throw new SchemaError(
        entity,
        field.property,
        'uniqueColumnName',
        `maps to SharePoint column "${field.name}", which ${other} already uses; rename one with @SharePointColumn({ name })`,
      );
    }
    taken.set(key, field.property);
    fields.push(field);
  };

  for (const column of metadata.columns) {
    if (column.isPrimary || column.relationMetadata || column.isVirtual || column.isDiscriminator) continue;
    if (ignoredColumn(metadata, column, refine) || derivedByPostgres(dataSource, column)) continue;
    claim(fieldOfColumn(dataSource, entity, column, refine));
  }

  const relations = relationsOf(dataSource, metadata, refine, claim);

  const titleSource = titleSourceOf(entity, fields, listOptions);

  const deleteDate = metadata.deleteDateColumn;
  return {
    kind: 'entity',
    entityName: entity,
    target: metadata.target,
    title: listOptions.title ?? pluralize(entity),
    tablePath: metadata.tablePath,
    primaryKey: pk.databaseName,
    priority: listOptions.priority ?? options.defaultPriority ?? 'P1',
    conflictResolution: listOptions.conflictResolution ?? options.conflictResolution ?? 'sharePointPriority',
    idField,
    fields,
    relations,
    ...(titleSource ? { titleSource } : {}),
    ...(deleteDate
      ? { deleteDateField: fields.find((f) => f.databaseName === deleteDate.databaseName)! }
      : {}),
  };
}

/** The primary key, which becomes the list's TwentyId column (exactly one, with a valid SharePoint name). */
function idFieldOf(
  dataSource: DataSource,
  metadata: EntityMetadata,
  listOptions: SharePointListOptions,
): { pk: ColumnMetadata; idName: string; idField: FieldSchema } {
  const entity = metadata.name;
  if (metadata.primaryColumns.length !== 1) {
    throw new SchemaError(
      entity,
      undefined,
      'singlePrimaryKey',
      `needs exactly one primary key column (it becomes TwentyId); found ${metadata.primaryColumns.length}`,
    );
  }
  const pk = metadata.primaryColumns[0]!;
  const pkType = normalizedType(dataSource, pk);
  const idName = listOptions.idColumn ?? 'TwentyId';
  const idProblem = explicitNameProblem(idName);
  if (idProblem)
    throw new SchemaError(entity, pk.propertyPath, 'columnName', `idColumn "${idName}": ${idProblem}`);
  const idField = buildField({
    name: idName,
    displayName: idName,
    property: pk.propertyPath,
    databaseName: pk.databaseName,
    kind: 'id',
    // Not required: people add items in SharePoint's own form without typing a UUID; the next pull or
    // webhook gives such an item its id (docs/cache.md). Indexed and unique all the same.
    required: false,
    indexed: true,
    unique: true,
    maxLength: 36,
    uuid: pkType === 'uuid',
    integerKey: INTEGER_TYPES.has(pkType),
  });
  return { pk, idName, idField };
}

/** The entity's relations: owning sides become id columns (through `claim`), the others are recorded. */
function relationsOf(
  dataSource: DataSource,
  metadata: EntityMetadata,
  refine: Refinements,
  claim: (field: FieldSchema) => void,
): RelationSchema[] {
  const entity = metadata.name;
  const relations: RelationSchema[] = [];
  for (const relation of metadata.relations) {
    if (refine.ignored(entity, relation.target, relation.propertyName, relation.propertyPath)) continue;
    const targetMeta = relation.inverseEntityMetadata;
    const base = {
      property: relation.propertyPath,
      target: targetMeta.target,
      targetEntityName: targetMeta.name,
      ...(refine.column(entity, relation.target, relation.propertyName, relation.propertyPath).localTarget
        ? { localTarget: true }
        : {}),
    };
    if ((relation.isManyToOne || relation.isOneToOneOwner) && relation.joinColumns.length === 1) {
      const field = relationField(dataSource, entity, relation, refine);
      claim(field);
      relations.push({ ...base, kind: relation.isManyToOne ? 'many-to-one' : 'one-to-one', field });
    } else if ((relation.isManyToOne || relation.isOneToOneOwner) && relation.joinColumns.length > 1) {
      throw new SchemaError(
        entity,
        relation.propertyPath,
        'singleColumnRelation',
        'relations over composite keys cannot be stored as one id column',
      );
    } else if (relation.isOneToMany || relation.isOneToOneNotOwner) {
      relations.push({
        ...base,
        kind: relation.isOneToMany ? 'one-to-many' : 'one-to-one',
        ...(relation.inverseSidePropertyPath ? { inverseProperty: relation.inverseSidePropertyPath } : {}),
      });
    } else if (relation.isManyToMany) {
      relations.push({
        ...base,
        kind: 'many-to-many',
        ...(relation.inverseSidePropertyPath ? { inverseProperty: relation.inverseSidePropertyPath } : {}),
        ...(relation.junctionEntityMetadata
          ? { junctionEntityName: relation.junctionEntityMetadata.name }
          : {}),
      });
    }
  }
  return relations;
}

/** The field SharePoint's Title shows: `titleColumn`'s property, else the first text field. */
function titleSourceOf(
  entity: string,
  fields: FieldSchema[],
  listOptions: SharePointListOptions,
): FieldSchema | undefined {
  if (listOptions.titleColumn !== undefined) {
    const titleSource = fields.find((f) => f.property === listOptions.titleColumn);
    if (!titleSource) {
      throw new SchemaError(
        entity,
        listOptions.titleColumn,
        'titleColumn',
        'titleColumn names no mapped property of this entity',
      );
    }
    return titleSource;
  }
  return fields.find((f) => f.kind === 'text');
}

/**
 * A column is ignored by `@SharePointIgnore()` (or `false` in attach's `lists`) on itself or on any embedded
 * object that holds it.
 */
function ignoredColumn(metadata: EntityMetadata, column: ColumnMetadata, refine: Refinements): boolean {
  if (refine.ignored(metadata.name, column.target, column.propertyName, column.propertyPath)) return true;
  for (let e = column.embeddedMetadata; e; e = e.parentEmbeddedMetadata) {
    const owner = e.parentEmbeddedMetadata ? e.parentEmbeddedMetadata.type : metadata.target;
    if (refine.ignored(metadata.name, owner, e.propertyName, e.propertyPath)) return true;
  }
  return false;
}

function nameFor(entity: string, property: string, explicit: string | undefined, wanted: string): string {
  if (explicit === undefined) return internalName(wanted);
  const problem = explicitNameProblem(explicit);
  if (problem)
    throw new SchemaError(entity, property, 'columnName', `@SharePointColumn name "${explicit}": ${problem}`);
  return explicit;
}

// Over 80 lines: the mapping rules of one column (one check or option per rule, each with its own error),
// in the order the errors must come; the file is the whole TypeORM-metadata reader (over 400 for that reason).
function fieldOfColumn(
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
      ? sharePointDefault(kind!, String(column.default), choices)
      : undefined;
  const spec: FieldSpec = {
    name: nameFor(entity, property, refine.name, pascal(property)),
    displayName: refine.displayName ?? humanize(property),
    property,
    databaseName: column.databaseName,
    kind: kind!,
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

function relationField(
  dataSource: DataSource,
  entity: string,
  relation: RelationMetadata,
  refinements: Refinements,
): FieldSchema {
  const join = relation.joinColumns[0]!;
  const refine = refinements.column(entity, relation.target, relation.propertyName, relation.propertyPath);
  const targetPk = join.referencedColumn ?? relation.inverseEntityMetadata.primaryColumns[0];
  const targetType = targetPk ? normalizedType(dataSource, targetPk) : 'uuid';
  return buildField({
    name: nameFor(entity, relation.propertyPath, refine.name, `${pascal(relation.propertyPath)}Id`),
    displayName: refine.displayName ?? `${humanize(relation.propertyPath)} Id`,
    property: relation.propertyPath,
    databaseName: join.databaseName,
    kind: 'relation',
    required: refine.required ?? !relation.isNullable,
    indexed: true,
    maxLength: 36,
    uuid: targetType === 'uuid',
    integerKey: INTEGER_TYPES.has(targetType),
    relationTarget: relation.inverseEntityMetadata.name,
  });
}

/** One junction list per owning many-to-many relation of a synced entity: two indexed id columns. */
function readJunctions(metadata: EntityMetadata, lists: ListSchema[], refine: Refinements): ListSchema[] {
  const owner = lists.find((l) => l.target === metadata.target && l.kind === 'entity')!;
  const out: ListSchema[] = [];
  for (const relation of metadata.manyToManyRelations) {
    if (!relation.isOwning || !relation.junctionEntityMetadata) continue;
    if (refine.ignored(metadata.name, relation.target, relation.propertyName, relation.propertyPath))
      continue;
    const junction = relation.junctionEntityMetadata;
    const ownerColumn = junction.ownerColumns[0];
    const inverseColumn = junction.inverseColumns[0];
    if (
      !ownerColumn ||
      !inverseColumn ||
      junction.ownerColumns.length !== 1 ||
      junction.inverseColumns.length !== 1
    ) {
      throw new SchemaError(
        owner.entityName,
        relation.propertyPath,
        'singleColumnRelation',
        'many-to-many over composite keys is not supported',
      );
    }
    const inverseName = relation.inverseEntityMetadata.name;
    const ownerIdName = internalName(`${owner.entityName}Id`);
    let inverseIdName = internalName(`${pascal(relation.propertyPath)}Id`);
    if (inverseIdName.toLowerCase() === ownerIdName.toLowerCase())
      inverseIdName = internalName(`Related${inverseIdName}`);
    const idOf = (column: typeof ownerColumn, name: string, target: string) =>
      buildField({
        name,
        displayName: `${humanize(name.replace(/Id$/, ''))} Id`,
        property: column.propertyName,
        databaseName: column.databaseName,
        kind: 'relation',
        required: true,
        indexed: true,
        maxLength: 36,
        uuid: String(column.type).toLowerCase() === 'uuid',
        relationTarget: target,
      });
    const ownerField = idOf(ownerColumn, ownerIdName, owner.entityName);
    const inverseField = idOf(inverseColumn, inverseIdName, inverseName);
    const idField = buildField({
      name: owner.idField.name,
      displayName: owner.idField.name,
      property: '(junction)',
      databaseName: '(computed)',
      kind: 'id',
      required: false,
      indexed: true,
      unique: true,
      maxLength: 36,
      uuid: true,
    });
    out.push({
      kind: 'junction',
      entityName: junction.name,
      target: junction.target,
      title: `${owner.title} ${humanize(relation.propertyPath)}`,
      tablePath: junction.tablePath,
      primaryKey: ownerColumn.databaseName,
      priority: owner.priority,
      conflictResolution: owner.conflictResolution,
      idField,
      fields: [ownerField, inverseField],
      relations: [],
      junction: {
        ownerEntityName: owner.entityName,
        inverseEntityName: inverseName,
        ownerProperty: relation.propertyPath,
        ownerField,
        inverseField,
      },
    });
  }
  return out;
}
