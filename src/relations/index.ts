import DataLoader from 'dataloader';
import { type EntityManager, In, type ObjectLiteral } from 'typeorm';
import { listFor, type SyncContext } from '../context.js';
import { SharePointSyncError, UsageError } from '../errors/index.js';
import { expandFields, fieldEquals, graphPath, odataString } from '../graph/index.js';
import {
  type FieldSchema,
  type GraphListItem,
  type ListSchema,
  makeItemConverter,
  quoteIdentifier as quote,
  quoteTablePath,
  selectClause,
} from '../schema/index.js';
import { suppressCapture } from '../store/capture.js';
import { type Db, rows as selectRows, transaction } from '../store/db.js';
import { itemsDeletedSince, syncStateOfItem, upsertRows, upsertSyncStates } from '../store/rows.js';
import { unsentRecords } from '../store/sql.js';

/**
 * TwentyIds per `$filter` (`fields/TwentyId eq 'a' or …`): SharePoint refuses very long URLs and expressions,
 * and 15 ids of 36 characters keep a request near 1.5 KB. Each chunk is one inner request of a `$batch`.
 */
export const FILTER_CHUNK_SIZE = 15;

type EntityRef = Function | string;

export interface LoaderOptions {
  /** Resolve soft-deleted records too (default: they resolve to `null`). */
  withDeleted?: boolean;
  /** Fetch ids missing from the cache from SharePoint (default true). */
  fetchMissing?: boolean;
}

/** Thrown (per key, DataLoader's contract) for an id that cannot be a TwentyId of that list. */
export class InvalidTwentyIdError extends SharePointSyncError {
  override name = 'InvalidTwentyIdError';
  readonly code = 'TWENTY_ID_INVALID';
  constructor(
    readonly entity: string,
    readonly id: unknown,
  ) {
    super(`typeorm-sharepoint: ${JSON.stringify(id)} is not a valid TwentyId of ${entity} (expected a UUID)`);
  }
}

/**
 * One set of DataLoaders for one request (a GraphQL operation, an HTTP request): every `load` of the same tick
 * becomes one SQL query (`WHERE id = ANY($1)`) against the cache, and ids the cache does not hold are fetched
 * from SharePoint by TwentyId (indexed `$filter` with `or`, chunked, inside `$batch`), stored without
 * write-back and returned. Unknown ids resolve to `null`; a malformed id rejects only its own `load`.
 * Create a fresh set per request (`sync.loaders()`): results are cached for the set's lifetime.
 */
export class RelationLoaders {
  private readonly byEntity = new Map<string, DataLoader<string, ObjectLiteral | null>>();
  private readonly inverseLoaders = new Map<string, DataLoader<string, ObjectLiteral[]>>();
  private readonly manyLoaders = new Map<string, DataLoader<string, string[]>>();

  constructor(
    private readonly ctx: SyncContext,
    private readonly options: LoaderOptions = {},
  ) {}

  /** The loader of one entity, keyed by TwentyId. */
  byId<T extends ObjectLiteral = ObjectLiteral>(entity: EntityRef): DataLoader<string, T | null> {
    const list = listFor(this.ctx, entity);
    let loader = this.byEntity.get(list.entityName);
    if (!loader) {
      loader = new DataLoader<string, ObjectLiteral | null>((ids) => this.loadByIds(list, ids), {
        cacheKeyFn: (id) => String(id),
      });
      this.byEntity.set(list.entityName, loader);
    }
    return loader as unknown as DataLoader<string, T | null>;
  }

  /**
   * The record an owning relation points at (`related(Person, person, 'company')`), or the records of a
   * many-to-many (`related(Person, person, 'tags')`). The id is read from the record: the relation loaded with
   * `loadRelationIds`, a related object with its key, or an explicit join column property.
   *
   * Name the entity (a class or an entity name) when the record may be a plain object — what
   * `repository.save({...})`, `insert`, raw queries and `EntitySchema` entities give. `related(person,
   * 'company')` (no entity) works for class instances only (docs/relations.md, "Which form to use").
   */
  async related<T extends ObjectLiteral = ObjectLiteral>(
    entity: EntityRef,
    record: ObjectLiteral,
    property: string,
  ): Promise<T | T[] | null>;
  async related<T extends ObjectLiteral = ObjectLiteral>(
    record: ObjectLiteral,
    property: string,
  ): Promise<T | T[] | null>;
  async related<T extends ObjectLiteral = ObjectLiteral>(
    ...args: [EntityRef, ObjectLiteral, string] | [ObjectLiteral, string]
  ): Promise<T | T[] | null> {
    const { owner, record: entity, property } = this.ownerOf('related', args);
    const relation = owner.relations.find((r) => r.property === property);
    if (!relation)
      throw new UsageError(
        `typeorm-sharepoint: ${owner.entityName}.${property} is not a relation SharePoint stores`,
      );
    if (relation.kind === 'many-to-many') {
      const junction = this.ctx.lists.find(
        (l) =>
          l.kind === 'junction' &&
          l.junction?.ownerEntityName === owner.entityName &&
          l.junction.ownerProperty === property,
      );
      if (!junction?.junction)
        throw new UsageError(
          `typeorm-sharepoint: ${owner.entityName}.${property}: only the owning side of a many-to-many resolves`,
        );
      const ids = await this.manyLoader(junction).load(String(entity[owner.idField.property]));
      const found = await this.byId<T>(junction.junction.inverseEntityName).loadMany(ids);
      return found.filter((r): r is T => r !== null && !(r instanceof Error));
    }
    if (!relation.field)
      throw new UsageError(`typeorm-sharepoint: ${owner.entityName}.${property} holds no id; use inverse()`);
    const id = this.foreignKey(owner, entity, relation.field, relation.targetEntityName!);
    if (id === null || id === undefined) return null;
    return this.byId<T>(relation.targetEntityName!).load(String(id));
  }

