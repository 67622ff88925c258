// The soak's model checker: from the history of acknowledged writes on both sides and the final state of
// SharePoint and PostgreSQL, decides for every record whether what remains is a legitimate outcome.
//
// Writes are intervals [start, end]: a local write from before its transaction to after its commit, a person's
// edit from before the request to the 2xx answer. X is *definitely after* W when X.start > W.end; writes that
// overlap may land in either order. A write whose outcome is unknown (the call failed, the process was killed)
// may or may not have happened, and never supersedes another. Per record (keyed by `origin`, the tag of the write
// that created it), under the default policy sharePointPriority:
//  - the final value must be the value of some write W, and no acknowledged write may be definitely after W —
//    except local writes after a person's edit W when a conflict was recorded with W as SharePoint's version and
//    the latest of those local writes as the local one (SharePoint won, as the policy says);
//  - a record absent at the end needs a delete that is not definitely followed by a write (a local write after a
//    person's delete is accepted when a conflict or a dead letter records it);
//  - a record deleted (soft or hard) by its definitely-last write must not come back, and an item a person
//    deleted must not reappear under the same origin;
//  - no origin or TwentyId twice on either side; every conflict's SharePoint version is a person's edit (or a
//    person's delete), and no two conflicts name the same SharePoint version.
import type { HistoryEvent, MarkEvent, WriteEvent } from './history.js';

export interface FinalRecord {
  entity: string;
  twentyId: string | null;
  origin: string | null;
  name: string | null;
  deleted: boolean;
  itemId?: string;
}

export interface ConflictRecord {
  id: number;
  entity: string;
  twentyId: string;
  policy: string;
  reason: string;
  localName: string | null | undefined;
  localDeleted: boolean;
  localOrigin: string | null | undefined;
  /** null: the local version was a delete. */
  localNull: boolean;
  remoteName: string | null | undefined;
  remoteOrigin: string | null | undefined;
  remoteNull: boolean;
  remoteEtag: string | null;
  resolution: string | null;
  /** Epoch ms. */
  detectedAt: number;
}

export interface DeadLetterRecord {
  entity: string;
  twentyId: string;
  op: string;
  error: string;
}

export interface CheckInput {
  events: HistoryEvent[];
  sharePoint: FinalRecord[];
  postgres: FinalRecord[];
  conflicts: ConflictRecord[];
  deadLetters: DeadLetterRecord[];
  pending: number;
  verifyOk: boolean;
  verifySummary: string;
  /** verify's differing fields per record (by TwentyId). */
  differing: {
    entity: string;
    twentyId: string;
    fields: { field: string; postgres: unknown; sharePoint: unknown }[];
  }[];
  /** Internal names of relation-id columns per entity (e.g. CompanyId). */
  relationFields: Record<string, string[]>;
}

export interface Finding {
  kind: 'lost' | 'duplicated' | 'resurrected' | 'falseConflict' | 'diverged';
  entity: string;
  origin: string;
  detail: string;
  /** The issue-14 defect the evidence points at, when it does. */
  cause: string;
}

export interface CheckReport {
  writes: { local: number; person: number; unknownOutcome: number; noop: number };
  conflicts: number;
  lost: number;
  duplicated: number;
  resurrected: number;
  falseConflicts: number;
  diverged: number;
  deadLetters: number;
  pending: number;
  verifyOk: boolean;
  findings: Finding[];
  causes: Record<string, number>;
  explained: { sharePointWon: number; deadLetteredAfterRemoteDelete: number };
  /** Conflicts recorded twice for one SharePoint version and one local version (benign, counted). */
  duplicateConflictRecords: number;
}

interface Write {
  wid: string;
  side: 'local' | 'person';
  entity: string;
  origin: string;
  op: WriteEvent['op'];
  name?: string;
  id?: string;
  itemId?: string;
  etag?: string;
  start: number;
  end: number;
  /** Committed / answered 2xx and changed something. */
  acked: boolean;
  /** Outcome unknown: may or may not have happened. */
  maybe: boolean;
}

const isPersonTag = (name: string | null | undefined) => typeof name === 'string' && name.startsWith('p.');

