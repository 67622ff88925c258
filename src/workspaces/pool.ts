import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger } from '../context.js';
import { ResourceUnitLimiter } from '../graph/index.js';
import { Sleepers } from './room.js';

/** The pool slot of the turn running in this async context (set by the pool around `runOnce`). */
interface TurnSlot {
  holding: boolean;
  done: boolean;
  yieldSlot(): void;
  reclaim(): Promise<void>;
}

const turnSlots = new AsyncLocalStorage<TurnSlot>();

/**
 * A tenant's budget (shared by its workspaces' Graph clients). A pool turn that has to wait — for the budget
 * (its own bucket, or the shared ledger, which says so only when asked), a `Retry-After` pause, or behind
 * another request of the same tenant that waits for them — gives its pool slot back for the wait and takes one
 * again after it, so a throttled tenant's turns never keep other tenants' changes waiting.
 */
export class TenantLimiter extends ResourceUnitLimiter {
  override async acquire(units: number, onWait?: () => void): Promise<void> {
    const slot = turnSlots.getStore();
    if (!slot?.holding || slot.done) return super.acquire(units, onWait);
    let yielded = false;
    try {
      await super.acquire(units, () => {
        onWait?.();
        if (yielded || !slot.holding) return;
        yielded = true;
        slot.yieldSlot();
      });
    } finally {
      if (yielded) await slot.reclaim();
    }
  }
}

/** What the pool needs of one workspace's write-back (a `Writeback` satisfies it). */
export interface PoolWriteback {
  runOnce(options: { limit?: number }): Promise<{ claimed: number; sent: number }>;
  onWake?(listener: () => void): () => void;
}

export interface WorkerPoolOptions {
  /** Turns (claim + send) in flight at once across all workspaces. Default 4. */
  concurrency: number;
  /** Records one turn may claim and send (one `$batch`, ≤ 20). Default 20. */
  recordsPerTurn: number;
  /** How long a workspace with nothing due is left alone (P0 commits wake it at once). Default 1000 ms. */
  pollIntervalMs: number;
  /** Turns of one tenant in flight at once, so a throttled tenant cannot hold every slot. Default half the concurrency. */
  perTenantConcurrency: number;
  logger: Logger;
}

export interface PoolTurn {
  workspace: string;
  claimed: number;
  sent: number;
}

interface Member {
  id: string;
  tenant: string;
  writeback: PoolWriteback;
  limiter: ResourceUnitLimiter | undefined;
  inFlight: number;
  /** Not asked again before this time (nothing was due, or the last turn failed). */
  restUntil: number;
  removed: boolean;
  drained: Set<() => void>;
  unsubscribe: () => void;
}

/**
 * One pool of write-back turns shared by every attached workspace. Workspaces are served round robin, one
 * turn (at most `recordsPerTurn` records) each, so a workspace with thousands of pending changes delays
 * another's change by at most the turns already in flight. A tenant whose budget is paused (429/503 with
 * `Retry-After`) is skipped until the pause ends, and no tenant holds more than `perTenantConcurrency` slots:
 * one tenant's throttling never stalls another's.
 */
export class WorkerPool {
  private readonly members: Member[] = [];
  private cursor = 0;
  private running = false;
  private loops: Promise<void>[] = [];
  /** Slots not held by a turn; a turn waiting for its tenant's budget holds none. */
  private free: number;
  private readonly turnsInFlight = new Set<Promise<void>>();
  /** Turns whose wait for the budget ended, waiting for a slot again (served before new turns). */
  private readonly reclaimers: (() => void)[] = [];
  private readonly sleepers = new Sleepers();
  private readonly tenantInFlight = new Map<string, number>();
  private readonly turnListeners = new Set<(turn: PoolTurn) => void>();

  constructor(private readonly options: WorkerPoolOptions) {
    this.free = Math.max(1, options.concurrency);
  }

  get isRunning(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loops.push(this.loop());
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wakeAll();
    await Promise.allSettled(this.loops);
    this.loops = [];
    await Promise.allSettled([...this.turnsInFlight]);
  }

  /** Reports every turn that claimed something (tests and progress). */
  onTurn(listener: (turn: PoolTurn) => void): () => void {
    this.turnListeners.add(listener);
    return () => this.turnListeners.delete(listener);
  }

  add(id: string, tenant: string, writeback: PoolWriteback, limiter?: ResourceUnitLimiter): void {
    if (this.members.some((m) => m.id === id && !m.removed)) return;
    const member: Member = {
      id,
      tenant,
      writeback,
      limiter,
      inFlight: 0,
      restUntil: 0,
      removed: false,
      drained: new Set(),
      unsubscribe: () => undefined,
    };
    member.unsubscribe =
      writeback.onWake?.(() => {
        member.restUntil = 0;
        this.wakeAll();
      }) ?? (() => undefined);
    this.members.push(member);
    this.wakeAll();
  }