  /**
   * Every record whose many-to-one points at the record (`inverse(Company, company, 'people')`), one SQL query
   * per batch. As with `related`, the entity may be left out for class instances (`inverse(company, 'people')`).
   */
  async inverse<T extends ObjectLiteral = ObjectLiteral>(
    entity: EntityRef,
    record: ObjectLiteral,
    property: string,
  ): Promise<T[]>;
  async inverse<T extends ObjectLiteral = ObjectLiteral>(
    record: ObjectLiteral,
    property: string,
  ): Promise<T[]>;
  async inverse<T extends ObjectLiteral = ObjectLiteral>(
    ...args: [EntityRef, ObjectLiteral, string] | [ObjectLiteral, string]
  ): Promise<T[]> {
    const { owner, record: entity, property } = this.ownerOf('inverse', args);
    const relation = owner.relations.find((r) => r.property === property);
    if (relation?.kind !== 'one-to-many' || !relation.inverseProperty) {
      throw new UsageError(
        `typeorm-sharepoint: ${owner.entityName}.${property} is not a one-to-many relation`,
      );
    }
    const target = listFor(this.ctx, relation.targetEntityName!);
    const back = target.relations.find((r) => r.property === relation.inverseProperty && r.field);
    if (!back?.field)
      throw new UsageError(
        `typeorm-sharepoint: ${target.entityName}.${relation.inverseProperty} holds no id column`,
      );
    const key = `${target.entityName}.${back.field.databaseName}`;
    let loader = this.inverseLoaders.get(key);
    if (!loader) {
      const field = back.field;
      loader = new DataLoader<string, ObjectLiteral[]>(async (ids) => {
        const repo = this.ctx.dataSource.getRepository(target.target);
        const alias = 'e';
        const query = repo
          .createQueryBuilder(alias)
          .withDeleted()
          .where(`${alias}.${quote(field.databaseName)}::text = ANY(:ids)`, { ids: [...ids] });
        if (!this.options.withDeleted && target.deleteDateField) {
          query.andWhere(`${alias}.${quote(target.deleteDateField.databaseName)} IS NULL`);
        }
        const { entities, raw } = await query.getRawAndEntities();
        const groups = new Map<string, ObjectLiteral[]>(ids.map((id) => [id, []]));
        entities.forEach((row, i) => {
          const fk = raw[i]?.[`${alias}_${field.databaseName}`];
          groups.get(String(fk))?.push(row);
        });
        return ids.map((id) => groups.get(id) ?? []);
      });
      this.inverseLoaders.set(key, loader);
    }
    return (await loader.load(String(entity[owner.idField.property]))) as T[];
  }

  /** Forget cached results (after a write in this request), for one id or a whole entity. */
  clear(entity: EntityRef, id?: string): this {
    const list = listFor(this.ctx, entity);
    const loader = this.byEntity.get(list.entityName);
    if (id === undefined) loader?.clearAll();
    else loader?.clear(id);
    for (const [key, l] of this.inverseLoaders) if (key.startsWith(`${list.entityName}.`)) l.clearAll();
    for (const l of this.manyLoaders.values()) l.clearAll();
    return this;
  }

  /** Put a record just written into the loader, so the request reads its own write. */
  prime(entity: EntityRef, record: ObjectLiteral): this {
    const list = listFor(this.ctx, entity);
    const id = String(record[list.idField.property]);
    this.clear(entity, id);
    this.byId(entity).prime(id, record);
    return this;
  }

