import { Column, type DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SharePointList, type SharePointSync } from '../../src/index.js';
import type { EmulatorList } from '../../src/testing/index.js';
import { type AttachedSetup, createAttachedSetup } from '../support/attached.js';

@SharePointList({ title: 'Resync' })
@Entity('resync_record')
class ResyncRecord {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 50 }) name!: string;
  @Column({ type: 'integer', nullable: true }) size?: number | null;
}

const SITE = 'contoso.sharepoint.com:/sites/resync';

/**
 * Graph answers an expired delta token with 410 and one of several codes (listitem-delta.md,
 * delta-query-overview.md "Synchronization reset"): the two documented `resyncChanges…` codes, and whatever a
 * later Graph adds. The emulator answers one of them; this fetch answers the others, in front of it.
 */
let goneWith: { code?: string } | undefined;
let goneAnswered = 0;
const fetchWithGone: typeof fetch = async (input, init) => {
  const url = new URL(String(input instanceof Request ? input.url : input));
  const storedToken = /\/items\/delta$/.test(url.pathname) && /token=(?!latest)/.test(url.search);
  if (goneWith && storedToken) {
    const { code } = goneWith;
    goneWith = undefined;
    goneAnswered++;
    const body =
      code === undefined
        ? ''
        : JSON.stringify({ error: { code, message: 'The delta token has expired. Resync.' } });
    return new Response(body, {
      status: 410,
      headers: {
        ...(code === undefined ? {} : { 'content-type': 'application/json' }),
        location: `${url.origin}${url.pathname}`,
      },
    });
  }
  return fetch(input, init);
};

let setup: AttachedSetup;
let dataSource: DataSource;
let sync: SharePointSync;
const list = (): EmulatorList => setup.emulator.site(SITE).list('Resync')!;
const itemOf = (id: string) =>
  list()
    .items()
    .find((i) => i.fields.TwentyId === id)!;

beforeAll(async () => {
  setup = await createAttachedSetup({ site: SITE, entities: [ResyncRecord] });
  ({ dataSource, sync } = await setup.attach({ graph: { fetch: fetchWithGone } }));
  await sync.pull(ResyncRecord); // the first load: every pull after it is a delta
});
afterAll(async () => {
  await setup?.close();
});

describe('an expired delta token, whatever the 410 says', () => {
  it.each([
    ['resyncChangesApplyDifferences', 'resyncChangesApplyDifferences'],
    ['resyncChangesUploadDifferences', 'resyncChangesUploadDifferences'],
    ['a code Graph may add later', 'aCodeGraphMayAddLater'],
    ['no body at all', undefined],
  ])(
    '410, %s: a full reload that takes SharePoint’s changes and keeps and sends the unsent local one',
    async (_, code) => {
      const repo = dataSource.getRepository(ResyncRecord);
      const [edited, local, deleted] = await repo.save([
        { name: `sp-${code}`, size: 1 },
        { name: `local-${code}`, size: 2 },
        { name: `gone-${code}`, size: 3 },
      ]);
      await sync.flush();
      expect((await sync.pull(ResyncRecord))[0]!.mode).toBe('delta');

      // SharePoint changes one item and deletes another; the application changes a third, not sent yet.
      list().updateItem(itemOf(edited!.id).id, { Size: 10 });
      list().deleteItem(itemOf(deleted!.id).id);
      await repo.update(local!.id, { size: 20 });
      expect((await sync.pending()).total).toBe(1);

      goneWith = code === undefined ? {} : { code };
      const answeredBefore = goneAnswered;
      const [result] = await sync.pull(ResyncRecord);
      expect(goneAnswered).toBe(answeredBefore + 1);
      expect(result!.mode).toBe('full');
      expect((await repo.findOneByOrFail({ id: edited!.id })).size).toBe(10);
      expect(await repo.findOneBy({ id: deleted!.id })).toBeNull();
      // The unsent change outlived the reload: still the application's value, still queued.
      expect((await repo.findOneByOrFail({ id: local!.id })).size).toBe(20);
      expect((await sync.pending()).total).toBe(1);
      expect(itemOf(local!.id).fields.Size).toBe(2);

      await sync.flush();
      expect(itemOf(local!.id).fields.Size).toBe(20);
      // The next pull is a delta again, from the new link, and changes nothing.
      const [after] = await sync.pull(ResyncRecord);
      expect(after).toMatchObject({ mode: 'delta', loaded: 0, deleted: 0 });
      const report = await sync.verify(ResyncRecord);
      expect(report.ok).toBe(true);
    },
  );
});
