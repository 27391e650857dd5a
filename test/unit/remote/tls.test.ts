/** HTTPS: certificates are verified unless the registry is insecure or --tls-verify=false; insecure ones try TLS first. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { RegistryClient } from '../../../src/remote/index.js';

let dir: string;
let server: https.Server;
let host: string;

before(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-tls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      path.join(dir, 'key.pem'),
      '-out',
      path.join(dir, 'cert.pem'),
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { stdio: 'ignore' },
  );
  server = https.createServer(
    { key: await fsp.readFile(path.join(dir, 'key.pem')), cert: await fsp.readFile(path.join(dir, 'cert.pem')) },
    (req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(req.url === '/v2/' ? '{}' : JSON.stringify({ name: 'x', tags: ['secure'] }));
    },
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  if (dir) await fsp.rm(dir, { recursive: true, force: true });
});

test('a registry that is not insecure must present a trusted certificate', async () => {
  const strict = new RegistryClient({ domain: host, apiHost: host, authKey: host, insecure: false }, { retries: 0 });
  try {
    await assert.rejects(strict.tags.list('x'), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'UNAVAILABLE');
      assert.match(err.message, /^cannot reach registry 127\.0\.0\.1:\d+: .*(SELF_SIGNED|self-signed|certificate)/i);
      return true;
    });
  } finally {
    strict.close();
  }
  const unverified = new RegistryClient(
    { domain: host, apiHost: host, authKey: host, insecure: false },
    { tlsVerify: false },
  );
  try {
    assert.deepEqual(await unverified.tags.list('x'), ['secure']);
    assert.equal((await unverified.ping()).base.protocol, 'https:');
  } finally {
    unverified.close();
  }
});

test('an insecure (loopback) registry speaking TLS is reached over HTTPS without verification', async () => {
  const c = RegistryClient.forDomain(host);
  try {
    assert.equal(c.endpoint.insecure, true);
    assert.deepEqual(await c.tags.list('x'), ['secure']);
    assert.equal((await c.ping()).base.protocol, 'https:');
  } finally {
    c.close();
  }
});

test('caFile (the CLI passes WHARF_EXTRA_CA_CERTS, where bin/wharf moves NODE_EXTRA_CA_CERTS) makes a private CA trusted', async () => {
  const { extraCaOption } = await import('../../../src/remote/transport.js');
  assert.deepEqual(extraCaOption(undefined), {});
  assert.deepEqual(extraCaOption(path.join(dir, 'missing.pem')), {});
  const opt = extraCaOption(path.join(dir, 'cert.pem'));
  assert.ok(opt.ca && opt.ca.length > 1 && opt.ca.at(-1)!.includes('BEGIN CERTIFICATE'));
  const endpoint = { domain: host, apiHost: host, authKey: host, insecure: false };
  const untrusting = new RegistryClient(endpoint, { retries: 0 });
  try {
    await assert.rejects(untrusting.tags.list('x'));
  } finally {
    untrusting.close();
  }
  const strict = new RegistryClient(endpoint, { retries: 0, caFile: path.join(dir, 'cert.pem') });
  try {
    assert.deepEqual(await strict.tags.list('x'), ['secure']);
    assert.equal((await strict.ping()).base.protocol, 'https:');
  } finally {
    strict.close();
  }
});

test('bin/wharf moves NODE_EXTRA_CA_CERTS out of Node start-up into WHARF_EXTRA_CA_CERTS', async () => {
  const { WHARF_BIN } = await import('../../helpers/cli.js');
  // The wrapper's own logic, observed through a copy that runs `env` instead of node.
  const copy = path.join(dir, 'wharf-wrapper');
  await fsp.writeFile(copy, (await fsp.readFile(WHARF_BIN, 'utf8')).replace(/^exec node .*$/m, 'exec env'), {
    mode: 0o755,
  });
  const out = execFileSync(copy, [], {
    env: { PATH: process.env.PATH, NODE_EXTRA_CA_CERTS: '/x/ca.pem' },
    encoding: 'utf8',
  });
  assert.match(out, /^WHARF_EXTRA_CA_CERTS=\/x\/ca\.pem$/m);
  assert.doesNotMatch(out, /^NODE_EXTRA_CA_CERTS=/m);
});