export function check(input: CheckInput): CheckReport {
  const marks = input.events.filter((e): e is MarkEvent => !('side' in e));
  const killedAt = new Map<number, number>();
  for (const m of marks) if (m.k === 'kill' && m.pid) killedAt.set(m.pid, m.t);
  const pidOfWid = (wid: string) => Number(wid.split('.')[1]);

  // ── writes from intent/ack/fail lines ──
  const byWid = new Map<string, { intent?: WriteEvent; end?: WriteEvent }>();
  for (const e of input.events) {
    if (!('side' in e)) continue;
    const w = byWid.get(e.wid) ?? {};
    if (e.k === 'intent') w.intent = e;
    else w.end = e;
    byWid.set(e.wid, w);
  }
  const writes: Write[] = [];
  const report: CheckReport = {
    writes: { local: 0, person: 0, unknownOutcome: 0, noop: 0 },
    conflicts: input.conflicts.length,
    lost: 0,
    duplicated: 0,
    resurrected: 0,
    falseConflicts: 0,
    diverged: 0,
    deadLetters: input.deadLetters.length,
    pending: input.pending,
    verifyOk: input.verifyOk,
    findings: [],
    causes: {},
    explained: { sharePointWon: 0, deadLetteredAfterRemoteDelete: 0 },
    duplicateConflictRecords: 0,
  };
  for (const { intent, end } of byWid.values()) {
    const first = intent ?? end;
    if (!first) continue;
    const acked = end?.k === 'ack' && (end.affected ?? 0) > 0;
    const noop = end?.k === 'ack' && (end.affected ?? 0) === 0;
    if (noop) {
      report.writes.noop++;
      continue;
    }
    const maybe = !acked;
    const killed = first.side === 'local' ? killedAt.get(pidOfWid(first.wid)) : undefined;
    const w: Write = {
      wid: first.wid,
      side: first.side,
      entity: first.entity,
      origin: first.origin,
      op: first.op,
      start: intent?.t ?? end!.t,
      end: end?.t ?? killed ?? Number.POSITIVE_INFINITY,
      acked,
      maybe,
    };
    if (first.name !== undefined) w.name = first.name;
    const id = end?.id ?? intent?.id;
    if (id) w.id = id;
    const itemId = end?.itemId ?? intent?.itemId;
    if (itemId) w.itemId = itemId;
    if (end?.etag) w.etag = end.etag;
    writes.push(w);
    if (maybe) report.writes.unknownOutcome++;
    else if (w.side === 'local') report.writes.local++;
    else report.writes.person++;
  }

  // ── TwentyId → origin (conflicts and dead letters name TwentyIds) ──
  const originOf = new Map<string, string>();
  for (const w of writes) if (w.id) originOf.set(`${w.entity}/${w.id}`, w.origin);
  for (const r of [...input.sharePoint, ...input.postgres])
    if (r.twentyId && r.origin) originOf.set(`${r.entity}/${r.twentyId}`, r.origin);
  const conflictOrigin = (c: ConflictRecord) =>
    originOf.get(`${c.entity}/${c.twentyId}`) ?? c.localOrigin ?? c.remoteOrigin ?? undefined;

  const key = (entity: string, origin: string) => `${entity}/${origin}`;
  const group = <T>(items: T[], k: (t: T) => string | undefined) => {
    const map = new Map<string, T[]>();
    for (const item of items) {
      const kk = k(item);
      if (kk === undefined) continue;
      map.set(kk, [...(map.get(kk) ?? []), item]);
    }
    return map;
  };
  const writesOf = group(writes, (w) => key(w.entity, w.origin));
  const spOf = group(input.sharePoint, (r) => (r.origin ? key(r.entity, r.origin) : undefined));
  const pgOf = group(input.postgres, (r) => (r.origin ? key(r.entity, r.origin) : undefined));
  const conflictsOf = group(input.conflicts, (c) => {
    const o = conflictOrigin(c);
    return o ? key(c.entity, o) : undefined;
  });
  const deadOf = group(input.deadLetters, (d) => {
    const o = originOf.get(`${d.entity}/${d.twentyId}`);
    return o ? key(d.entity, o) : undefined;
  });

  const attachWindows: [number, number][] = [];
  const openAttach = new Map<number, number>();
  for (const m of marks) {
    if (m.k === 'attach' && m.pid) openAttach.set(m.pid, m.t);
    if (m.k === 'attached' && m.pid && openAttach.has(m.pid)) {
      attachWindows.push([openAttach.get(m.pid)!, m.t]);
      openAttach.delete(m.pid);
    }
  }
  const duringAttach = (w: Write) => attachWindows.some(([a, b]) => w.start <= b + 50 && w.end >= a - 50);
  const loadedAfter = (entity: string, id: string | undefined, t: number) =>
    !!id && marks.some((m) => m.k === 'load' && m.entity === entity && m.t >= t && m.ids?.includes(id));

  const find = (f: Omit<Finding, 'cause'>, cause: string) => {
    report.findings.push({ ...f, cause });
    report.causes[cause] = (report.causes[cause] ?? 0) + 1;
    if (f.kind === 'lost') report.lost++;
    else if (f.kind === 'duplicated') report.duplicated++;
    else if (f.kind === 'resurrected') report.resurrected++;
    else if (f.kind === 'falseConflict') report.falseConflicts++;
    else report.diverged++;
  };

  // ── false conflicts ──
  const falseConflictIds = new Set<number>();
  const seenRemote = new Map<string, { local: string; detectedAt: number }>();
  for (const c of input.conflicts) {
    const origin = conflictOrigin(c) ?? '?';
    const ws = writesOf.get(key(c.entity, origin)) ?? [];
    // Defect 4 lasts from a connection kill until the process restarts: any kill before counts.
    const afterConnectionKill = marks.some((m) => m.k === 'pgkill' && m.t <= c.detectedAt);
    const cause = !/412/.test(c.reason)
      ? 'defect 1 (pull took our own write-back for a SharePoint change)'
      : afterConnectionKill
        ? 'defect 4? (write-back 412 on our own write after a connection kill: worker lock lost, claims sent twice)'
        : 'write-back 412 on our own write before any connection kill (a resent request not adopted?)';
    let why: string | undefined;
    if (c.remoteNull) {
      if (!ws.some((w) => w.side === 'person' && w.op === 'delete'))
        why = 'SharePoint version is a delete no person made';
    } else if (!isPersonTag(c.remoteName)) {
      why = `SharePoint version "${c.remoteName}" is the library's own write, not a person's edit`;
    } else if (c.remoteEtag) {
      // The same SharePoint version twice is benign when the second local version was written before the first
      // conflict was detected (a pull and an in-flight send, or two sends, met one edit); a local change made after
      // SharePoint's version was already known and then dropped against it is a false conflict.
      const k = `${c.entity}/${c.twentyId}/${c.remoteEtag}`;
      const local = c.localNull ? '(deleted)' : (c.localName ?? '(no name)');
      const first = seenRemote.get(k);
      const write = ws.find(
        (x) =>
          x.side === 'local' &&
          (c.localNull ? x.op === 'delete' : x.name !== undefined && x.name === c.localName),
      );
      if (first && local !== first.local && write && write.start > first.detectedAt)
        why = `SharePoint version ${c.remoteEtag} was already a conflict (against local "${first.local}") when local "${local}" was written; it was dropped against it`;
      else if (first) report.duplicateConflictRecords++;
      if (!first) seenRemote.set(k, { local, detectedAt: c.detectedAt });
    }
    if (why) {
      falseConflictIds.add(c.id);
      find(
        { kind: 'falseConflict', entity: c.entity, origin, detail: `conflict ${c.id} (${c.reason}): ${why}` },
        cause,
      );
    }
  }

  // ── per record ──
  const keys = new Set([...writesOf.keys(), ...spOf.keys(), ...pgOf.keys()]);
  for (const k of keys) {
    const [entity, origin] = [k.slice(0, k.indexOf('/')), k.slice(k.indexOf('/') + 1)];
    const ws = (writesOf.get(k) ?? []).sort((a, b) => a.start - b.start);
    const sps = spOf.get(k) ?? [];
    const pgs = pgOf.get(k) ?? [];
    const cs = conflictsOf.get(k) ?? [];
    const dead = deadOf.get(k) ?? [];
    const after = (x: Write, w: Write) => x.start > w.end;
    const acked = ws.filter((w) => w.acked);
    const falseHere = cs.some((c) => falseConflictIds.has(c.id));
    const lossCause = (lostWrite: Write | undefined) => {
      if (lostWrite?.side === 'person') return 'SharePoint edit overwritten by an older local value';
      if (falseHere) return 'defect 1 (a false conflict dropped the pending local change)';
      if (lostWrite && duringAttach(lostWrite))
        return 'defect 2 (committed while a process re-attached: no capture trigger)';
      return 'unexplained';
    };

    if (sps.length > 1 || pgs.length > 1) {
      find(
        {
          kind: 'duplicated',
          entity,
          origin,
          detail: `${sps.length} SharePoint items, ${pgs.length} PostgreSQL rows`,
        },
        'duplicate create',
      );
    }
    const ids = new Set(pgs.map((r) => r.twentyId));
    if (sps.length === 1 && pgs.length === 1 && !ids.has(sps[0]!.twentyId)) {
      find(
        {
          kind: 'duplicated',
          entity,
          origin,
          detail: `SharePoint TwentyId ${sps[0]!.twentyId} vs PostgreSQL ${pgs[0]!.twentyId}: two ids for one item`,
        },
        'TwentyId given twice',
      );
    }
    const sp = sps[0];

    // Existence.
    const personDeletes = acked.filter((w) => w.side === 'person' && w.op === 'delete');
    if (sp && personDeletes.some((d) => d.itemId === sp.itemId)) {
      find(
        { kind: 'resurrected', entity, origin, detail: `item ${sp.itemId} deleted by a person is back` },
        'unexplained',
      );
      continue;
    }
    if (sp && personDeletes.length > 0) {
      find(
        {
          kind: 'resurrected',
          entity,
          origin,
          detail: `deleted in SharePoint (item ${personDeletes[0]!.itemId}), re-created as item ${sp.itemId}`,
        },
        'SharePoint delete undone by a local write (re-created)',
      );
      continue;
    }
    const deletes = ws.filter((w) => w.op === 'delete');
    if (!sp) {
      if (pgs.length > 0) {
        find(
          {
            kind: 'diverged',
            entity,
            origin,
            detail: `PostgreSQL holds row ${pgs[0]!.twentyId}, SharePoint has no item`,
          },
          ws.some((w) => w.op === 'delete' && w.side === 'local' && loadedAfter(entity, w.id, w.start))
            ? 'defect 3 (a loader fetched a pending delete back into the cache)'
            : ws.some((w) => w.op === 'delete' && w.side === 'person') && dead.length > 0
              ? 'SharePoint delete never applied to the cache after a local update was dead-lettered (PATCH 404)'
              : 'unexplained',
        );
        continue;
      }
      if (ws.length === 0) continue;
      if (deletes.length === 0) {
        const creates = ws.filter((w) => w.op === 'create');
        if (creates.length > 0 && creates.every((c) => c.maybe)) continue;
        const last = acked[acked.length - 1];
        find(
          {
            kind: 'lost',
            entity,
            origin,
            detail: `no SharePoint item; last acknowledged write ${last?.wid} (${last?.op}) ${dead.length ? `dead-lettered: ${dead[0]!.error}` : ''}`,
          },
          dead.length ? 'dead-lettered' : lossCause(last),
        );
        continue;
      }
      // Some delete must be not definitely followed by an acknowledged write (except SharePoint-won ones).
      let ok = false;
      let blocker: Write | undefined;
      for (const d of deletes) {
        const later = acked.filter((x) => x !== d && after(x, d) && x.op !== 'delete');
        const unexplained = later.filter((x) => {
          if (d.side === 'person' && x.side === 'local') {
            if (cs.some((c) => c.remoteNull)) return false;
            if (dead.length > 0) {
              report.explained.deadLetteredAfterRemoteDelete++;
              return false;
            }
          }
          return true;
        });
        if (unexplained.length === 0) {
          ok = true;
          break;
        }
        blocker = unexplained[unexplained.length - 1];
      }
      if (!ok) {
        find(
          {
            kind: 'lost',
            entity,
            origin,
            detail: `deleted, but ${blocker?.side} write ${blocker?.wid} (${blocker?.op}) came definitely after the delete`,
          },
          blocker?.side === 'person'
            ? 'SharePoint edit lost under a local delete (delete sent without a conflict)'
            : lossCause(blocker),
        );
      }
      continue;
    }

    // Present: a definitely-last delete must not be undone.
    const lastDelete = deletes.find(
      (d) => d.acked && ws.every((x) => x === d || x.end < d.start || x.op === 'delete'),
    );
    // SharePoint's version may win over a pending local delete the way it may win over a pending update:
    // through a recorded conflict (policy sharePointPriority) naming the person's version and the deleted local.
    const deleteOverruled =
      lastDelete?.side === 'local' &&
      cs.some((c) => c.localNull && isPersonTag(c.remoteName) && !falseConflictIds.has(c.id));
    if (deleteOverruled) report.explained.sharePointWon++;
    else if (lastDelete) {
      const cause =
        lastDelete.side === 'local' && loadedAfter(entity, lastDelete.id, lastDelete.start)
          ? 'defect 3 (a loader fetched the pending delete back from SharePoint)'
          : falseHere
            ? 'defect 1 (a false conflict dropped the pending delete)'
            : duringAttach(lastDelete)
              ? 'defect 2 (delete committed while a process re-attached)'
              : 'unexplained';
      find(
        {
          kind: 'resurrected',
          entity,
          origin,
          detail: `${lastDelete.side} delete ${lastDelete.wid} was the last write, item ${sp.itemId} is still there`,
        },
        cause,
      );
      continue;
    }

    // Value.
    const writer = ws.find((w) => w.name !== undefined && w.name === sp.name);
    if (!writer) {
      const last = acked.filter((w) => w.name !== undefined).pop();
      find(
        {
          kind: 'lost',
          entity,
          origin,
          detail: `SharePoint holds "${sp.name}", which no write set; last was ${last?.wid}`,
        },
        lossCause(last),
      );
      continue;
    }
    const laterNames = acked.filter((x) => x.name !== undefined && after(x, writer));
    let valueOk = true;
    if (laterNames.length > 0) {
      const lastLater = laterNames[laterNames.length - 1]!;
      if (writer.side === 'person' && laterNames.every((x) => x.side === 'local')) {
        // SharePoint won only if a conflict recorded this person's version against the newest local one.
        const accepted = new Set([
          lastLater.name,
          ...ws.filter((w) => w.maybe && w.side === 'local' && !after(lastLater, w)).map((w) => w.name),
        ]);
        const c = cs.find((c) => c.remoteName === writer.name && accepted.has(c.localName ?? undefined));
        if (c && !falseConflictIds.has(c.id)) report.explained.sharePointWon++;
        else valueOk = false;
      } else valueOk = false;
      if (!valueOk) {
        find(
          {
            kind: 'lost',
            entity,
            origin,
            detail: `SharePoint holds ${writer.side} write ${writer.wid}; ${lastLater.side} write ${lastLater.wid} came definitely after it (${new Date(lastLater.start).toISOString()} > ${new Date(writer.end).toISOString()})${cs.length ? `; conflicts: ${cs.map((c) => `${c.id} remote=${c.remoteName} local=${c.localName}`).join(', ')}` : ''}`,
          },
          lossCause(lastLater),
        );
        continue;
      }
    }

    // Soft delete.
    const soft = ws.filter((w) => w.op === 'softDelete');
    if (soft.some((s) => s.acked) && !sp.deleted) {
      const s = soft.find((x) => x.acked)!;
      const dropped = cs.some(
        (c) => c.localDeleted && isPersonTag(c.remoteName) && !falseConflictIds.has(c.id),
      );
      if (dropped) report.explained.sharePointWon++;
      else {
        find(
          {
            kind: 'resurrected',
            entity,
            origin,
            detail: `soft delete ${s.wid} undone: DeletedAt is empty in SharePoint`,
          },
          loadedAfter(entity, s.id, s.start)
            ? 'defect 3 (a loader undid a pending soft delete)'
            : falseHere
              ? 'defect 1 (a false conflict dropped the pending soft delete)'
              : duringAttach(s)
                ? 'defect 2 (soft delete committed while a process re-attached)'
                : 'unexplained',
        );
        continue;
      }
    }
    if (sp.deleted && !soft.length) {
      find(
        {
          kind: 'diverged',
          entity,
          origin,
          detail: 'soft-deleted in SharePoint, no soft delete was written',
        },
        'unexplained',
      );
      continue;
    }

    // PostgreSQL must hold the same (verify checks it too; this names the record).
    const pg = pgs[0];
    if (!pg || pg.name !== sp.name || pg.deleted !== sp.deleted) {
      find(
        {
          kind: 'diverged',
          entity,
          origin,
          detail: `SharePoint "${sp.name}"${sp.deleted ? ' (soft-deleted)' : ''}, PostgreSQL ${pg ? `"${pg.name}"${pg.deleted ? ' (soft-deleted)' : ''}` : 'no row'}`,
        },
        'unexplained',
      );
    }
  }
  // verify's differences on relation ids: the cache emptied an id whose target record is gone on both sides.
  const everywhere = new Set([...input.sharePoint, ...input.postgres].map((r) => r.twentyId));
  for (const d of input.differing) {
    const relations = input.relationFields[d.entity] ?? [];
    for (const f of d.fields) {
      if (!relations.includes(f.field)) continue;
      const dangling =
        f.postgres === null && typeof f.sharePoint === 'string' && !everywhere.has(f.sharePoint);
      find(
        {
          kind: 'diverged',
          entity: d.entity,
          origin: originOf.get(`${d.entity}/${d.twentyId}`) ?? d.twentyId,
          detail: `${f.field}: PostgreSQL ${JSON.stringify(f.postgres)}, SharePoint ${JSON.stringify(f.sharePoint)}`,
        },
        dangling
          ? 'relation to a deleted record emptied in the cache by a pull (cache/loader.ts resolveForwardReferences), kept in SharePoint'
          : 'unexplained',
      );
    }
  }
  // Local rows with no SharePoint origin at all (a row whose origin was never written by anyone).
  for (const r of input.postgres) {
    if (!r.origin)
      find(
        { kind: 'diverged', entity: r.entity, origin: '?', detail: `row ${r.twentyId} has no origin` },
        'unexplained',
      );
  }
  return report;
}

