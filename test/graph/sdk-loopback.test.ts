import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Transport } from '../testing/support.js';
import { sdkBehaviours } from './sdk.js';

// The SDK (3.0.7) treats only `https://` links as absolute: over plain http it would append a nextLink to
// its base URL. Graph is https only, so the loopback emulator serves https here, with a self-signed
// test certificate for 127.0.0.1 (fixtures/loopback-tls.*.pem, not a secret) that only this client trusts.
const fixtures = path.join(import.meta.dirname, 'fixtures');
const tls = {
  key: readFileSync(path.join(fixtures, 'loopback-tls.key.pem')),
  cert: readFileSync(path.join(fixtures, 'loopback-tls.cert.pem')),
};

const loopbackTls: Transport = {
  name: 'loopback',
  async start(emulator) {
    const server = await emulator.listen({ tls });
    return { base: `${server.url}/v1.0`, stop: () => server.close() };
  },
};

/** An undici Agent (the one Node's fetch uses) trusting the test certificate: verification stays on. */
function trustingTestCertificate(): Record<string, unknown> {
  void globalThis.fetch; // loading Node's fetch installs its global dispatcher
  const key = Symbol.for('undici.globalDispatcher.1');
  const global = (globalThis as Record<symbol, { constructor: new (o: unknown) => unknown } | undefined>)[
    key
  ];
  if (!global) throw new Error("Node's fetch has no global dispatcher yet");
  return { dispatcher: new global.constructor({ connect: { ca: tls.cert } }) };
}

sdkBehaviours(loopbackTls, { fetchOptions: trustingTestCertificate });
