import type { ConflictPolicy } from './types.js';

/**
 * Who wins a conflict (SharePoint and the application changed one record at once; decision 8): the one
 * vocabulary of write-back (a 412) and inbound (a pull meeting an unsent local change), of the `onConflict`
 * hook, of the recorded `conflicts.resolution`, of the `conflict` event and its metric.
 * - `sharepoint`: SharePoint's version is applied to the cache; the local change is dropped.
 * - `twenty`: the local (application's) version stays and is sent over SharePoint's.
 * - `keep`: neither, until a person resolves it (`manualReview`; recorded as an open conflict).
 */
export type ConflictResolution = 'sharepoint' | 'twenty' | 'keep';

/**
 * What a list's policy decides for one conflict. `lastWriteWins` compares SharePoint's modification time
 * (an ISO instant; none or unreadable: the local change wins) with the time of the local change; SharePoint
 * keeps seconds, so a tie goes to the local change.
 */
export function decideConflict(
  policy: ConflictPolicy,
  remoteModified: unknown,
  localChangedAt: Date | string,
): ConflictResolution {
  switch (policy) {
    case 'twentyPriority':
      return 'twenty';
    case 'manualReview':
      return 'keep';
    case 'lastWriteWins': {
      const remoteAt = typeof remoteModified === 'string' ? Date.parse(remoteModified) : Number.NaN;
      const localAt = new Date(localChangedAt).getTime();
      return !Number.isNaN(remoteAt) && remoteAt > localAt ? 'sharepoint' : 'twenty';
    }
    default:
      return 'sharepoint';
  }
}

/**
 * How a person settles an open conflict (`sync.conflicts.resolve`): `'sharepoint'` or `'twenty'` (who wins,
 * as above), or merged field values. `'sharePoint'` and `'local'`, the names of earlier releases, are
 * accepted as aliases of `'sharepoint'` and `'twenty'`.
 */
export type ConflictChoice =
  | 'sharepoint'
  | 'twenty'
  | 'sharePoint'
  | 'local'
  | { fields: Record<string, unknown> };

/** The winner a choice names (`undefined` for merged fields or a value that names no side). */
export function winnerOf(choice: ConflictChoice): 'sharepoint' | 'twenty' | undefined {
  if (choice === 'sharepoint' || choice === 'sharePoint') return 'sharepoint';
  if (choice === 'twenty' || choice === 'local') return 'twenty';
  return undefined;
}
