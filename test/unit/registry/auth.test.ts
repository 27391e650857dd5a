import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { htpasswdLine } from '../../../src/registry/index.js';
import { globToRegExp } from '../../../src/registry/server/access.js';
import { pushImage, startTestRegistry, type TestRegistry } from '../../integration/registry/helpers.js';

const basic = (u: string, p: string) => ({ Authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });

async function setup(dir: string, extra: Record<string, unknown>): Promise<TestRegistry> {
  const ht = path.join(dir, 'htpasswd');
  await fsp.writeFile(ht, `${htpasswdLine('alice', 'alice-pw', 4)}\n${htpasswdLine('bob', 'bob-pw', 4)}\n`);
  return startTestRegistry(
    {
      auth: { htpasswd: { realm: 'test-realm', path: ht }, ...extra },
      access: {
        groups: { readers: ['bob'] },
        admins: ['alice'],
        rules: [
          { users: ['alice'], repositories: ['**'], actions: ['pull', 'push', 'delete'] },
          { users: ['group:readers'], repositories: ['team/*'], actions: ['pull'] },
          { users: ['anonymous'], repositories: ['public/**'], actions: ['pull'] },
        ],
      },
    },
    dir,
  );
}

describe('registry auth', () => {
  it('matches repository globs: * within a component, ** across', () => {
    assert.ok(globToRegExp('team/*').test('team/app'));
    assert.ok(!globToRegExp('team/*').test('team/a/b'));
    assert.ok(globToRegExp('team/**').test('team/a/b'));
    assert.ok(!globToRegExp('team.x').test('teamyx'));
  });

  describe('htpasswd Basic with per-repository rules', () => {
    let dir: string;
    let r: TestRegistry;
    before(async () => {
      dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-regauth-'));
      r = await setup(dir, {});
      await pushImage(r.url, 'team/app', 'v1', { headers: basic('alice', 'alice-pw') });
      await pushImage(r.url, 'public/base', 'v1', { headers: basic('alice', 'alice-pw') });
    });
    after(async () => {
      await r.stop();
      await fsp.rm(dir, { recursive: true, force: true });
    });

    it('challenges on /v2/ and checks the password', async () => {
      let res = await fetch(`${r.url}/v2/`);
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('www-authenticate'), 'Basic realm="test-realm"');
      assert.equal(((await res.json()) as { errors: Array<{ code: string }> }).errors[0]!.code, 'UNAUTHORIZED');
      res = await fetch(`${r.url}/v2/`, { headers: basic('alice', 'wrong') });
      assert.equal(res.status, 401);
      res = await fetch(`${r.url}/v2/`, { headers: basic('nobody', 'x') });
      assert.equal(res.status, 401);
      res = await fetch(`${r.url}/v2/`, { headers: basic('bob', 'bob-pw') });
      assert.equal(res.status, 200);
    });

    it('applies user and group rules: pull yes, push denied', async () => {
      let res = await fetch(`${r.url}/v2/team/app/manifests/v1`, { headers: basic('bob', 'bob-pw') });
      assert.equal(res.status, 200);
      res = await fetch(`${r.url}/v2/team/app/blobs/uploads/`, { method: 'POST', headers: basic('bob', 'bob-pw') });
      assert.equal(res.status, 403);
      assert.equal(((await res.json()) as { errors: Array<{ code: string }> }).errors[0]!.code, 'DENIED');
      res = await fetch(`${r.url}/v2/other/app/tags/list`, { headers: basic('bob', 'bob-pw') });
      assert.equal(res.status, 403);
      res = await fetch(`${r.url}/v2/team/app/manifests/v1`, { method: 'DELETE', headers: basic('bob', 'bob-pw') });
      assert.equal(res.status, 403);
    });

    it('allows anonymous pull only where a rule says so', async () => {
      let res = await fetch(`${r.url}/v2/public/base/manifests/v1`);
      assert.equal(res.status, 200);
      res = await fetch(`${r.url}/v2/team/app/manifests/v1`);
      assert.equal(res.status, 401);
      res = await fetch(`${r.url}/v2/public/base/blobs/uploads/`, { method: 'POST' });
      assert.equal(res.status, 401);
    });

    it('filters the catalog by pull rights and keeps admin routes for admins', async () => {
      let res = await fetch(`${r.url}/v2/_catalog`, { headers: basic('bob', 'bob-pw') });
      assert.deepEqual(await res.json(), { repositories: ['public/base', 'team/app'] });
      res = await fetch(`${r.url}/v2/_catalog`);
      assert.deepEqual(await res.json(), { repositories: ['public/base'] });
      res = await fetch(`${r.url}/wharf/v1/gc?dry-run=1`, { method: 'POST', headers: basic('bob', 'bob-pw') });
      assert.equal(res.status, 403);
      res = await fetch(`${r.url}/wharf/v1/gc?dry-run=1`, { method: 'POST', headers: basic('alice', 'alice-pw') });
      assert.equal(res.status, 200);
    });
  });

  describe('built-in Bearer token service', () => {
    let dir: string;
    let r: TestRegistry;
    before(async () => {
      dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-regtoken-'));
      await fsp.writeFile(path.join(dir, 'token.key'), 'a-long-enough-hmac-secret-for-tests');
      r = await setup(dir, { token: { service: 'test-svc', issuer: 'test-iss', key: path.join(dir, 'token.key') } });
    });
    after(async () => {
      await r.stop();
      await fsp.rm(dir, { recursive: true, force: true });
    });

    const tokenFor = async (scope: string, headers: Record<string, string> = {}) => {
      const res = await fetch(`${r.url}/token?service=test-svc&scope=${encodeURIComponent(scope)}`, { headers });
      assert.equal(res.status, 200);
      const body = (await res.json()) as { token: string; access_token: string; expires_in: number };
      assert.equal(body.token, body.access_token);
      assert.ok(body.expires_in > 0);
      return { Authorization: `Bearer ${body.token}` };
    };

    it('challenges with realm, service and scope, as Docker Hub does', async () => {
      let res = await fetch(`${r.url}/v2/`);
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('www-authenticate'), `Bearer realm="${r.url}/token",service="test-svc"`);
      res = await fetch(`${r.url}/v2/team/app/tags/list`);
      assert.equal(
        res.headers.get('www-authenticate'),
        `Bearer realm="${r.url}/token",service="test-svc",scope="repository:team/app:pull"`,
      );
      res = await fetch(`${r.url}/token?service=test-svc&scope=repository:team/app:pull`, {
        headers: basic('alice', 'bad'),
      });
      assert.equal(res.status, 401);
    });

    it('grants only what the rules allow, and the token is checked on every request', async () => {
      const alice = await tokenFor('repository:team/app:pull,push', basic('alice', 'alice-pw'));
      await pushImage(r.url, 'team/app', 'v1', { headers: alice });
      let res = await fetch(`${r.url}/v2/`, { headers: alice });
      assert.equal(res.status, 200);
      const bob = await tokenFor('repository:team/app:pull,push', basic('bob', 'bob-pw'));
      res = await fetch(`${r.url}/v2/team/app/manifests/v1`, { headers: bob });
      assert.equal(res.status, 200);
      res = await fetch(`${r.url}/v2/team/app/blobs/uploads/`, { method: 'POST', headers: bob });
      assert.equal(res.status, 401);
      assert.match(res.headers.get('www-authenticate')!, /error="insufficient_scope"/);
      res = await fetch(`${r.url}/v2/team/other/manifests/v1`, { headers: alice });
      assert.equal(res.status, 401, 'a token is for the repositories it names');
      res = await fetch(`${r.url}/v2/team/app/manifests/v1`, { headers: { Authorization: `${alice.Authorization}x` } });
      assert.equal(res.status, 401, 'a tampered token is refused');
    });

    it('gives anonymous clients tokens for public repositories only', async () => {
      const alice = await tokenFor('repository:public/base:pull,push', basic('alice', 'alice-pw'));
      await pushImage(r.url, 'public/base', 'v1', { headers: alice });
      const anon = await tokenFor('repository:public/base:pull');
      let res = await fetch(`${r.url}/v2/public/base/manifests/v1`, { headers: anon });
      assert.equal(res.status, 200);
      const anonTeam = await tokenFor('repository:team/app:pull');
      res = await fetch(`${r.url}/v2/team/app/manifests/v1`, { headers: anonTeam });
      assert.equal(res.status, 401);
    });

    it('lists the catalog with a registry:catalog:* token, filtered by the rules', async () => {
      let res = await fetch(`${r.url}/v2/_catalog`);
      assert.deepEqual(
        await res.json(),
        { repositories: ['public/base'] },
        'anonymous clients see what anonymous may pull',
      );
      const bob = await tokenFor('registry:catalog:*', basic('bob', 'bob-pw'));
      res = await fetch(`${r.url}/v2/_catalog`, { headers: bob });
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { repositories: ['public/base', 'team/app'] });
      const noScope = await tokenFor('repository:team/app:pull', basic('bob', 'bob-pw'));
      res = await fetch(`${r.url}/v2/_catalog`, { headers: noScope });
      assert.equal(res.status, 401, 'a token without the catalog scope');
      assert.match(res.headers.get('www-authenticate')!, /scope="registry:catalog:\*",error="insufficient_scope"/);
    });

    it('supports the OAuth2 password grant (POST)', async () => {
      const res = await fetch(`${r.url}/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'password',
          username: 'alice',
          password: 'alice-pw',
          service: 'test-svc',
          scope: 'repository:team/app:pull',
          client_id: 'docker',
        }),
      });
      assert.equal(res.status, 200);
      const t = (await res.json()) as { token: string };
      assert.equal(
        (await fetch(`${r.url}/v2/team/app/tags/list`, { headers: { Authorization: `Bearer ${t.token}` } })).status,
        200,
      );
    });
  });
});
