import type { EntityMetadata } from 'typeorm';
import { columnOptionsOf, isIgnored, listOptionsOf } from './decorators.js';
import { SchemaError } from './errors.js';
import type { ListConfig, SharePointColumnOptions, SharePointListOptions } from './types.js';

/**
 * Where a list's and a column's options come from: the decorators and attach's `lists`, one set of rules
 * for classes and `EntitySchema`s alike. Both may say something; saying two different things is an error.
 */
export class Refinements {
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
