import type { EntityMetadata } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js';
import { SchemaError } from './errors.js';
import { buildField } from './fields.js';
import { humanize, internalName, pascal } from './names.js';
import type { Refinements } from './refinements.js';
import type { FieldSchema, ListSchema } from './types.js';

/** One side of a junction: an indexed, required id column pointing at `target`. */
function junctionIdField(column: ColumnMetadata, name: string, target: string): FieldSchema {
  return buildField({
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
}

/** One junction list per owning many-to-many relation of a synced entity: two indexed id columns. */
export function readJunctions(
  metadata: EntityMetadata,
  lists: ListSchema[],
  refine: Refinements,
): ListSchema[] {
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
    const ownerField = junctionIdField(ownerColumn, ownerIdName, owner.entityName);
    const inverseField = junctionIdField(inverseColumn, inverseIdName, inverseName);
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
