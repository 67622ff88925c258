// The README's quick start against the emulator, ended the way a script ends: the DataSource destroyed and
// the emulator closed — without sync.close(). The process must exit by itself.
//   node --import tsx test/guarantee/child-exits.ts    (EXITS_CHILD: {"databaseUrl","mode"})
import 'reflect-metadata';
import { Column, DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { SharePointList, SharePointSync } from '../../src/index.js';
import { createEmulator } from '../../src/testing/index.js';

@SharePointList({ title: 'Exits', priority: 'P0' })
@Entity('exits')
class Exit {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 50 }) name!: string;
}

const config = JSON.parse(process.env.EXITS_CHILD ?? '{}') as {
  databaseUrl: string;
  /** `flushed`: everything sent before destroy; `unsent`: one change left in the outbox. */
  mode: 'flushed' | 'unsent';
};
const emulator = createEmulator({ sites: ['contoso.sharepoint.com:/sites/exits'] });
const { url } = await emulator.listen();
const dataSource = await new DataSource({
  type: 'postgres',
  url: config.databaseUrl,
  entities: [Exit],
  synchronize: true,
}).initialize();
const sync = await SharePointSync.attach(dataSource, {
  site: { hostname: 'contoso.sharepoint.com', path: '/sites/exits' },
  graph: { baseUrl: `${url}/v1.0` },
  logger: {
    debug() {},
    info() {},
    warn: (message) => process.stderr.write(`WARN ${message}\n`),
    error: (message) => process.stderr.write(`ERROR ${message}\n`),
  },
  ...(config.mode === 'unsent' ? { writeback: { enabled: true, runWorker: false } } : {}),
});
await sync.ensureLoaded(Exit);
await dataSource.getRepository(Exit).save({ name: 'Acme' });
if (config.mode === 'flushed') await sync.flush();
await dataSource.destroy();
await emulator.close();
process.stdout.write('ended\n');
