// The soak's model checker on hand-made histories: it must call a loss a loss and accept every legitimate
// ordering (no false alarms), since a 60-second run cannot be inspected by hand.
import { describe, expect, it } from 'vitest';
import { type CheckInput, type ConflictRecord, check, type FinalRecord } from '../../bench/soak/checker.js';
import type { HistoryEvent, WriteEvent } from '../../bench/soak/history.js';

const E = 'SoakCompany';
const ID = '00000000-0000-4000-8000-000000000001';

/** One write as intent at `start` and ack at `end` (affected 1), or fail when `end` is 'fail'. */
function w(
  side: 'local' | 'person',
  wid: string,
  op: WriteEvent['op'],
  start: number,
  end: number | 'fail',
  extra: Partial<WriteEvent> = {},
): HistoryEvent[] {
  const base = {
    side,
    wid,
    entity: E,
    origin: 'c1',
    op,
    ...(op === 'create' || op === 'update' ? { name: wid } : {}),
    ...extra,
  };
  return [
    { ...base, k: 'intent', t: start },
    end === 'fail' ? { ...base, k: 'fail', t: start + 1 } : { ...base, k: 'ack', t: end, affected: 1 },
  ];
}
const rec = (name: string | null, extra: Partial<FinalRecord> = {}): FinalRecord => ({
  entity: E,
  twentyId: ID,
  origin: 'c1',
  name,
  deleted: false,
  itemId: '1',
  ...extra,
});
const conflict = (c: Partial<ConflictRecord>): ConflictRecord => ({
  id: 1,
  entity: E,
  twentyId: ID,
  policy: 'sharePointPriority',
  reason: 'changed in SharePoint while a local change was waiting to be sent',
  localName: undefined,
  localDeleted: false,
  localOrigin: 'c1',
  localNull: false,
  remoteName: undefined,
  remoteOrigin: 'c1',
  remoteNull: false,
  remoteEtag: '"a,2"',
  resolution: 'sharepoint',
  detectedAt: 0,
  ...c,
});
function run(events: HistoryEvent[], final: FinalRecord | null, extra: Partial<CheckInput> = {}) {
  return check({
    events,
    sharePoint: final ? [final] : [],
    postgres: final ? [{ ...final }] : [],
    conflicts: [],
    deadLetters: [],
    pending: 0,
    verifyOk: true,
    verifySummary: '',
    differing: [],
    relationFields: {},
    ...extra,
  });
}
const counts = (r: ReturnType<typeof check>) => ({
  lost: r.lost,
  duplicated: r.duplicated,
  resurrected: r.resurrected,
  falseConflicts: r.falseConflicts,
  diverged: r.diverged,
});
const clean = { lost: 0, duplicated: 0, resurrected: 0, falseConflicts: 0, diverged: 0 };
const create = w('local', 'w0.1.1', 'create', 0, 10, { id: ID });

