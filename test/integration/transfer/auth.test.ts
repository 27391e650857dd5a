/** login/logout and authenticated push/pull against an htpasswd-protected reference registry (Basic auth). */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tempRoot, ok } from '../../helpers/cli.js';
import { makeBusyboxTar } from '../../helpers/busybox.js';
import { startReferenceRegistry, type ReferenceRegistry } from './helpers.js';

let reg: ReferenceRegistry;
let work: string;
let env: NodeJS.ProcessEnv;
let root: Awaited<ReturnType<typeof tempRoot>>;
let image: string;

before(async () => {
  reg = await startReferenceRegistry({ users: { alice: 's3cret' } });
  work = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-auth-'));
  env = { WHARF_CONFIG: path.join(work, 'wharf-config'), DOCKER_CONFIG: path.join(work, 'docker-config') };
  root = await tempRoot('wharf-auth-root-');
  image = `${reg.host}/private/bb:1`;
  ok(await root.cli(['import', await makeBusyboxTar(work), image], { env }), 'import');
});

after(async () => {
  await root?.cleanup();
  await reg?.stop();
  if (work) await fsp.rm(work, { recursive: true, force: true });
});

test('push without credentials says authentication is required', async () => {
  const r = await root.cli(['push', image], { env });
  assert.equal(r.code, 1);
  // The push stream's error, which the docker CLI prints bare.
  assert.match(r.stderr, /^[^E\n].*authentication required$/m);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
});

test('login with a wrong password fails clearly and saves nothing', async () => {
  const r = await root.cli(['login', '-u', 'alice', '--password-stdin', reg.host], { env, input: 'wrong\n' });
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr.trim(),
    `Error response from daemon: login to ${reg.host} failed: unauthorized: incorrect username or password`,
  );
  await assert.rejects(fsp.stat(path.join(env.WHARF_CONFIG!, 'config.json')), { code: 'ENOENT' });
});

test('login, push, pull elsewhere, logout', async () => {
  const r = ok(
    await root.cli(['login', '-u', 'alice', '--password-stdin', reg.host], { env, input: 's3cret\n' }),
    'login',
  );
  assert.match(r.stdout, /^Login Succeeded$/m);
  const file = path.join(env.WHARF_CONFIG!, 'config.json');
  assert.equal((await fsp.stat(file)).mode & 0o777, 0o600);
  const cfg = JSON.parse(await fsp.readFile(file, 'utf8')) as { auths: Record<string, { auth: string }> };
  assert.equal(Buffer.from(cfg.auths[reg.host]!.auth, 'base64').toString(), 'alice:s3cret');

  const again = ok(await root.cli(['login', reg.host], { env }), 'login with saved credentials');
  assert.match(again.stdout, /Login Succeeded/);

  const pushed = ok(await root.cli(['push', image], { env }), 'push');
  assert.match(pushed.stdout, /^1: digest: sha256:[a-f0-9]{64} size: \d+$/m);

  const other = await tempRoot('wharf-auth-pull-');
  try {
    ok(await other.cli(['pull', image], { env }), 'pull');
  } finally {
    await other.cleanup();
  }

  const out = ok(await root.cli(['logout', reg.host], { env }), 'logout');
  assert.equal(out.stdout.trim(), `Removing login credentials for ${reg.host}`);
  assert.equal(
    ok(await root.cli(['logout', reg.host], { env }), 'logout again').stdout.trim(),
    `Not logged in to ${reg.host}`,
  );
  const denied = await root.cli(['pull', image], { env });
  assert.equal(denied.code, 1);
  assert.match(denied.stderr, /authentication required/);
});

test('credentials of docker login (config.json auths, credential helpers) are used too', async () => {
  const dockerCfg = path.join(work, 'docker-config-2');
  await fsp.mkdir(dockerCfg, { recursive: true });
  await fsp.writeFile(
    path.join(dockerCfg, 'config.json'),
    JSON.stringify({ auths: { [`http://${reg.host}`]: { auth: Buffer.from('alice:s3cret').toString('base64') } } }),
  );
  ok(await root.cli(['push', image], { env: { ...env, DOCKER_CONFIG: dockerCfg } }), 'push with docker config');

  // A credential helper on PATH that knows alice, as `docker-credential-pass` and friends would.
  const bin = path.join(work, 'bin');
  await fsp.mkdir(bin, { recursive: true });
  const helper = path.join(bin, 'docker-credential-wharftest');
  await fsp.writeFile(
    helper,
    `#!/bin/sh\nread server\nif [ "$1" = get ] && [ "$server" = "${reg.host}" ]; then printf '{"ServerURL":"%s","Username":"alice","Secret":"s3cret"}' "$server"; exit 0; fi\necho "credentials not found in native keychain"; exit 1\n`,
    { mode: 0o755 },
  );
  const helperCfg = path.join(work, 'docker-config-3');
  await fsp.mkdir(helperCfg, { recursive: true });
  await fsp.writeFile(
    path.join(helperCfg, 'config.json'),
    JSON.stringify({ credHelpers: { [reg.host]: 'wharftest' } }),
  );
  const r = ok(
    await root.cli(['push', image], { env: { ...env, DOCKER_CONFIG: helperCfg, PATH: `${bin}:${process.env.PATH}` } }),
    'push with helper',
  );
  assert.match(r.stdout, /Layer already exists/);
});
