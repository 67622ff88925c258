import { Column, DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Logger, SharePointList, SharePointSync } from '../../src/index.js';
import { type Emulator, type EmulatorList } from '../../src/testing/index.js';
import { createWebhookSetup, type WebhookSetup } from '../support/attached.js';
import { waitFor } from '../support/wait.js';

// Live subscriptions pull in the background at every change in SharePoint, so they get a file of their own:
// in inbound.test.ts they would change the state other tests assert on, in whatever order those run.

@SharePointList({ title: 'Hooked', priority: 'P1' })
@Entity('hooked')
class Hooked {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 50 }) name!: string;
  @Column({ type: 'integer', nullable: true }) size?: number | null;
}

@SharePointList({ title: 'Hooked Too', priority: 'P1' })
@Entity('hooked_too')
class HookedToo {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 50 }) name!: string;
}

const SITE = 'contoso.sharepoint.com:/sites/hooks';
let emulator: Emulator;
let dataSource: DataSource;
let sync: SharePointSync;
const warnings: string[] = [];
let hooks: WebhookSetup;
let receiverUrl: string;

const logger: Logger = { debug() {}, info() {}, warn: (m) => void warnings.push(m), error() {} };
const list = (): EmulatorList => emulator.site(SITE).list('Hooked')!;

beforeAll(async () => {
  hooks = await createWebhookSetup({ site: SITE, entities: [Hooked, HookedToo], logger });
  ({ dataSource, sync, receiverUrl } = hooks);
  emulator = hooks.env.emulator;
});

afterAll(async () => {
  await hooks?.close();
});

it('subscribes every list (expiration capped with a warning) and a change arrives by notification, without polling', async () => {
  const subscriptions = await sync.webhooks.ensureSubscriptions();
  expect(subscriptions).toHaveLength(2);
  expect(warnings.some((w) => /expiration capped/.test(w))).toBe(true);
  const snapshot = emulator.subscriptions();
  expect(
    snapshot.every((s) => s.notificationUrl === receiverUrl && s.clientState === 'the-shared-secret'),
  ).toBe(true);
  const maxMs = 42_300 * 60_000;
  expect(snapshot.every((s) => Date.parse(s.expirationDateTime) - Date.now() <= maxMs)).toBe(true);

  const repo = dataSource.getRepository(Hooked);
  const e = await repo.save({ name: 'hooked', size: 1 });
  await sync.flush();
  const item = list()
    .items()
    .find((i) => i.fields.TwentyId === e.id)!;
  list().updateItem(item.id, { Size: 77 });
  const typed = '0f0e0d0c-0b0a-4909-8807-060504030201';
  list().createItem({ Title: 'typed', TwentyId: typed, Name: 'typed', Size: 5 });
  // Polling is off and nothing else pulls: only the notification can bring these. The deadline is
  // generous for a loaded machine (it normally takes milliseconds).
  await waitFor(
    async () =>
      (await repo.findOneByOrFail({ id: e.id })).size === 77 &&
      (await repo.findOneBy({ id: typed }))?.size === 5,
    { timeoutMs: 30_000, message: 'the webhook-driven pull' },
  );
  expect(emulator.subscriptions().some((s) => s.notificationsDelivered >= 1)).toBe(true);
});

it('an item a person creates in SharePoint without a TwentyId gets one on both sides by the notification’s pull', async () => {
  await sync.webhooks.ensureSubscriptions();
  const repo = dataSource.getRepository(Hooked);
  // SharePoint's own form (or Power Automate): no TwentyId, the column is not required.
  const created = list().createItem({ Title: 'formed', Name: 'formed', Size: 9 });
  expect(created.fields.TwentyId).toBeUndefined();
  // Polling is off: only the notification can bring it.
  await waitFor(async () => (await repo.findOneBy({ name: 'formed' })) !== null, {
    timeoutMs: 30_000,
    message: 'the webhook-driven pull of the new item',
  });
  const row = await repo.findOneByOrFail({ name: 'formed' });
  expect(row.size).toBe(9);
  expect(list().item(created.id)!.fields.TwentyId).toBe(row.id);
  expect(await repo.countBy({ name: 'formed' })).toBe(1);
  expect(
    list()
      .items()
      .filter((i) => i.fields.Name === 'formed'),
  ).toHaveLength(1);
});