  /** The owner list and record of `related`/`inverse`: `(Entity, record, property)` or `(instance, property)`. */
  private ownerOf(
    method: 'related' | 'inverse',
    args: [EntityRef, ObjectLiteral, string] | [ObjectLiteral, string],
  ): { owner: ListSchema; record: ObjectLiteral; property: string } {
    if (args.length === 3) {
      const [entity, record, property] = args;
      // The record first and the entity last reads naturally, and is not a form: say which one is.
      if (typeof entity !== 'string' && typeof entity !== 'function')
        throw new UsageError(
          `typeorm-sharepoint: loaders.${method}(…) with three arguments takes the entity first (its class, or its entity name such as 'person'), then the record, then the property: loaders.${method}(Entity, record, 'property')`,
        );
      const owner = listFor(this.ctx, entity);
      if (owner.kind !== 'entity')
        throw new UsageError(`typeorm-sharepoint: ${owner.entityName} is a junction list, not an entity`);
      if (record === null || typeof record !== 'object')
        throw new UsageError(
          `typeorm-sharepoint: loaders.${method}(${owner.entityName}, record, '${property}'): the record must be an object, got ${record === null ? 'null' : typeof record}`,
        );
      const other = this.instanceList(record);
      if (other && other !== owner)
        throw new UsageError(
          `typeorm-sharepoint: loaders.${method}(${owner.entityName}, …): the record is a ${other.entityName}`,
        );
      return { owner, record, property };
    }
    const [record, property] = args;
    const owner = record !== null && typeof record === 'object' ? this.instanceList(record) : undefined;
    if (!owner)
      throw new UsageError(
        `typeorm-sharepoint: ${record?.constructor?.name ?? typeof record} is not a synced entity instance; ` +
          `for a plain object (what repository.save({...}) returns) name the entity: loaders.${method}(Entity, record, '${property}')`,
      );
    return { owner, record, property };
  }

  private instanceList(record: ObjectLiteral): ListSchema | undefined {
    return this.ctx.lists.find(
      (l) => l.kind === 'entity' && typeof l.target === 'function' && record instanceof l.target,
    );
  }

  private foreignKey(owner: ListSchema, entity: ObjectLiteral, field: FieldSchema, target: string): unknown {
    const value = entity[field.property];
    // A loaded (or partial) related object: its key under whatever name the target's primary column has.
    if (value !== null && typeof value === 'object')
      return (value as ObjectLiteral)[listFor(this.ctx, target).idField.property] ?? null;
    if (value !== undefined) return value;
    // An explicit join column property (`@Column() companyId`).
    const meta = this.ctx.dataSource.getMetadata(owner.target);
    const column = meta.columns.find((c) => c.databaseName === field.databaseName && !c.relationMetadata);
    return column ? entity[column.propertyName] : undefined;
  }

  private manyLoader(junction: ListSchema): DataLoader<string, string[]> {
    let loader = this.manyLoaders.get(junction.entityName);
    if (!loader) {
      const j = junction.junction!;
      loader = new DataLoader<string, string[]>(async (ids) => {
        const rows: Record<string, unknown>[] = await this.ctx.dataSource.query(
          `SELECT ${quote(j.ownerField.databaseName)}::text AS o, ${quote(j.inverseField.databaseName)}::text AS i
             FROM ${quoteTablePath(junction.tablePath)} WHERE ${quote(j.ownerField.databaseName)}::text = ANY($1)`,
          [[...ids]],
        );
        const groups = new Map<string, string[]>(ids.map((id) => [id, []]));
        for (const r of rows) groups.get(String(r.o))?.push(String(r.i));
        return ids.map((id) => groups.get(id) ?? []);
      });
      this.manyLoaders.set(junction.entityName, loader);
    }
    return loader;
  }

  private async loadByIds(
    list: ListSchema,
    ids: readonly string[],
  ): Promise<(ObjectLiteral | null | Error)[]> {
    const valid = (id: string) => isValidId(list, id);
    const wanted = [...new Set(ids.filter(valid))];
    // Soft-deleted rows are read too: a record known locally is never asked of SharePoint, deleted or not.
    const found = await this.query(list, wanted);
    const missing = wanted.filter((id) => !found.has(id));
    if (missing.length > 0 && this.options.fetchMissing !== false) {
      const fetched = await this.fetchFromSharePoint(list, missing);
      if (fetched > 0) for (const [id, row] of await this.query(list, missing)) found.set(id, row);
    }
    const hidden = (row: ObjectLiteral) =>
      !this.options.withDeleted &&
      list.deleteDateField !== undefined &&
      row[list.deleteDateField.property] !== null &&
      row[list.deleteDateField.property] !== undefined;
    return ids.map((id) => {
      if (!valid(id)) return new InvalidTwentyIdError(list.entityName, id);
      const row = found.get(id);
      return row && !hidden(row) ? row : null;
    });
  }

