import type { ListSchema } from '../schema/index.js';
import { canonicalFromItem, hashCanonical } from './convert.js';

/** What sync_state knows of a record: the last version SharePoint acknowledged, and sends not yet answered. */
export interface KnownState {
  etag: string | null;
  content_hash: string | null;
  fields: Record<string, unknown> | null;
  pending: Record<string, unknown>[] | null;
}

export type Verdict =
  | { kind: 'same'; newEtag: boolean; remote: Record<string, unknown> }
  | {
      kind: 'ours' | 'stale' | 'changed';
      remote: Record<string, unknown>;
    };

/**
 * How a SharePoint entry relates to what we know SharePoint holds:
 * - `same`: the version we know (same eTag, or the same mapped values: `newEtag` when only the eTag moved);
 * - `ours`: a version we sent whose answer is not recorded yet (`sync_state.pending`, a write-back in flight);
 * - `stale`: an older version of the item than the one we know (same item, lower eTag version);
 * - `changed`: anything else — a real change made in SharePoint.
 */
export function compareWithKnown(
  list: ListSchema,
  state: KnownState | undefined,
  etag: string | undefined,
  fields: Record<string, unknown>,
): Verdict {
  const remote = canonicalFromItem(list, fields);
  if (!state) return { kind: 'changed', remote };
  if (etag && state.etag === etag) return { kind: 'same', newEtag: false, remote };
  if (isOlderEtag(etag, state.etag)) return { kind: 'stale', remote };
  const base = state.fields ?? {};
  if (
    state.fields &&
    (state.content_hash === hashCanonical(remote) || sameContent(canonicalFromItem(list, base), remote))
  )
    return { kind: 'same', newEtag: true, remote };
  const sent = Array.isArray(state.pending) ? state.pending : [];
  if (sent.some((s) => sameContent(canonicalFromItem(list, { ...base, ...s }), remote)))
    return { kind: 'ours', remote };
  return { kind: 'changed', remote };
}

export function sameContent(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  return hashCanonical(a) === hashCanonical(b);
}

/** SharePoint eTags read `"{item guid},{version}"`: true when `a` is an earlier version of the same item than `b`. */
function isOlderEtag(a: string | undefined, b: string | null): boolean {
  const pa = a ? /^(?:W\/)?"?([^,"]+),(\d+)"?$/.exec(a) : null;
  const pb = b ? /^(?:W\/)?"?([^,"]+),(\d+)"?$/.exec(b) : null;
  if (!pa || !pb || pa[1]!.toLowerCase() !== pb[1]!.toLowerCase()) return false;
  return Number(pa[2]) < Number(pb[2]);
}
