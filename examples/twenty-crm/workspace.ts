// What Twenty itself does with its metadata, reproduced so the example meets the library exactly as Twenty
// would (../shared/twenty/FACTS.md §a, §b): one runtime `EntitySchema` per object built by the rules of
// Twenty's entity-schema factories — quirks included (composite sub-columns flagged `nullable` when
// *required*, ARRAY fields declared scalar `text`, defaults in SQL form, `precision: 3` on date-times, no
// `enumName` although the enum types keep capitals, `company_createdBySource_enum`: TypeORM needs it only to
// create or compare enum types, which these schemas never do, and the library never names an enum type) —
// and the workspace tables created as Twenty's migration runner creates them (plain SQL, no synchronize).
import { EntitySchema, type EntitySchemaColumnOptions, type EntitySchemaRelationOptions } from 'typeorm';
import {
  COMPOSITE_TYPES,
  compositeColumnName,
  joinColumnOf,
  type TwentyField,
  type TwentyObject,
  twentyTableName,
} from 'typeorm-sharepoint/twenty';

type PgType =
  | 'uuid'
  | 'text'
  | 'numeric'
  | 'float'
  | 'boolean'
  | 'timestamptz'
  | 'date'
  | 'enum'
  | 'jsonb'
  | 'tsvector';

/** Twenty's `fieldMetadataTypeToColumnType`. */
function columnType(type: string): PgType {
  switch (type) {
    case 'UUID':
      return 'uuid';
    case 'TEXT':
    case 'ARRAY':
    case 'RICH_TEXT':
      return 'text';
    case 'NUMERIC':
      return 'numeric';
    case 'NUMBER':
    case 'POSITION':
      return 'float';
    case 'BOOLEAN':
      return 'boolean';
    case 'DATE_TIME':
      return 'timestamptz';
    case 'DATE':
      return 'date';
    case 'SELECT':
    case 'MULTI_SELECT':
    case 'RATING':
      return 'enum';
    case 'RAW_JSON':
    case 'FILES':
      return 'jsonb';
    case 'TS_VECTOR':
      return 'tsvector';
    default:
      throw new Error(`Cannot convert ${type} to column type`);
  }
}

/** Twenty's `serializeDefaultValue` for the ORM: `'uuid'` and `'now'` become SQL, the rest stays as is. */
function ormDefault(value: unknown): unknown {
  if (value === undefined || value === null) return undefined;
  if (value === 'uuid') return 'public.uuid_generate_v4()';
  if (value === 'now') return 'now()';
  return value;
}

const isComposite = (field: TwentyField) => COMPOSITE_TYPES[field.type] !== undefined;
const isRelation = (field: TwentyField) => field.type === 'RELATION' || field.type === 'MORPH_RELATION';

/** Twenty's entity-schema factory: one EntitySchema per object, in the workspace schema. */
export function twentyEntitySchemas(objects: readonly TwentyObject[], schema: string): EntitySchema[] {
  return objects.map((object) => {
    const table = twentyTableName(object);
    const columns: Record<string, EntitySchemaColumnOptions> = {};
    const relations: Record<string, EntitySchemaRelationOptions> = {};
    for (const field of object.fields) {
      if (isRelation(field)) {
        const target = field.relationTarget!.object;
        if (field.settings?.relationType === 'MANY_TO_ONE') {
          const join = joinColumnOf(field);
          columns[join] = { type: 'uuid', nullable: field.isNullable ?? false };
          relations[field.name] = {
            type: 'many-to-one',
            target,
            ...(field.relationTarget!.field ? { inverseSide: field.relationTarget!.field } : {}),
            joinColumn: { name: join },
          };
        } else {
          relations[field.name] = { type: 'one-to-many', target, inverseSide: field.relationTarget!.field! };
        }
        continue;
      }
      const composite = COMPOSITE_TYPES[field.type];
      if (composite) {
        const defaults = (field.defaultValue ?? {}) as Record<string, unknown>;
        for (const property of composite) {
          const name = compositeColumnName(field.name, property.name);
          const type = columnType(property.type);
          columns[name] = {
            type,
            // Twenty's quirk, kept on purpose: the ORM flags *required* sub-columns nullable.
            nullable: property.isRequired ?? false,
            ...(defaults[property.name] !== undefined && defaults[property.name] !== null
              ? { default: ormDefault(defaults[property.name]) }
              : {}),
            ...(property.options ? { enum: property.options } : {}),
          };
        }
        continue;
      }
      const type = columnType(field.type);
      const options = field.options?.map((o) => o.value);
      columns[field.name] = {
        type,
        nullable: field.isNullable ?? false,
        ...(field.type === 'DATE_TIME' ? { precision: 3 } : {}),
        ...(field.name === 'id' ? { primary: true } : {}),
        ...(field.name === 'createdAt' ? { createDate: true } : {}),
        ...(field.name === 'updatedAt' ? { updateDate: true } : {}),
        ...(field.name === 'deletedAt' ? { deleteDate: true } : {}),
        ...(field.type === 'MULTI_SELECT' ? { array: true } : {}),
        ...(field.defaultValue !== undefined ? { default: ormDefault(field.defaultValue) } : {}),
        ...(type === 'enum' && options ? { enum: options } : {}),
      };
    }
    return new EntitySchema({ name: object.nameSingular, tableName: table, schema, columns, relations });
  });
}

const q = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Twenty's `serializeDefaultValue` for the migration runner (SQL). */
function sqlDefault(value: unknown, type: string): string | undefined {
  if (value === undefined) return undefined;
  if (value === null) return 'NULL';
  if (value === 'uuid') return 'public.uuid_generate_v4()';
  if (value === 'now') return 'now()';
  if (typeof value === 'string') return `${value}::${type}`;
  if (typeof value === 'number' || typeof value === 'boolean') return `'${value}'::${type}`;
  return `'${JSON.stringify(value).replace(/'/g, "''")}'::${type}`;
}

