// The history every process appends to (one JSON object per line, written synchronously so a SIGKILL loses at
// most the line being written). A local write is logged before it starts (`intent`) and after it committed
// (`ack`, with the rows it affected) or failed (`fail`: it may or may not have committed). A SharePoint edit by
// the simulated person is logged after Graph answered 2xx, with the eTag and lastModifiedDateTime.
import { appendFileSync } from 'node:fs';

export type Side = 'local' | 'person';
export type Op = 'create' | 'update' | 'softDelete' | 'delete';

export interface WriteEvent {
  k: 'intent' | 'ack' | 'fail';
  side: Side;
  /** `w<slot>.<pid>.<n>` or `p.<n>`: unique per write. */
  wid: string;
  entity: string;
  origin: string;
  op: Op;
  /** The name the write sets (create/update). */
  name?: string;
  /** Epoch ms: intent = before the write started; ack/fail = after the answer. */
  t: number;
  affected?: number;
  id?: string;
  itemId?: string;
  etag?: string;
  modified?: string;
  error?: string;
  via?: string;
}

export interface MarkEvent {
  k: 'attach' | 'attached' | 'load' | 'start' | 'stop' | 'kill' | 'pgkill' | 'error';
  slot?: number;
  pid?: number;
  t: number;
  entity?: string;
  ids?: string[];
  detail?: string;
}

export type HistoryEvent = WriteEvent | MarkEvent;

export function historyWriter(file: string) {
  return (event: HistoryEvent) => appendFileSync(file, `${JSON.stringify(event)}\n`);
}

/** Lines of one history file; a torn last line (SIGKILL mid-write) is skipped. */
export function parseHistory(text: string): HistoryEvent[] {
  const out: HistoryEvent[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as HistoryEvent);
    } catch {
      // torn line
    }
  }
  return out;
}

/** A small seeded generator (mulberry32): same seed, same choices in one process. */
export function seeded(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(items: readonly T[]): T | undefined => items[Math.floor(next() * items.length)],
    chance: (p: number) => next() < p,
  };
}
