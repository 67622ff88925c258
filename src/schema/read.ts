import type { DataSource, EntityMetadata } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js';
import type { RelationMetadata } from 'typeorm/metadata/RelationMetadata.js';
import { derivedByPostgres, fieldOfColumn, INTEGER_TYPES, nameFor, normalizedType } from './columns.js';
import { SchemaError } from './errors.js';
import { buildField } from './fields.js';
import { readJunctions } from './junctions.js';
import { explicitNameProblem, humanize, pascal, pluralize } from './names.js';
import { Refinements } from './refinements.js';
import type {
  ConflictPolicy,
  FieldSchema,
  ListConfig,
  ListSchema,
  Priority,
  RelationSchema,
  SharePointListOptions,
} from './types.js';

// TypeORM metadata → the synced lists: each entity's list, id column, fields (columns.ts), relations and
// junction lists (junctions.ts), refined by the decorators and attach's `lists` (refinements.ts).

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