interface ColumnDdl {
  name: string;
  type: PgType;
  array: boolean;
  nullable: boolean;
  default?: unknown;
  enumValues?: string[];
  generated?: string;
}

/** The columns of a workspace table as Twenty's migration runner creates them. */
function tableColumns(object: TwentyObject): ColumnDdl[] {
  const out: ColumnDdl[] = [];
  for (const field of object.fields) {
    if (isRelation(field)) {
      if (field.settings?.relationType === 'MANY_TO_ONE')
        out.push({ name: joinColumnOf(field), type: 'uuid', array: false, nullable: true });
      continue;
    }
    if (isComposite(field)) {
      const defaults = (field.defaultValue ?? {}) as Record<string, unknown>;
      for (const property of COMPOSITE_TYPES[field.type]!) {
        out.push({
          name: compositeColumnName(field.name, property.name),
          type: columnType(property.type),
          array: false,
          nullable: (field.isNullable ?? true) || !property.isRequired,
          default: defaults[property.name],
          ...(property.options ? { enumValues: property.options } : {}),
        });
      }
      continue;
    }
    out.push({
      name: field.name,
      type: columnType(field.type),
      array: field.type === 'ARRAY' || field.type === 'MULTI_SELECT',
      nullable: field.name === 'id' ? false : (field.isNullable ?? true),
      default: field.type === 'TS_VECTOR' ? undefined : field.defaultValue,
      ...(field.options ? { enumValues: field.options.map((o) => o.value) } : {}),
      ...(field.type === 'TS_VECTOR' ? { generated: field.settings!.asExpression! } : {}),
    });
  }
  return out;
}

/** The SQL Twenty's workspace migration runner would run to create these objects' tables. */
export function twentyWorkspaceDdl(objects: readonly TwentyObject[], schema: string): string[] {
  const statements = [`CREATE SCHEMA IF NOT EXISTS ${q(schema)}`];
  for (const object of objects) {
    const table = twentyTableName(object);
    const definitions: string[] = [];
    for (const c of tableColumns(object)) {
      let type: string = c.type === 'float' ? 'float' : c.type;
      if (c.enumValues) {
        type = `${q(schema)}.${q(`${table}_${c.name}_enum`)}`;
        statements.push(
          `CREATE TYPE ${type} AS ENUM (${c.enumValues.map((v) => `'${v.replace(/'/g, "''")}'`).join(', ')})`,
        );
      }
      const fullType = c.array ? `${type}[]` : type;
      const dflt = c.array && c.default === undefined ? undefined : sqlDefault(c.default, fullType);
      definitions.push(
        [
          q(c.name),
          fullType,
          c.generated ? `GENERATED ALWAYS AS (${c.generated}) STORED` : '',
          c.name === 'id' ? 'PRIMARY KEY' : '',
          c.nullable ? '' : 'NOT NULL',
          dflt !== undefined ? `DEFAULT ${dflt}` : '',
        ]
          .filter(Boolean)
          .join(' '),
      );
    }
    statements.push(`CREATE TABLE ${q(schema)}.${q(table)} (${definitions.join(', ')})`);
  }
  // Foreign keys after every table exists, as the runner adds them.
  const tables = new Map(objects.map((o) => [o.nameSingular, twentyTableName(o)]));
  for (const object of objects) {
    for (const field of object.fields) {
      if (!isRelation(field) || field.settings?.relationType !== 'MANY_TO_ONE') continue;
      const target = tables.get(field.relationTarget!.object);
      if (!target) continue;
      const join = joinColumnOf(field);
      statements.push(
        `ALTER TABLE ${q(schema)}.${q(twentyTableName(object))} ADD CONSTRAINT ${q(`FK_${twentyTableName(object)}_${join}`)} ` +
          `FOREIGN KEY (${q(join)}) REFERENCES ${q(schema)}.${q(target)} ("id") ON DELETE ${field.settings.onDelete ?? 'SET NULL'}`,
      );
    }
  }
  return statements;
}

/**
 * The functions Twenty's workspace tables call, which Twenty's database setup creates once per database:
 * `public.uuid_generate_v4()` (extension `uuid-ossp`; here a stand-in over `gen_random_uuid()` where it is
 * missing) and `public.unaccent_immutable(text)`, the IMMUTABLE wrapper of `unaccent` that the generated
 * `searchVector` needs (a generated column may call only immutable functions). Where the `unaccent` extension
 * is not available (a PostgreSQL built without contrib), the stand-in returns its input unchanged: the search
 * vector then keeps accents, and nothing else differs.
 */
export const TWENTY_FUNCTIONS_SQL = `DO $$ BEGIN
  IF to_regprocedure('public.uuid_generate_v4()') IS NULL THEN
    CREATE FUNCTION public.uuid_generate_v4() RETURNS uuid LANGUAGE sql AS 'SELECT gen_random_uuid()';
  END IF;
  IF to_regprocedure('public.unaccent_immutable(text)') IS NULL THEN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'unaccent') THEN
      CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public;
      CREATE FUNCTION public.unaccent_immutable(input text) RETURNS text LANGUAGE sql IMMUTABLE
        AS $f$ SELECT public.unaccent('public.unaccent'::regdictionary, input) $f$;
    ELSE
      CREATE FUNCTION public.unaccent_immutable(input text) RETURNS text LANGUAGE sql IMMUTABLE
        AS $f$ SELECT input $f$;
    END IF;
  END IF;
END $$`;