  /** Stops serving a workspace; resolves once its turns in flight have finished. */
  async remove(id: string): Promise<void> {
    const member = this.members.find((m) => m.id === id && !m.removed);
    if (!member) return;
    member.removed = true;
    member.unsubscribe();
    const index = this.members.indexOf(member);
    this.members.splice(index, 1);
    if (this.cursor > index) this.cursor--;
    if (member.inFlight > 0) await new Promise<void>((resolve) => member.drained.add(resolve));
  }

  /** Asks a workspace again now (after a write the application knows about). */
  nudge(id: string): void {
    const member = this.members.find((m) => m.id === id);
    if (member) member.restUntil = 0;
    this.wakeAll();
  }

  private wakeAll(): void {
    this.sleepers.wakeAll();
  }

  /** The next workspace in round-robin order that may take a turn now, or how long until one may. */
  private next(now: number): Member | number {
    const count = this.members.length;
    let soonest = this.options.pollIntervalMs;
    for (let i = 0; i < count; i++) {
      const index = (this.cursor + i) % count;
      const member = this.members[index]!;
      // Paused by Retry-After, or over its budget: a turn now would only wait.
      const paused = member.limiter
        ? Math.max(member.limiter.pausedUntil - now, member.limiter.delayFor(1))
        : 0;
      const resting = member.restUntil - now;
      if (paused > 0 || resting > 0) {
        soonest = Math.min(soonest, Math.max(paused, resting));
        continue;
      }
      if ((this.tenantInFlight.get(member.tenant) ?? 0) >= this.tenantCap()) continue;
      // One turn of a workspace at a time unless nobody else is waiting (work-conserving).
      if (member.inFlight > 0 && this.othersReady(member, now)) continue;
      this.cursor = (index + 1) % count;
      return member;
    }
    return Math.max(1, soonest);
  }

  private tenantCap(): number {
    const tenants = new Set(this.members.map((m) => m.tenant)).size;
    // A single tenant may use every slot; with several, none may take them all.
    return tenants <= 1
      ? Math.max(1, this.options.concurrency)
      : Math.max(1, Math.min(this.options.perTenantConcurrency, this.options.concurrency - 1));
  }

  private othersReady(except: Member, now: number): boolean {
    return this.members.some(
      (m) =>
        m !== except &&
        m.inFlight === 0 &&
        m.restUntil <= now &&
        (m.limiter?.pausedUntil ?? 0) <= now &&
        (this.tenantInFlight.get(m.tenant) ?? 0) < this.tenantCap(),
    );
  }

  /** Starts a turn whenever a slot is free and a workspace may take one. */
  private async loop(): Promise<void> {
    while (this.running) {
      if (this.free <= 0 || this.reclaimers.length > 0) {
        await this.sleepers.sleep(this.options.pollIntervalMs);
        continue;
      }
      const picked = this.next(Date.now());
      if (typeof picked === 'number') {
        await this.sleepers.sleep(picked);
        continue;
      }
      this.free--;
      const turn = this.turn(picked);
      this.turnsInFlight.add(turn);
      void turn.finally(() => this.turnsInFlight.delete(turn));
    }
  }

  /** A slot given back: to a turn waiting to resume first, else free for a new turn. */
  private releaseSlot(): void {
    const resume = this.reclaimers.shift();
    if (resume) resume();
    else this.free++;
    this.wakeAll();
  }

  private async turn(member: Member): Promise<void> {
    member.inFlight++;
    this.tenantInFlight.set(member.tenant, (this.tenantInFlight.get(member.tenant) ?? 0) + 1);
    const slot: TurnSlot = {
      holding: true,
      done: false,
      yieldSlot: () => {
        if (!slot.holding) return;
        slot.holding = false;
        this.releaseSlot();
      },
      reclaim: async () => {
        if (slot.holding || slot.done) return;
        if (this.free > 0) this.free--;
        else await new Promise<void>((resolve) => this.reclaimers.push(resolve));
        slot.holding = true;
      },
    };
    try {
      const result = await turnSlots.run(slot, () =>
        member.writeback.runOnce({ limit: this.options.recordsPerTurn }),
      );
      if (result.claimed === 0) member.restUntil = Date.now() + this.options.pollIntervalMs;
      else {
        member.restUntil = 0;
        for (const listener of this.turnListeners) listener({ workspace: member.id, ...result });
      }
    } catch (error) {
      member.restUntil = Date.now() + this.options.pollIntervalMs;
      if (!member.removed) {
        this.options.logger.error('typeorm-sharepoint: write-back turn failed', {
          workspace: member.id,
          error: String(error),
        });
      }
    } finally {
      slot.done = true;
      if (slot.holding) {
        slot.holding = false;
        this.releaseSlot();
      }
      member.inFlight--;
      this.tenantInFlight.set(member.tenant, (this.tenantInFlight.get(member.tenant) ?? 1) - 1);
      if (member.inFlight === 0) {
        for (const resolve of member.drained) resolve();
        member.drained.clear();
      }
      this.wakeAll();
    }
  }
}
