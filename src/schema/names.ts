import { createHash } from 'node:crypto';

/** Longest internal name SharePoint keeps (it truncates longer ones silently; we never send one). */
export const MAX_INTERNAL_NAME = 32;

/**
 * Internal names SharePoint owns on every generic list (compared case-insensitively). A property that maps
 * onto one gets the suffix `Field` (`title` → `TitleField`), always, so the name is stable.
 */
const RESERVED = new Set(
  [
    'ID',
    'Title',
    'Created',
    'Modified',
    'Author',
    'Editor',
    'ContentType',
    'ContentTypeId',
    'Attachments',
    'Edit',
    'LinkTitle',
    'LinkTitleNoMenu',
    'DocIcon',
    'ItemChildCount',
    'FolderChildCount',
    'AppAuthor',
    'AppEditor',
    'GUID',
    'UniqueId',
    'FileRef',
    'FileLeafRef',
    'FileDirRef',
    'FSObjType',
    'Order',
    'Version',
    'Owshiddenversion',
    'WorkflowVersion',
    'WorkflowInstanceID',
    'PermMask',
    'ScopeId',
    'MetaInfo',
    'InstanceID',
    'ServerUrl',
    'EncodedAbsUrl',
    'BaseName',
    'ProgId',
    'SortBehavior',
    'ParentVersionString',
    'ParentLeafName',
    'Restricted',
    'OriginatorId',
    'NoExecute',
    'ContentVersion',
    'SelectTitle',
    'SelectFilename',
    'ComplianceAssetId',
    'AccessPolicy',
    '_UIVersionString',
  ].map((n) => n.toLowerCase()),
);

export function isReservedName(name: string): boolean {
  return RESERVED.has(name.toLowerCase());
}

/** `address.city` → `AddressCity`; `first_name` → `FirstName`. */
export function pascal(path: string): string {
  return path
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');
}

/** `address.city` → `Address City`; `annualRecurringRevenue` → `Annual Recurring Revenue`. */
export function humanize(path: string): string {
  return path
    .split('.')
    .map((part) =>
      part
        .replace(/_/g, ' ')
        .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
        .replace(/^./, (c) => c.toUpperCase()),
    )
    .join(' ');
}

/** `Company` → `Companies`, `Address` → `Addresses`, `Person` → `People`-style irregulars are not guessed. */
export function pluralize(name: string): string {
  if (/[^aeiou]y$/i.test(name)) return `${name.slice(0, -1)}ies`;
  if (/(s|x|z|ch|sh)$/i.test(name)) return `${name}es`;
  return `${name}s`;
}

/**
 * A valid, stable internal name: letters, digits and underscores, starting with a letter, not reserved,
 * at most 32 characters (longer ones keep a prefix and an 8-character hash of the whole name).
 */
export function internalName(wanted: string): string {
  let name = wanted.replace(/[^A-Za-z0-9_]/g, '');
  if (!/^[A-Za-z]/.test(name)) name = `F${name}`;
  if (isReservedName(name)) name = `${name}Field`;
  if (name.length > MAX_INTERNAL_NAME) {
    const hash = createHash('sha1').update(name).digest('hex').slice(0, 8);
    name = `${name.slice(0, MAX_INTERNAL_NAME - 9)}_${hash}`;
  }
  return name;
}

/** A name given explicitly by `@SharePointColumn({ name })` is used as is, or refused with the rule it breaks. */
export function explicitNameProblem(name: string): string | undefined {
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name))
    return 'letters, digits and underscores only, starting with a letter';
  if (name.length > MAX_INTERNAL_NAME) return `at most ${MAX_INTERNAL_NAME} characters`;
  if (isReservedName(name)) return 'reserved by SharePoint';
  return undefined;
}
