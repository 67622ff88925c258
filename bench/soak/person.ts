// A simulated person editing the lists in SharePoint through plain Graph HTTP calls (fetch to the emulator, as
// any other Graph client would): renames items, adds items (without a TwentyId, as SharePoint's own forms do)
// and deletes items. Each edit is logged after the 2xx answer with the eTag and lastModifiedDateTime.
import { type HistoryEvent, seeded } from './history.js';

export interface PersonList {
  entity: string;
  listId: string;
  /** Internal names of the columns the person touches. */
  name: string;
  origin: string;
}

interface Known {
  itemId: string;
  origin: string;
}

export class SimulatedPerson {
  private seq = 0;
  private stopped = false;
  private readonly known = new Map<string, Known[]>();
  private readonly rng;
  edits = 0;
  failures = 0;

  constructor(
    private readonly graphUrl: string,
    private readonly siteId: string,
    private readonly lists: PersonList[],
    seed: number,
    private readonly log: (event: HistoryEvent) => void,
  ) {
    this.rng = seeded(seed);
  }

  private items(list: PersonList) {
    return `${this.graphUrl}/sites/${this.siteId}/lists/${list.listId}/items`;
  }

  /** What the person sees in the list (refreshed now and then, as a browser tab would be). */
  private async refresh(list: PersonList): Promise<void> {
    const found: Known[] = [];
    let url: string | undefined = `${this.items(list)}?$expand=fields&$top=1000`;
    while (url) {
      const response = await fetch(url);
      if (!response.ok) throw new Error(`listing ${list.entity}: ${response.status}`);
      const page = (await response.json()) as {
        value: { id: string; fields: Record<string, unknown> }[];
        '@odata.nextLink'?: string;
      };
      for (const item of page.value) {
        const origin = item.fields[list.origin];
        if (typeof origin === 'string') found.push({ itemId: item.id, origin });
      }
      url = page['@odata.nextLink'];
    }
    this.known.set(list.entity, found);
  }

  async run(paceMs: number): Promise<void> {
    let lastRefresh = 0;
    while (!this.stopped) {
      try {
        if (Date.now() - lastRefresh > 3000) {
          for (const list of this.lists) await this.refresh(list);
          lastRefresh = Date.now();
        }
        await this.act();
      } catch (error) {
        this.failures++;
        this.log({ k: 'error', t: Date.now(), detail: `person: ${String(error).slice(0, 200)}` });
      }
      await new Promise((r) => setTimeout(r, paceMs * this.rng.next() * 2));
    }
  }

  stop(): void {
    this.stopped = true;
  }

  private async act(): Promise<void> {
    const list = this.rng.pick(this.lists)!;
    const known = this.known.get(list.entity) ?? [];
    const roll = this.rng.next();
    const wid = `p.${++this.seq}`;
    const base = { side: 'person' as const, wid, entity: list.entity };
    const started = Date.now();
    if (roll < 0.25 || known.length === 0) {
      const fields = { Title: wid, [list.name]: wid, [list.origin]: wid };
      this.log({ ...base, k: 'intent', origin: wid, op: 'create', name: wid, t: started });
      const response = await fetch(this.items(list), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ fields }),
      });
      const body = (await response.json()) as { id?: string; eTag?: string; lastModifiedDateTime?: string };
      if (!response.ok) {
        this.failures++;
        this.log({
          ...base,
          k: 'fail',
          origin: wid,
          op: 'create',
          t: Date.now(),
          error: `${response.status} ${JSON.stringify(body).slice(0, 200)}`,
        });
        return;
      }
      this.edits++;
      known.push({ itemId: body.id!, origin: wid });
      this.log({
        ...base,
        k: 'ack',
        origin: wid,
        op: 'create',
        name: wid,
        t: Date.now(),
        affected: 1,
        itemId: body.id!,
        etag: body.eTag!,
        modified: body.lastModifiedDateTime!,
      });
      return;
    }
    const target = this.rng.pick(known)!;
    if (roll < 0.88) {
      this.log({
        ...base,
        k: 'intent',
        origin: target.origin,
        op: 'update',
        name: wid,
        t: started,
        itemId: target.itemId,
      });
      const response = await fetch(`${this.items(list)}/${target.itemId}/fields`, {
        method: 'PATCH',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ Title: wid, [list.name]: wid }),
      });
      const body = (await response.json()) as Record<string, unknown>;
      if (!response.ok) {
        // 404: deleted meanwhile (by the library or by this person): nothing was changed.
        this.log({
          ...base,
          k: response.status === 404 ? 'ack' : 'fail',
          origin: target.origin,
          op: 'update',
          name: wid,
          t: Date.now(),
          affected: 0,
          error: `${response.status} ${JSON.stringify(body).slice(0, 200)}`,
        });
        if (response.status !== 404) this.failures++;
        if (response.status === 404) known.splice(known.indexOf(target), 1);
        return;
      }
      this.edits++;
      this.log({
        ...base,
        k: 'ack',
        origin: target.origin,
        op: 'update',
        name: wid,
        t: Date.now(),
        affected: 1,
        itemId: target.itemId,
        etag: String(body['@odata.etag']),
        modified: String(body.Modified),
      });
      return;
    }
    this.log({
      ...base,
      k: 'intent',
      origin: target.origin,
      op: 'delete',
      t: started,
      itemId: target.itemId,
    });
    const response = await fetch(`${this.items(list)}/${target.itemId}`, { method: 'DELETE' });
    known.splice(known.indexOf(target), 1);
    this.log({
      ...base,
      k: response.ok || response.status === 404 ? 'ack' : 'fail',
      origin: target.origin,
      op: 'delete',
      t: Date.now(),
      affected: response.ok ? 1 : 0,
      itemId: target.itemId,
      error: response.ok ? undefined : String(response.status),
    });
  }
}