  /** One SQL query through TypeORM (entities come back as the application's classes), soft-deleted rows included. */
  private async query(
    list: ListSchema,
    ids: string[],
    manager: EntityManager = this.ctx.dataSource.manager,
  ): Promise<Map<string, ObjectLiteral>> {
    const out = new Map<string, ObjectLiteral>();
    if (ids.length === 0) return out;
    const repo = manager.getRepository(list.target);
    const key = list.idField.property;
    const typed = ids.map((id) => list.idField.fromSharePoint(id));
    const rows = await repo.find({ where: { [key]: In(typed) } as never, withDeleted: true });
    for (const row of rows) out.set(String(row[key]), row);
    return out;
  }

  /** Missing ids from SharePoint: `$filter` chunks in `$batch`, upserted into the cache without write-back. */
  private async fetchFromSharePoint(list: ListSchema, ids: string[]): Promise<number> {
    const listId = this.ctx.listIds.get(list.entityName);
    if (!listId) return 0;
    // A row missing here with a change still unsent (outbox or dead letter) was deleted locally: SharePoint's
    // copy is what that delete will remove, never something to bring back.
    const unsent = await unsentChanges(this.ctx.dataSource, this.ctx.schema, list.entityName, ids);
    ids = ids.filter((id) => !unsent.has(id));
    if (ids.length === 0) return 0;
    const chunks: string[][] = [];
    for (let i = 0; i < ids.length; i += FILTER_CHUNK_SIZE) chunks.push(ids.slice(i, i + FILTER_CHUNK_SIZE));
    const answers = await this.ctx.graph.batch<{ value: GraphListItem[] }>(
      chunks.map((chunk) => ({
        method: 'GET',
        path: graphPath.items(this.ctx.site.id, listId),
        query: {
          $filter: chunk.map((id) => fieldEquals(list.idField.name, odataString(id))).join(' or '),
          $expand: expandFields(selectClause(list)),
          $top: FILTER_CHUNK_SIZE,
        },
      })),
    );
    const convert = makeItemConverter(list);
    const rows: Record<string, unknown>[] = [];
    const itemIds: string[] = [];
    const states: Parameters<typeof upsertSyncStates>[4] = [];
    for (const answer of answers) {
      if (!answer.ok) {
        this.ctx.logger.warn('typeorm-sharepoint: relation fetch failed', {
          entity: list.entityName,
          error: answer.error.message,
        });
        continue;
      }
      for (const item of answer.body.value ?? []) {
        const converted = convert(item.fields ?? {});
        if (!converted.ok || !converted.twentyId) continue;
        rows.push(converted.row);
        itemIds.push(item.id);
        states.push(syncStateOfItem(list, converted.twentyId, item, converted.fields));
      }
    }
    if (rows.length === 0) return 0;
    return transaction(this.ctx.dataSource, async (runner) => {
      await suppressCapture(runner);
      // Checked again in the writing transaction: the row may have been written or deleted locally while
      // SharePoint answered. Only rows still absent, with nothing unsent, are stored (never overwritten).
      const fetched = states.map((st) => st.twentyId);
      const skip = await unsentChanges(runner, this.ctx.schema, list.entityName, fetched);
      for (const id of (await this.query(list, fetched, runner.manager)).keys()) skip.add(id);
      // Deleted, sent and settled while SharePoint answered (or a search index not yet caught up): no outbox
      // row is left, only the tombstone. Any tombstone counts here: an item restored in SharePoint comes back
      // through a pull, never through a relation fetch.
      const gone = await itemsDeletedSince(runner, this.ctx.schema, listId, itemIds, new Date(0));
      const keep = states.map((st, i) => !skip.has(st.twentyId) && !gone.has(itemIds[i]!));
      const storing = rows.filter((_, i) => keep[i]);
      await upsertRows(runner, list, storing);
      await upsertSyncStates(
        runner,
        this.ctx.schema,
        list.entityName,
        listId,
        states.filter((_, i) => keep[i]),
      );
      return storing.length;
    });
  }
}

/** TwentyIds among `ids` with a change not yet in SharePoint: an outbox row or a dead letter. */
async function unsentChanges(db: Db, schema: string, entity: string, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const found = await selectRows<{ twenty_id: string }>(db, unsentRecords(schema), [entity, ids]);
  return new Set(found.map((r) => r.twenty_id));
}

/** An id the list's key can hold (a UUID for uuid keys, digits for integer keys): checked before any request. */
function isValidId(list: ListSchema, id: unknown): boolean {
  if (typeof id !== 'string' || id === '') return false;
  try {
    list.idField.fromSharePoint(id);
    return true;
  } catch {
    return false;
  }
}
