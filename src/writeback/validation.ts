import type { DataSource, EntitySubscriberInterface, InsertEvent, UpdateEvent } from 'typeorm';
import { createValidator, type ListSchema } from '../schema/index.js';

const INSTALLED = Symbol.for('typeorm-sharepoint.validation');

type Validator = ReturnType<typeof createValidator>;

/**
 * Validates values before they are written, so a value SharePoint would refuse throws `ValidationError`
 * inside the application's transaction (which then rolls back) instead of dead-lettering later.
 * Updates are validated partially: only the properties being set (this also covers QueryBuilder
 * `update().set(...)`, whose value set TypeORM hands to `beforeUpdate` as the entity).
 */
class ValidationSubscriber implements EntitySubscriberInterface {
  private readonly validators = new Map<Function | string, Validator>();

  constructor(lists: ListSchema[]) {
    for (const list of lists) {
      if (list.kind === 'junction') continue;
      this.validators.set(list.target, createValidator(list));
      this.validators.set(list.entityName, createValidator(list));
    }
  }

  private validatorFor(
    target: Function | string | undefined,
    name: string | undefined,
  ): Validator | undefined {
    return (
      (target !== undefined ? this.validators.get(target) : undefined) ??
      (name ? this.validators.get(name) : undefined)
    );
  }

  beforeInsert(event: InsertEvent<object>): void {
    const validator = this.validatorFor(event.metadata.target, event.metadata.name);
    if (validator && event.entity) validator.validateEntity(event.entity);
  }

  beforeUpdate(event: UpdateEvent<object>): void {
    const validator = this.validatorFor(event.metadata.target, event.metadata.name);
    const entity = event.entity as object | undefined;
    if (!validator || !entity) return;
    // A full entity (save) is validated as a whole; a value set (update()) only on the keys it sets.
    validator.validateEntity(partial(entity, event));
  }
}

/** For `save()` TypeORM passes the whole entity; for `update()` only the values being set. */
function partial(entity: object, event: UpdateEvent<object>): object {
  if (event.databaseEntity) return { ...event.databaseEntity, ...entity };
  return entity;
}

export function installValidation(dataSource: DataSource, lists: ListSchema[]): void {
  const marked = dataSource as unknown as Record<symbol, EntitySubscriberInterface | undefined>;
  const previous = marked[INSTALLED];
  if (previous) {
    const index = dataSource.subscribers.indexOf(previous);
    if (index >= 0) dataSource.subscribers.splice(index, 1);
  }
  const subscriber = new ValidationSubscriber(lists);
  dataSource.subscribers.push(subscriber);
  marked[INSTALLED] = subscriber;
}
