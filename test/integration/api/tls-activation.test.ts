/**
 * How `wharf system service` listens besides a unix socket it makes: TCP with TLS and client certificates (the docker
 * CLI's `--tlsverify`), and a socket passed by systemd's socket activation (LISTEN_FDS/LISTEN_PID, fd 3), idle exit
 * included, so that the `.socket` unit of docs/engine-api.md brings the service back on the next connection.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { WHARF_BIN, tempRoot } from '../../helpers/cli.js';
import { runDocker } from '../../helpers/api-service.js';
import { caWithServerAndClient } from '../../helpers/tls.js';
import { freePort } from '../container/fixture.js';

let t: Awaited<ReturnType<typeof tempRoot>>;

before(async () => {
  t = await tempRoot('wharf-api-tls-');
});
after(async () => {
  await t.cleanup();
});

function dockerEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_CONFIG: path.join(t.root, 'docker-config') };
  delete env.DOCKER_HOST;
  delete env.DOCKER_TLS_VERIFY;
  delete env.DOCKER_CERT_PATH;
  return env;
}

test('tcp:// with --tlsverify: the docker CLI with a client certificate gets in, without one it does not', async () => {
  const c = caWithServerAndClient(t.root);
  const port = await freePort();
  const child = spawn(
    WHARF_BIN,
    [
      '--root',
      t.root,
      'system',
      'service',
      '--time',
      '0',
      '--tlsverify',
      '--tlscacert',
      c.ca,
      '--tlscert',
      c.serverCert,
      '--tlskey',
      c.serverKey,
      `tcp://127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise((r) => child.once('exit', r));
  try {
    const host = `tcp://127.0.0.1:${port}`;
    const tlsArgs = ['--tlsverify', '--tlscacert', c.ca, '--tlscert', c.clientCert, '--tlskey', c.clientKey];
    let v = await runDocker([...tlsArgs, '-H', host, 'version', '--format', '{{.Server.APIVersion}}'], dockerEnv());
    for (let i = 0; i < 100 && v.code !== 0; i++) {
      await sleep(100);
      v = await runDocker([...tlsArgs, '-H', host, 'version', '--format', '{{.Server.APIVersion}}'], dockerEnv());
    }
    assert.deepEqual([v.code, v.stdout], [0, '1.43\n'], `${v.stderr}${log}`);
    const ps = await runDocker([...tlsArgs, '-H', host, 'ps', '-a'], dockerEnv());
    assert.equal(ps.code, 0, ps.stderr);
    assert.match(ps.stdout, /^CONTAINER ID +IMAGE/);
    // No client certificate: the handshake is refused.
    const noCert = await runDocker(['--tlsverify', '--tlscacert', c.ca, '-H', host, 'ps'], dockerEnv());
    assert.equal(noCert.code, 1);
    assert.match(noCert.stderr, /certificate required|bad certificate|handshake/);
    // Plain HTTP on the TLS port: no answer the CLI accepts.
    const plain = await runDocker(['-H', host, 'ps'], dockerEnv());
    assert.equal(plain.code, 1);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
});

test('tcp:// without TLS is refused unless --insecure-tcp', async () => {
  const port = await freePort();
  const child = spawn(WHARF_BIN, ['--root', t.root, 'system', 'service', `tcp://127.0.0.1:${port}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const code = await new Promise((r) => child.once('exit', r));
  assert.notEqual(code, 0);
  assert.match(log, /refusing to serve the API on tcp:\/\/127\.0\.0\.1:\d+ without TLS: give --tlsverify/);
});

/**
 * What systemd does for a `.socket` unit: it binds and listens, then starts the service with the socket as fd 3 and
 * LISTEN_FDS=1, LISTEN_PID=<the service's pid> (python's execv keeps the pid, as systemd's fork+exec does).
 */
const ACTIVATE = `
import os, socket, sys
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(16)
os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
os.environ["LISTEN_FDS"] = "1"
os.environ["LISTEN_PID"] = str(os.getpid())
os.environ["LISTEN_FDNAMES"] = "wharf.socket"
os.execv(sys.argv[2], sys.argv[2:])
`;

test('socket activation: the service serves the socket systemd passed, exits when idle and leaves it in place', async () => {
  const sock = path.join(t.root, 'activated.sock');
  const child = spawn(
    '/usr/bin/python3',
    ['-c', ACTIVATE, sock, WHARF_BIN, '--root', t.root, 'system', 'service', '--time', '2'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  try {
    for (let i = 0; i < 100 && !existsSync(sock); i++) await sleep(50);
    // Connections queue on the passed socket while the service starts, as with systemd.
    const env = { ...dockerEnv(), DOCKER_HOST: `unix://${sock}` };
    const v = await runDocker(['version', '--format', '{{.Server.APIVersion}}'], env);
    assert.deepEqual([v.code, v.stdout], [0, '1.43\n'], `${v.stderr}${log}`);
    // `--time 2`: idle, it exits 0 on its own; the socket file is systemd's and stays.
    const code = await Promise.race([exited, sleep(30_000).then(() => 'timeout')]);
    assert.equal(code, 0, log);
    assert.ok(existsSync(sock), 'the passed socket file is not removed');
  } finally {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  }
});
