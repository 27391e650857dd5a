/**
 * `wharf system service` as a process: idle exit, clean shutdown on SIGTERM, TCP refused without TLS unless
 * --insecure-tcp, one service per socket, and the API's version negotiation and error shapes over the raw socket.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { WHARF_BIN, tempRoot } from '../../helpers/cli.js';

let t: Awaited<ReturnType<typeof tempRoot>>;

before(async () => {
  t = await tempRoot('wharf-api-svc-');
});
after(async () => {
  await t.cleanup();
});

function startService(args: string[]): { pid: number; exit: Promise<{ code: number | null; stderr: string }> } {
  const child = spawn(WHARF_BIN, ['--root', t.root, 'system', 'service', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exit = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.once('exit', (code) => resolve({ code, stderr })),
  );
  return { pid: child.pid!, exit };
}

async function waitForSocket(p: string): Promise<void> {
  for (let i = 0; i < 100 && !existsSync(p); i++) await sleep(50);
  assert.ok(existsSync(p), `no socket at ${p}`);
}

function request(
  socketPath: string,
  method: string,
  urlPath: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method, path: urlPath }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('the API over the raw socket: ping headers, versions, errors as {"message"}', async () => {
  const sock = path.join(t.root, 'raw.sock');
  const svc = startService(['--time', '0', `unix://${sock}`]);
  try {
    await waitForSocket(sock);
    const ping = await request(sock, 'HEAD', '/_ping');
    assert.equal(ping.status, 200);
    assert.equal(ping.headers['api-version'], '1.43');
    assert.equal(ping.headers.ostype, 'linux');
    assert.equal(ping.headers['docker-experimental'], 'false');
    assert.equal(ping.headers['cache-control'], 'no-cache, no-store, must-revalidate');
    assert.match(String(ping.headers.server), /^Wharf\//);
    assert.equal((await request(sock, 'GET', '/v1.24/_ping')).body, 'OK');
    const old = await request(sock, 'GET', '/v1.12/version');
    assert.equal(old.status, 400);
    assert.match(JSON.parse(old.body).message, /too old/);
    const missing = await request(sock, 'GET', '/v1.41/containers/nope/json');
    assert.equal(missing.status, 404);
    assert.equal(missing.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(missing.body), { message: 'No such container: nope' });
    assert.equal((await request(sock, 'GET', '/v1.41/nothing/here')).status, 404);
    assert.equal((await request(sock, 'PUT', '/v1.41/info')).status, 405);
    // A second service on a socket that answers is refused.
    const second = await startService(['--time', '0', `unix://${sock}`]).exit;
    assert.notEqual(second.code, 0);
    assert.match(second.stderr, /another service is listening/);
  } finally {
    process.kill(svc.pid, 'SIGTERM');
    assert.equal((await svc.exit).code, 0);
  }
  assert.equal(existsSync(sock), false, 'SIGTERM removes the socket');
});

test('--time N: the service exits after N idle seconds', async () => {
  const sock = path.join(t.root, 'idle.sock');
  const svc = startService(['--time', '1', `unix://${sock}`]);
  await waitForSocket(sock);
  assert.equal((await request(sock, 'GET', '/_ping')).status, 200);
  const r = await svc.exit;
  assert.equal(r.code, 0, r.stderr);
  assert.equal(existsSync(sock), false);
});

test('TCP without TLS is refused unless --insecure-tcp, which warns', async () => {
  const refused = await startService(['tcp://127.0.0.1:0']).exit;
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /without TLS/);
  const svc = startService(['--time', '1', '--insecure-tcp', 'tcp://127.0.0.1:0']);
  const r = await svc.exit;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /WARNING: serving the API on tcp:\/\/127\.0\.0\.1:0 without TLS/);
});
