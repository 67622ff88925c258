import type { ProvisioningResult } from './apply.js';
import { facetOf, type ProvisioningPlan } from './plan.js';

// The plan and the result in words (the CLI's `plan` and `bootstrap`, drift reports).

function describeColumn(definition: Record<string, unknown>): string {
  const facet = facetOf(definition) ?? '?';
  const f = (definition[facet] ?? {}) as Record<string, unknown>;
  let type = facet;
  if (facet === 'text') type = f.allowMultipleLines ? 'multi-line text' : `text(${f.maxLength ?? 255})`;
  if (facet === 'number') type = `number(${f.decimalPlaces ?? 'automatic'})`;
  if (facet === 'dateTime') type = f.format === 'dateOnly' ? 'date' : 'dateTime';
  if (facet === 'choice') type = `choice(${(f.choices as string[]).join('|')})`;
  const flags = [
    definition.required ? 'required' : '',
    definition.indexed ? 'indexed' : '',
    definition.enforceUniqueValues ? 'unique' : '',
  ].filter(Boolean);
  return `${String(definition.name)} ${type}${flags.length ? ` ${flags.join(' ')}` : ''}`;
}

/** The plan as people read it (`typeorm-sharepoint bootstrap --dry-run`). */
export function formatPlan(plan: ProvisioningPlan): string {
  const lines = [`Site ${plan.siteId}`];
  for (const list of plan.lists) {
    if (list.action === 'create') {
      lines.push(
        `+ create list "${list.title}" (${list.entity}) with ${list.columnsToCreate.length} column(s):`,
      );
      for (const c of list.columnsToCreate) lines.push(`    + ${describeColumn(c)}`);
    } else if (list.action === 'update') {
      lines.push(`~ list "${list.title}" (${list.entity}):`);
      for (const c of list.columnsToCreate) lines.push(`    + add column ${describeColumn(c)}`);
      for (const i of list.indexesToAdd) lines.push(`    + index ${i.name}`);
      if (list.relaxTitle) lines.push('    ~ make Title optional (the library fills it)');
      if (list.relaxIdColumn)
        lines.push(
          `    ~ make ${list.relaxIdColumn.name} optional (stays indexed and unique): people may add items in SharePoint's form; the next pull gives them their id`,
        );
    } else {
      lines.push(`= list "${list.title}" (${list.entity}) is up to date`);
    }
    for (const d of list.drift) lines.push(`    ! drift (not changed): ${d.column}: ${d.detail}`);
  }
  lines.push(plan.upToDate ? 'Nothing to do.' : 'Run `typeorm-sharepoint bootstrap` to apply.');
  return lines.join('\n');
}

/** What `bootstrap` changed, for people (the CLI's `bootstrap`): never the plan's "run … to apply". */
export function formatProvisioningResult(result: ProvisioningResult): string {
  const lines: string[] = [];
  for (const title of result.createdLists) lines.push(`+ created list "${title}"`);
  for (const c of result.createdColumns) lines.push(`+ created column ${c.list}.${c.column}`);
  for (const c of result.indexedColumns) lines.push(`+ indexed column ${c.list}.${c.column}`);
  for (const c of result.relaxedColumns)
    lines.push(`~ made column ${c.list}.${c.column} optional (still indexed and unique)`);
  for (const s of result.skipped)
    lines.push(`- skipped ${s.list}${s.column ? `.${s.column}` : ''}: ${s.reason}`);
  for (const d of result.drift) lines.push(`! drift (not changed): ${d.list}.${d.column}: ${d.detail}`);
  const changes =
    result.createdLists.length +
    result.createdColumns.length +
    result.indexedColumns.length +
    result.relaxedColumns.length;
  lines.push(
    changes === 0
      ? `Nothing to do: SharePoint already has all ${result.listIds.size} list(s) and their columns.`
      : `Applied: ${result.createdLists.length} list(s) created, ${result.createdColumns.length} column(s) created, ${result.indexedColumns.length} column(s) indexed` +
          (result.relaxedColumns.length > 0
            ? `, ${result.relaxedColumns.length} column(s) made optional.`
            : '.'),
  );
  return lines.join('\n');
}
