import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Dispatcher } from '../http/dispatcher.js';
import type { EmulatorRequest, EmulatorResponse, ListeningServer } from '../types.js';

/** Real HTTP servers on loopback over one dispatcher; `close()` stops every one it started. */
export class LoopbackServers {
  private readonly servers = new Set<http.Server>();

  constructor(private readonly dispatcher: Dispatcher) {}

  async listen({
    port = 0,
    host = '127.0.0.1',
    tls,
  }: {
    port?: number;
    host?: string;
    tls?: { key: string | Buffer; cert: string | Buffer };
  } = {}): Promise<ListeningServer> {
    // Graph is https only: with `tls` the links it answers are https too (the official SDK follows no other).
    const scheme = tls ? 'https' : 'http';
    const server = (tls ? https.createServer.bind(null, tls) : http.createServer)((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
        const request: EmulatorRequest = {
          method: req.method ?? 'GET',
          url: `${scheme}://${req.headers.host ?? `${host}:${port}`}${req.url ?? '/'}`,
          headers,
          ...(chunks.length ? { body: Buffer.concat(chunks).toString('utf8') } : {}),
        };
        this.dispatcher.handle(request).then(
          (answer: EmulatorResponse) => {
            // drop and lostResponse: the client sees the socket close (ECONNRESET).
            if (answer.drop) {
              req.socket.destroy();
              return;
            }
            res.writeHead(answer.status, answer.headers);
            res.end(answer.body);
          },
          () => req.socket.destroy(),
        );
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    this.servers.add(server);
    const address = server.address() as AddressInfo;
    const shownHost = host.includes(':') ? `[${host}]` : host;
    return {
      url: `${scheme}://${shownHost}:${address.port}`,
      close: () => {
        this.servers.delete(server);
        return closeServer(server);
      },
    };
  }

  async close(): Promise<void> {
    const servers = [...this.servers];
    this.servers.clear();
    await Promise.all(servers.map(closeServer));
  }
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}
