import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DataSource } from 'typeorm';
import { type SharePointSync, type SharePointSyncOptions, UsageError } from 'typeorm-sharepoint';

/** A usage or configuration problem: the CLI prints it and exits with code 2. */
export { UsageError };

/** Duck-typed: the app may load its own copy of TypeORM. */
export function isDataSource(value: unknown): value is DataSource {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as DataSource).initialize === 'function' &&
    typeof (value as DataSource).getMetadata === 'function'
  );
}

/** What the CLI needs of a `SharePointWorkspaces` (duck-typed: the app may load its own copy of the library). */
export interface WorkspacesLike {
  /** `overrides`: attach options over the workspace's definition (the CLI never bootstraps or polls on attach). */
  get(id: string, options?: { overrides?: Partial<SharePointSyncOptions> }): Promise<SharePointSync>;
  stopWorker?(): Promise<void>;
  close(options?: { flush?: boolean }): Promise<void>;
}

function isWorkspaces(value: unknown): value is WorkspacesLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as WorkspacesLike).get === 'function' &&
    typeof (value as { workspace?: unknown }).workspace === 'function' &&
    typeof (value as WorkspacesLike).close === 'function'
  );
}

/**
 * For `--workspace`: the module must export a `SharePointWorkspaces`, as default or named `workspaces`
 * (or a promise of one).
 */
export async function loadWorkspaces(file: string): Promise<WorkspacesLike> {
  const module = await importModule(file);
  for (const candidate of [module.default, module.workspaces]) {
    const value = await candidate;
    if (isWorkspaces(value)) return value;
  }
  throw new UsageError(
    `--workspace needs --datasource ${file} to export a SharePointWorkspaces (as default or as \`workspaces\`).`,
  );
}

/**
 * Loads the application's DataSource the way the TypeORM CLI does: a module whose default export, or
 * any named export, is a DataSource (or a promise of one). TypeScript files are loaded through `tsx`
 * when it is installed.
 */
export async function loadDataSource(file: string): Promise<DataSource> {
  const module = await importModule(file);
  const candidates = [module.default, ...Object.values(module)];
  for (const candidate of candidates) {
    const value = await candidate;
    if (isDataSource(value)) return value.isInitialized ? value : value.initialize();
  }
  throw new UsageError(
    `--datasource ${file} exports no TypeORM DataSource (export it as default or by name).`,
  );
}

export async function importModule(file: string): Promise<Record<string, unknown>> {
  const absolute = path.resolve(file);
  let module: Record<string, unknown>;
  try {
    if (/\.[cm]?tsx?$/.test(absolute)) {
      const tsx = await import('tsx/esm/api').catch(() => {
        throw new UsageError(
          `--datasource ${file} is TypeScript: install tsx (npm i -D tsx) or point to compiled JavaScript.`,
        );
      });
      module = (await tsx.tsImport(pathToFileURL(absolute).href, import.meta.url)) as Record<string, unknown>;
    } else {
      module = (await import(pathToFileURL(absolute).href)) as Record<string, unknown>;
    }
  } catch (error) {
    if (error instanceof UsageError) throw error;
    if (
      (error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' &&
      String(error).includes(absolute)
    ) {
      throw new UsageError(`--datasource ${file}: no such file.`);
    }
    throw error;
  }
  return module;
}
