import type { DataSource } from 'typeorm';
import type { FieldSchema, ListSchema } from '../schema/index.js';
import { type UpsertTarget, upsertTargetFor } from '../store/rows.js';

/** Upsert target with the relation columns marked, so a row whose target is not loaded yet still lands. */
export function referenceAwareTarget(dataSource: DataSource, list: ListSchema): UpsertTarget {
  const target = upsertTargetFor(list);
  const references: NonNullable<UpsertTarget['references']> = [];
  const add = (field: FieldSchema, targetEntity: Function | string) => {
    try {
      const meta = dataSource.getMetadata(targetEntity);
      const pk = meta.primaryColumns[0];
      if (pk)
        references.push({
          column: field.databaseName,
          targetTablePath: meta.tablePath,
          targetColumn: pk.databaseName,
        });
    } catch {
      // target not registered in this DataSource: no foreign key to respect
    }
  };
  if (list.kind === 'junction' && list.junction) {
    const j = list.junction;
    add(j.ownerField, j.ownerEntityName);
    add(j.inverseField, j.inverseEntityName);
  } else {
    for (const relation of list.relations) {
      if (relation.field && relation.target) add(relation.field, relation.target);
      else if (relation.field && relation.targetEntityName) add(relation.field, relation.targetEntityName);
    }
  }
  return { ...target, references };
}

/** Entity names this list's rows point at (to load them first). */
export function dependenciesOf(list: ListSchema): string[] {
  if (list.kind === 'junction' && list.junction)
    return [list.junction.ownerEntityName, list.junction.inverseEntityName];
  return list.relations.filter((r) => r.field && r.targetEntityName).map((r) => r.targetEntityName as string);
}