export function formatReport(r: CheckReport, maxFindings = 25): string {
  const lines = [
    `writes acknowledged: ${r.writes.local} local, ${r.writes.person} in SharePoint (${r.writes.unknownOutcome} with unknown outcome, ${r.writes.noop} no-ops)`,
    `conflicts: ${r.conflicts} (SharePoint won legitimately: ${r.explained.sharePointWon}; dead-lettered after a SharePoint delete: ${r.explained.deadLetteredAfterRemoteDelete}; recorded twice: ${r.duplicateConflictRecords})`,
    `lost: ${r.lost}  duplicated: ${r.duplicated}  resurrected: ${r.resurrected}  false conflicts: ${r.falseConflicts}  diverged: ${r.diverged}`,
    `dead letters: ${r.deadLetters}  pending at the end: ${r.pending}  verify: ${r.verifyOk ? 'clean' : 'DRIFT'}`,
  ];
  if (Object.keys(r.causes).length) {
    lines.push('by cause:');
    for (const [cause, n] of Object.entries(r.causes).sort((a, b) => b[1] - a[1]))
      lines.push(`  ${n}  ${cause}`);
  }
  const order = ['lost', 'resurrected', 'duplicated', 'diverged', 'falseConflict'];
  const sorted = [...r.findings].sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
  for (const f of sorted.slice(0, maxFindings))
    lines.push(`  ${f.kind} ${f.entity} ${f.origin}: ${f.detail} [${f.cause}]`);
  if (r.findings.length > maxFindings) lines.push(`  … ${r.findings.length - maxFindings} more`);
  return lines.join('\n');
}
