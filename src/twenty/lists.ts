import { UsageError } from '../errors/index.js';
import { humanize, type ListConfig, type Priority, type SharePointColumnOptions } from '../schema/index.js';
import { COMPOSITE_TYPES, compositeColumnName, type TwentyField, type TwentyObject } from './metadata.js';

export interface TwentyListsOptions {
  /** The objects to sync, by `nameSingular` (Twenty's objects-to-sync setting). Default: every object given. */
  objects?: string[];
  /** Write-back priority per object (default: attach's `defaultPriority`). */
  priorities?: Record<string, Priority>;
  /** SharePoint list title per object. Default: the object's `labelPlural`, else its name pluralised. */
  titles?: Record<string, string>;
}

/**
 * Twenty's object metadata → attach's `lists` (and `SharePointWorkspaces`' per-workspace `lists`), so a Twenty
 * operator writes no per-field configuration. The type map itself comes from the EntitySchemas Twenty builds;
 * this adds what those schemas do not say or say differently from the tables:
 * - list titles (`labelPlural`), priorities and the `Title` source (the label identifier field);
 * - display names from field labels (`Annual Recurring Revenue Amount Micros`);
 * - ARRAY fields: Twenty's schemas call them `text`, the tables have `text[]` → `{ array: true }`;
 * - TS_VECTOR fields left out explicitly (PostgreSQL derives them; they would be skipped anyway);
 * - MANY_TO_ONE relations to objects that are not synced → `localTarget` (kept as ids, restored where the
 *   target row exists), so syncing a subset of objects is not a `SchemaError`.
 * docs/twenty.md.
 */
export function twentyLists(
  objects: readonly TwentyObject[],
  options: TwentyListsOptions = {},
): Record<string, ListConfig> {
  const known = new Map(objects.map((o) => [o.nameSingular, o]));
  const chosen = options.objects ?? objects.map((o) => o.nameSingular);
  for (const name of chosen) {
    if (!known.has(name))
      throw new UsageError(
        `typeorm-sharepoint/twenty: object "${name}" is not in the metadata given (objects: ${[...known.keys()].join(', ')})`,
      );
  }
  const synced = new Set(chosen);
  const lists: Record<string, ListConfig> = {};
  for (const name of chosen) {
    const object = known.get(name)!;
    const columns: Record<string, SharePointColumnOptions | false> = {};
    for (const field of object.fields) Object.assign(columns, columnsOf(field, synced));
    const titleColumn = titleColumnOf(object);
    const priority = options.priorities?.[name];
    lists[name] = {
      title: options.titles?.[name] ?? object.labelPlural ?? humanize(object.namePlural ?? `${name}s`),
      ...(priority ? { priority } : {}),
      ...(titleColumn ? { titleColumn } : {}),
      columns,
    };
  }
  return lists;
}

function columnsOf(field: TwentyField, synced: Set<string>): Record<string, SharePointColumnOptions | false> {
  const label = field.label;
  // What the table says (Twenty's migration runner), where the EntitySchema may say otherwise.
  const fieldNullable = field.isNullable ?? true;
  const composite = COMPOSITE_TYPES[field.type];
  if (composite) {
    const out: Record<string, SharePointColumnOptions> = {};
    for (const property of composite) {
      const column = compositeColumnName(field.name, property.name);
      out[column] = {
        nullable: fieldNullable || !property.isRequired,
        ...(label ? { displayName: `${label} ${humanize(property.name)}` } : {}),
      };
    }
    return out;
  }
  switch (field.type) {
    case 'TS_VECTOR':
      return { [field.name]: false };
    case 'RELATION':
    case 'MORPH_RELATION': {
      if (field.settings?.relationType !== 'MANY_TO_ONE') return {};
      const target = field.relationTarget?.object;
      return {
        [field.name]: {
          ...(label ? { displayName: `${label} Id` } : {}),
          ...(target !== undefined && !synced.has(target) ? { localTarget: true } : {}),
        },
      };
    }
    case 'ARRAY':
      return {
        [field.name]: { array: true, nullable: fieldNullable, ...(label ? { displayName: label } : {}) },
      };
    default:
      return {
        [field.name]: {
          ...(field.name === 'id' ? {} : { nullable: fieldNullable }),
          ...(label ? { displayName: label } : {}),
        },
      };
  }
}

/** The property that fills SharePoint's `Title`: the label identifier (a full name: its first name). */
function titleColumnOf(object: TwentyObject): string | undefined {
  const name =
    object.labelIdentifierFieldName ??
    object.fields.find((f) => f.name === 'name' || f.name === 'title')?.name ??
    undefined;
  const field = object.fields.find((f) => f.name === name);
  if (!field) return undefined;
  if (field.type === 'FULL_NAME') return compositeColumnName(field.name, 'firstName');
  if (field.type === 'TEXT' || field.type === 'UUID') return field.name;
  return undefined;
}
