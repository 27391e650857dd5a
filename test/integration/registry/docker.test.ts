import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { run } from '../../../src/util/index.js';
import { htpasswdLine } from '../../../src/registry/index.js';
import { startTestRegistry, type TestRegistry } from './helpers.js';
import { writeOciLayout } from './oci-layout.js';

/** A private dockerd on a unix socket in a temp dir; undefined when none can run here. */
async function startDockerd(
  dir: string,
  registryHost: string,
): Promise<{ child: ChildProcess; sock: string } | undefined> {
  const sock = path.join(dir, 'd.sock');
  const child = spawn(
    'dockerd',
    [
      '--data-root',
      path.join(dir, 'data'),
      '--exec-root',
      path.join(dir, 'exec'),
      '-H',
      `unix://${sock}`,
      '--pidfile',
      path.join(dir, 'd.pid'),
      '--bridge=none',
      '--iptables=false',
      '--insecure-registry',
      registryHost,
    ],
    { stdio: 'ignore' },
  );
  child.on('error', () => undefined);
  for (let i = 0; i < 60; i++) {
    if (child.exitCode !== null) return undefined;
    const r = await run('docker', ['-H', `unix://${sock}`, 'version', '--format', '{{.Server.Version}}'], {
      check: false,
    }).catch(() => undefined);
    if (r?.code === 0) return { child, sock };
    await new Promise((res) => setTimeout(res, 500));
  }
  child.kill('SIGKILL');
  return undefined;
}

describe('registry with a real dockerd', () => {
  let tmp: string;
  let r: TestRegistry;
  let dockerd: { child: ChildProcess; sock: string } | undefined;
  let host: string;
  const docker = (args: string[], input?: string) =>
    run('docker', ['-H', `unix://${dockerd!.sock}`, ...args], {
      env: { ...process.env, DOCKER_CONFIG: path.join(tmp, 'docker-config') },
      signal: AbortSignal.timeout(120_000),
      ...(input !== undefined ? { input } : {}),
      check: false,
    });

  before(async () => {
    tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-reg-docker-'));
    const ht = path.join(tmp, 'htpasswd');
    await fsp.writeFile(ht, `${htpasswdLine('alice', 'alice-pw', 5)}\n`);
    r = await startTestRegistry(
      {
        auth: { htpasswd: { path: ht }, token: { service: 'wharf-docker-test' } },
        access: {
          rules: [
            { users: ['alice'], repositories: ['**'], actions: ['pull', 'push', 'delete'] },
            { users: ['anonymous'], repositories: ['public/**'], actions: ['pull'] },
          ],
        },
      },
      await fsp.mkdtemp(path.join(tmp, 'data-')),
    );
    host = r.url.replace('http://', '');
    dockerd = await startDockerd(path.join(tmp, 'dockerd'), host);
  });

  after(async () => {
    if (dockerd) {
      const exited = new Promise((res) => dockerd!.child.once('exit', res));
      dockerd.child.kill('SIGTERM');
      await Promise.race([exited, new Promise((res) => setTimeout(res, 20_000))]);
      if (dockerd.child.exitCode === null) dockerd.child.kill('SIGKILL');
    }
    await r.stop();
    await run('umount', ['-R', path.join(tmp, 'dockerd', 'data')], { check: false }).catch(() => undefined);
    await fsp.rm(tmp, { recursive: true, force: true });
  });

  it('logs in through the token service, pushes, pulls anonymously where allowed, and searches', async (t) => {
    if (!dockerd) {
      t.skip('dockerd cannot run here');
      return;
    }
    const layout = await writeOciLayout(path.join(tmp, 'layout'), 'v1', [
      { arch: 'amd64', layerSizes: [150_000, 40_000] },
    ]);
    const archive = path.join(tmp, 'img.tar');
    await run('skopeo', ['copy', `oci:${layout.dir}:v1`, `docker-archive:${archive}:${host}/public/app:v1`]);
    assert.equal((await docker(['load', '-i', archive])).code, 0);

    let res = await docker(['push', `${host}/public/app:v1`]);
    assert.notEqual(res.code, 0, 'anonymous push is refused');
    res = await docker(['login', '-u', 'alice', '--password-stdin', host], 'wrong');
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /unauthorized|incorrect/i);
    res = await docker(['login', '-u', 'alice', '--password-stdin', host], 'alice-pw');
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /Login Succeeded/);
    res = await docker(['push', `${host}/public/app:v1`]);
    assert.equal(res.code, 0, res.stderr);
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(res.stdout)?.[1];
    assert.ok(digest);
    assert.equal((await docker(['tag', `${host}/public/app:v1`, `${host}/private/app:v1`])).code, 0);
    res = await docker(['push', `${host}/private/app:v1`]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /Mounted from public\/app/, 'layers are mounted, not uploaded again');

    assert.equal((await docker(['logout', host])).code, 0);
    assert.equal((await docker(['rmi', `${host}/public/app:v1`, `${host}/private/app:v1`])).code, 0);
    res = await docker(['pull', `${host}/public/app:v1`]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, new RegExp(`Digest: ${digest}`));
    res = await docker(['pull', `${host}/private/app:v1`]);
    assert.notEqual(res.code, 0, 'anonymous pull of a private repository is refused');

    res = await docker(['search', `${host}/app`]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /public\/app/);
    assert.doesNotMatch(res.stdout, /private\/app/, 'search shows only what the client may pull');
  });
});