describe('soak checker', () => {
  it('accepts the last acknowledged local write and reports an older one as a loss', () => {
    const events = [...create, ...w('local', 'w0.1.2', 'update', 20, 30, { id: ID })];
    expect(counts(run(events, rec('w0.1.2')))).toEqual(clean);
    const lost = run(events, rec('w0.1.1'));
    expect(lost.lost).toBe(1);
    expect(lost.findings[0]!.detail).toContain('w0.1.2');
  });

  it('accepts either value when a person edit overlaps a local write', () => {
    const events = [
      ...create,
      ...w('local', 'w0.1.2', 'update', 20, 40, { id: ID }),
      ...w('person', 'p.1', 'update', 30, 50),
    ];
    expect(counts(run(events, rec('w0.1.2')))).toEqual(clean);
    expect(counts(run(events, rec('p.1')))).toEqual(clean);
  });

  it('lets SharePoint win over a later local write only through a conflict naming both versions', () => {
    const events = [
      ...create,
      ...w('person', 'p.1', 'update', 20, 30),
      ...w('local', 'w0.1.2', 'update', 40, 50, { id: ID }),
    ];
    expect(run(events, rec('p.1')).lost).toBe(1);
    const withConflict = run(events, rec('p.1'), {
      conflicts: [conflict({ remoteName: 'p.1', localName: 'w0.1.2' })],
    });
    expect(counts(withConflict)).toEqual(clean);
    expect(withConflict.explained.sharePointWon).toBe(1);
    // A conflict that dropped an older local version does not excuse losing the newest one.
    expect(
      run(events, rec('p.1'), { conflicts: [conflict({ remoteName: 'p.1', localName: 'w0.1.1' })] }).lost,
    ).toBe(1);
  });

  it('reports a later person edit overwritten by an older local value', () => {
    const events = [
      ...create,
      ...w('local', 'w0.1.2', 'update', 20, 30, { id: ID }),
      ...w('person', 'p.1', 'update', 40, 50),
    ];
    const r = run(events, rec('w0.1.2'));
    expect(r.lost).toBe(1);
    expect(r.findings[0]!.cause).toContain('SharePoint edit overwritten');
  });

  it('treats a write whose outcome is unknown as optional', () => {
    const events = [...create, ...w('local', 'w0.1.2', 'update', 20, 'fail', { id: ID })];
    expect(counts(run(events, rec('w0.1.1')))).toEqual(clean);
    expect(counts(run(events, rec('w0.1.2')))).toEqual(clean);
  });

  it('reports a record deleted by its last write that is still there, naming a loader that fetched it', () => {
    const events: HistoryEvent[] = [
      ...create,
      ...w('local', 'w0.1.2', 'delete', 20, 30, { id: ID }),
      { k: 'load', t: 35, entity: E, ids: [ID] },
    ];
    expect(counts(run(events, null))).toEqual(clean);
    const r = run(events, rec('w0.1.1'));
    expect(r.resurrected).toBe(1);
    expect(r.findings[0]!.cause).toContain('defect 3');
  });

  it('reports a soft delete undone unless a conflict with a person edit dropped it', () => {
    const events = [
      ...create,
      ...w('local', 'w0.1.2', 'softDelete', 20, 30, { id: ID }),
      ...w('person', 'p.1', 'update', 25, 35),
    ];
    expect(counts(run(events, rec('p.1', { deleted: true })))).toEqual(clean);
    expect(run(events, rec('p.1')).resurrected).toBe(1);
    const dropped = run(events, rec('p.1'), {
      conflicts: [conflict({ remoteName: 'p.1', localName: 'w0.1.1', localDeleted: true })],
    });
    expect(counts(dropped)).toEqual(clean);
  });

  it('accepts a local delete overruled by an earlier person edit only through a recorded conflict (sharePointPriority)', () => {
    // Seen in a 60-s run: a person renamed the item, 120 ms later the application deleted it; the delete's
    // If-Match met the person's version (412) and the policy kept SharePoint's.
    const events = [
      ...create,
      ...w('person', 'p.1', 'update', 20, 22),
      ...w('local', 'w1.1.2', 'delete', 30, 32, { id: ID }),
    ];
    expect(run(events, rec('p.1')).resurrected).toBe(1);
    const overruled = run(events, rec('p.1'), {
      conflicts: [
        conflict({
          remoteName: 'p.1',
          localNull: true,
          reason: 'deleted locally while the item changed in SharePoint (412)',
        }),
      ],
    });
    expect(counts(overruled)).toEqual(clean);
  });

  it('calls a conflict on our own write-back false, and one on a person edit real; a repeat with the same local version is a duplicate record', () => {
    const events = [
      ...create,
      ...w('person', 'p.1', 'update', 20, 30),
      ...w('local', 'w0.1.2', 'update', 40, 50, { id: ID }),
    ];
    const own = run(events, rec('w0.1.2'), {
      conflicts: [conflict({ remoteName: 'w0.1.1', localName: 'w0.1.2' })],
    });
    expect(own.falseConflicts).toBe(1);
    expect(own.findings[0]!.cause).toContain('defect 1');
    const twice = run(events, rec('p.1'), {
      conflicts: [
        conflict({ id: 1, remoteName: 'p.1', localName: 'w0.1.2', detectedAt: 55 }),
        conflict({
          detectedAt: 56,
          id: 2,
          remoteName: 'p.1',
          localName: 'w0.1.2',
          reason: 'updated locally while the item changed in SharePoint (412)',
        }),
      ],
    });
    expect(counts(twice)).toEqual(clean);
    expect(twice.duplicateConflictRecords).toBe(1);
    // w0.1.2 (written at 40) dropped against a SharePoint version already a conflict at 35: false.
    const dropsNewer = run(events, rec('p.1'), {
      conflicts: [
        conflict({ id: 1, remoteName: 'p.1', localName: 'w0.1.1', detectedAt: 35 }),
        conflict({ id: 2, remoteName: 'p.1', localName: 'w0.1.2', detectedAt: 60 }),
      ],
    });
    expect(dropsNewer.falseConflicts).toBe(1);
    // A second, stale send of an older local version meeting the same edit: a duplicate record, not false.
    const staleSend = run(events, rec('p.1'), {
      conflicts: [
        conflict({ id: 1, remoteName: 'p.1', localName: 'w0.1.2', detectedAt: 55 }),
        conflict({ id: 2, remoteName: 'p.1', localName: 'w0.1.1', detectedAt: 60 }),
      ],
    });
    expect(counts(staleSend)).toEqual(clean);
    expect(staleSend.duplicateConflictRecords).toBe(1);
  });

  it('reports one item twice, and one item with two TwentyIds in the cache', () => {
    const events = [...w('person', 'p.1', 'create', 0, 10, { origin: 'c1' })];
    const r = run(events, rec('p.1'), {
      postgres: [rec('p.1'), rec('p.1', { twentyId: '00000000-0000-4000-8000-000000000002' })],
    });
    expect(r.duplicated).toBe(1);
  });

  it('reports a local create that never reached SharePoint, and accepts a person delete followed by a dead-lettered local update', () => {
    expect(run(create, null, { postgres: [] }).lost).toBe(1);
    const events = [
      ...create,
      ...w('person', 'p.1', 'delete', 20, 30, { itemId: '1' }),
      ...w('local', 'w0.1.2', 'update', 40, 50, { id: ID }),
    ];
    expect(run(events, null).lost).toBe(1);
    const dead = run(events, null, {
      deadLetters: [{ entity: E, twentyId: ID, op: 'upsert', error: '404' }],
    });
    expect(counts(dead)).toEqual(clean);
    expect(dead.explained.deadLetteredAfterRemoteDelete).toBe(1);
  });
});
