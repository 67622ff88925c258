import { Column, type DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SharePointList, type SharePointSync } from '../../src/index.js';
import type { EmulatorList } from '../../src/testing/index.js';
import { type AttachedSetup, createAttachedSetup } from '../support/attached.js';

// Found by the soak (seed 1001868626): a pull read a page while the record's local delete was still waiting;
// the worker sent the delete and settled it (outbox row and sync state gone) before the page was stored; the
// page then looked like a new item and brought the record back. The application updated it again, and the
// echo of our own delete later came in as a SharePoint delete that overruled that update: a lost write.

@SharePointList({ title: 'Read Races' })
@Entity('read_race')
class Raced {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 50 }) name!: string;
}

const SITE = 'contoso.sharepoint.com:/sites/read-races';

/** Holds the next answer that lists `item` (by its TwentyId) until `release`; `held` says it is held. */
let gate: { item: string; held: () => void; release: Promise<void> } | undefined;
const gatedFetch: typeof fetch = async (input, init) => {
  const answer = await fetch(input, init);
  if (!gate || (init?.method ?? 'GET') !== 'GET' || answer.status !== 200) return answer;
  const body = await answer.clone().text();
  if (!body.includes(gate.item)) return answer;
  const { held, release } = gate;
  gate = undefined;
  held();
  await release;
  return answer;
};

let env: AttachedSetup;
let dataSource: DataSource;
let sync: SharePointSync;
const list = (): EmulatorList => env.emulator.site(SITE).list('Read Races')!;
const itemOf = (id: string) =>
  list()
    .items()
    .find((i) => i.fields.TwentyId === id);

beforeAll(async () => {
  env = await createAttachedSetup({ site: SITE, entities: [Raced] });
  ({ dataSource, sync } = await env.attach({ graph: { fetch: gatedFetch } }));
  await sync.pull(Raced);
});
afterAll(async () => {
  await env?.close();
});

describe('a record deleted while a pull reads it', () => {
  it('a page read before the delete reached SharePoint, stored after it was settled, does not bring the record back', async () => {
    const repo = dataSource.getRepository(Raced);
    const [doomed, kept] = await repo.save([{ name: 'doomed' }, { name: 'kept' }]);
    await sync.flush();
    await sync.pull(Raced);
    await repo.delete(doomed!.id);
    expect((await sync.pending()).total).toBe(1);

    // The next pull reads the whole list again (its token expired) and its answer waits at the gate…
    env.emulator.expireDeltaTokens(list().id);
    let held!: () => void;
    const isHeld = new Promise<void>((r) => (held = r));
    let release!: () => void;
    gate = { item: doomed!.id, held, release: new Promise<void>((r) => (release = r)) };
    const pull = sync.pull(Raced);
    await isHeld;
    // …while the worker sends the delete and settles it: no outbox row, no sync state left.
    await sync.flush();
    expect(itemOf(doomed!.id)).toBeUndefined();
    expect((await sync.pending()).total).toBe(0);
    release();
    const [result] = await pull;
    expect(result!.mode).toBe('full');

    // The stale page did not bring the record back.
    expect(await repo.findOneBy({ id: doomed!.id })).toBeNull();
    expect(await repo.findOneBy({ id: kept!.id })).not.toBeNull();
    // So an update of it affects nothing, and nothing is queued or overruled later.
    expect((await repo.update(doomed!.id, { name: 'too late' })).affected).toBe(0);
    const [after] = await sync.pull(Raced);
    expect(after).toMatchObject({ mode: 'delta', loaded: 0 });
    expect((await sync.pending()).total).toBe(0);
    expect(await sync.conflicts.list()).toEqual([]);
    expect((await sync.verify(Raced)).ok).toBe(true);
  });
});
