import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CredentialStore, defaultCredentialFiles, type HelperRunner } from '../../../src/remote/index.js';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-creds-'));
  try {
    await fn(dir);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

test('default files: WHARF_CONFIG and DOCKER_CONFIG, else the home directory', () => {
  assert.deepEqual(defaultCredentialFiles({ WHARF_CONFIG: '/w', DOCKER_CONFIG: '/d' }, '/home/u'), {
    wharfConfig: '/w/config.json',
    dockerConfig: '/d/config.json',
  });
  assert.deepEqual(defaultCredentialFiles({}, '/home/u'), {
    wharfConfig: '/home/u/.wharf/config.json',
    dockerConfig: '/home/u/.docker/config.json',
  });
});

test('auths entries: base64 user:password (any key form), identity tokens; Wharf first, then Docker', async () => {
  await withDir(async (dir) => {
    const wharf = path.join(dir, 'w.json');
    const docker = path.join(dir, 'd.json');
    await fsp.writeFile(
      docker,
      JSON.stringify({
        auths: {
          'https://index.docker.io/v1/': { auth: b64('hub:pw:with:colons') },
          'http://reg.lan:5000': { auth: b64('d:dpw') },
          'tok.example': { identitytoken: 'refresh-me' },
        },
      }),
    );
    await fsp.writeFile(wharf, JSON.stringify({ auths: { 'reg.lan:5000': { auth: b64('w:wpw') } } }));
    const store = new CredentialStore({ wharfConfig: wharf, dockerConfig: docker });
    assert.deepEqual(await store.get('docker.io'), { username: 'hub', password: 'pw:with:colons' });
    assert.deepEqual(await store.get('reg.lan:5000'), { username: 'w', password: 'wpw' });
    assert.deepEqual(await store.get('tok.example'), { identityToken: 'refresh-me' });
    assert.equal(await store.get('nobody.example'), undefined);
  });
});

test("store writes Wharf's file 0600 and keeps other settings; erase removes the entry", async () => {
  await withDir(async (dir) => {
    const wharf = path.join(dir, 'sub', 'config.json');
    const store = new CredentialStore({ wharfConfig: wharf });
    await store.store('docker.io', { username: 'u', password: 'p' });
    await store.store('localhost:5000', { username: 'a', password: 'b' });
    assert.equal((await fsp.stat(wharf)).mode & 0o777, 0o600);
    const cfg = JSON.parse(await fsp.readFile(wharf, 'utf8')) as { auths: Record<string, { auth: string }> };
    assert.deepEqual(Object.keys(cfg.auths).sort(), ['https://index.docker.io/v1/', 'localhost:5000']);
    assert.equal(Buffer.from(cfg.auths['localhost:5000']!.auth, 'base64').toString(), 'a:b');
    assert.equal(await store.erase('localhost:5000'), true);
    assert.equal(await store.erase('localhost:5000'), false);
    assert.equal(await store.get('localhost:5000'), undefined);
    assert.deepEqual(await store.get('docker.io'), { username: 'u', password: 'p' });
  });
});

test('credential helpers: credHelpers per registry, credsStore for the rest, "<token>" is an identity token', async () => {
  await withDir(async (dir) => {
    const docker = path.join(dir, 'd.json');
    await fsp.writeFile(docker, JSON.stringify({ credsStore: 'desktop', credHelpers: { 'gcr.io': 'gcloud' } }));
    const calls: string[] = [];
    const runner: HelperRunner = async (helper, action, input) => {
      calls.push(`${helper} ${action} ${input}`);
      if (helper === 'gcloud')
        return { code: 0, stdout: JSON.stringify({ ServerURL: input, Username: '_token', Secret: 'g' }), stderr: '' };
      if (input === 'https://index.docker.io/v1/')
        return { code: 0, stdout: JSON.stringify({ Username: '<token>', Secret: 'idt' }), stderr: '' };
      return { code: 1, stdout: 'credentials not found in native keychain', stderr: '' };
    };
    const store = new CredentialStore(
      { wharfConfig: path.join(dir, 'none.json'), dockerConfig: docker },
      { runHelper: runner },
    );
    assert.deepEqual(await store.get('gcr.io'), { username: '_token', password: 'g' });
    assert.deepEqual(await store.get('docker.io'), { identityToken: 'idt' });
    assert.equal(await store.get('quay.io'), undefined);
    assert.deepEqual(calls, [
      'gcloud get gcr.io',
      'desktop get https://index.docker.io/v1/',
      'desktop get quay.io',
      'desktop get https://quay.io',
    ]);
  });
});

test('a broken config file is a clear error', async () => {
  await withDir(async (dir) => {
    const wharf = path.join(dir, 'config.json');
    await fsp.writeFile(wharf, '{ not json');
    await assert.rejects(new CredentialStore({ wharfConfig: wharf }).get('x.io'), {
      code: 'INVALID_ARGUMENT',
      message: new RegExp(`^${wharf} is not valid JSON`),
    });
  });
});
