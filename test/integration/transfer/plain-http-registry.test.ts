/**
 * A registry that speaks plain HTTP but is not marked insecure: Docker (dockerd 20.10 + CLI 28) fails with Go's
 * `Get "https://HOST/v2/": http: server gave HTTP response to HTTPS client`; Wharf says the same, and how to mark
 * it insecure, instead of the TLS library's EPROTO. Loopback registries are insecure by default (as in Docker), so
 * the endpoint is given explicitly here; then the same registry marked insecure works.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { RegistryClient } from '../../../src/remote/index.js';

let server: http.Server;
let host: string;

before(async () => {
  server = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(req.url === '/v2/' ? '{}' : JSON.stringify({ name: 'x', tags: ['plain'] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
});

test("a plain-HTTP registry not marked insecure: Docker's message and how to mark it insecure, not EPROTO", async () => {
  const strict = new RegistryClient({ domain: host, apiHost: host, authKey: host, insecure: false }, { retries: 0 });
  await assert.rejects(strict.tags.list('x'), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'UNAVAILABLE');
    // One line (the CLI prints an error's first line): Docker's words, then how to mark the registry insecure.
    assert.ok(
      err.message.startsWith(`Get "https://${host}/v2/": http: server gave HTTP response to HTTPS client (`),
      err.message,
    );
    assert.ok(!err.message.includes('\n'));
    assert.match(err.message, new RegExp(`WHARF_INSECURE_REGISTRIES=${host.replace(/\./g, '\\.')}`));
    assert.doesNotMatch(err.message, /EPROTO|wrong version number/);
    return true;
  });
  const insecure = new RegistryClient({ domain: host, apiHost: host, authKey: host, insecure: true }, { retries: 0 });
  assert.deepEqual(await insecure.tags.list('x'), ['plain']);
});
