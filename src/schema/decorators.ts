import { UsageError } from '../errors/index.js';
import type { SharePointColumnOptions, SharePointListOptions } from './types.js';

/**
 * Decorations live in one registry on `globalThis` (keyed by a registered symbol), not in this module: the
 * CLI bundle and the application may load two copies of the library, and both must see the same entities.
 */
interface Registry {
  lists: Map<Function, SharePointListOptions>;
  columns: Map<Function, Map<string, SharePointColumnOptions>>;
  ignored: Map<Function, Set<string>>;
}

const KEY = Symbol.for('typeorm-sharepoint.registry.v1');

function registry(): Registry {
  const holder = globalThis as unknown as Record<symbol, Registry | undefined>;
  holder[KEY] ??= { lists: new Map(), columns: new Map(), ignored: new Map() };
  return holder[KEY]!;
}

const PRIORITIES = new Set(['P0', 'P1', 'P2', 'P3']);
const POLICIES = new Set(['sharePointPriority', 'twentyPriority', 'lastWriteWins', 'manualReview']);

/** Marks an entity as synced to a SharePoint list. */
export function SharePointList(options: SharePointListOptions = {}): ClassDecorator {
  if (options.priority !== undefined && !PRIORITIES.has(options.priority)) {
    throw new UsageError(
      `@SharePointList: priority must be one of P0, P1, P2, P3 (got ${JSON.stringify(options.priority)}).`,
    );
  }
  if (options.conflictResolution !== undefined && !POLICIES.has(options.conflictResolution)) {
    throw new UsageError(
      `@SharePointList: conflictResolution must be one of ${[...POLICIES].join(', ')} (got ${JSON.stringify(options.conflictResolution)}).`,
    );
  }
  if (options.title !== undefined && (typeof options.title !== 'string' || options.title.trim() === '')) {
    throw new UsageError('@SharePointList: title must be a non-empty string.');
  }
  return (target) => {
    registry().lists.set(target, { ...options });
  };
}

/** Refines how one property is stored in SharePoint. */
export function SharePointColumn(options: SharePointColumnOptions = {}): PropertyDecorator {
  return (prototype, property) => {
    const owner = prototype.constructor;
    const columns = registry().columns;
    const forClass = columns.get(owner) ?? new Map<string, SharePointColumnOptions>();
    forClass.set(String(property), { ...forClass.get(String(property)), ...options });
    columns.set(owner, forClass);
  };
}

/** Keeps a property (a column, an embedded object or a relation) out of SharePoint. */
export function SharePointIgnore(): PropertyDecorator {
  return (prototype, property) => {
    const owner = prototype.constructor;
    const ignored = registry().ignored;
    const forClass = ignored.get(owner) ?? new Set<string>();
    forClass.add(String(property));
    ignored.set(owner, forClass);
  };
}

/** Looks a class and its ancestors up (entity inheritance keeps the parent's decorations). */
function walk<T>(target: Function | string, read: (c: Function) => T | undefined): T | undefined {
  if (typeof target !== 'function') return undefined;
  for (let c: Function | null = target; c && c !== Function.prototype; c = Object.getPrototypeOf(c)) {
    const found = read(c);
    if (found !== undefined) return found;
  }
  return undefined;
}

export function listOptionsOf(target: Function | string): SharePointListOptions | undefined {
  if (typeof target !== 'function') return undefined;
  return registry().lists.get(target);
}

export function columnOptionsOf(target: Function | string, property: string): SharePointColumnOptions {
  return walk(target, (c) => registry().columns.get(c)?.get(property)) ?? {};
}

export function isIgnored(target: Function | string, property: string): boolean {
  return walk(target, (c) => (registry().ignored.get(c)?.has(property) ? true : undefined)) === true;
}
