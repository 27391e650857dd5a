import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadRegistryConfig, parseAddr, parseDuration, resolveRegistryConfig } from '../../../src/registry/index.js';
import { is } from '../../../src/errors/index.js';

describe('registry config', () => {
  it('has sane defaults with no file at all', async () => {
    const c = await loadRegistryConfig({ wharfRoot: '/var/lib/wharf', env: {} });
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.port, 5000);
    assert.equal(c.rootDirectory, '/var/lib/wharf/registry');
    assert.equal(c.deleteEnabled, true);
    assert.equal(c.readOnly, false);
    assert.equal(c.uploadPurgeAgeMs, 3_600_000);
    assert.equal(c.uploadPurgeIntervalMs, 3_600_000);
    assert.equal(c.htpasswd, undefined);
    assert.equal(c.tls, undefined);
    assert.equal(c.accessLog, true);
    assert.equal(c.workers, 1);
    assert.equal(c.sendfile, true);
  });

  it('turns sendfile off with http.sendfile or REGISTRY_HTTP_SENDFILE', async () => {
    assert.equal(
      resolveRegistryConfig({ http: { sendfile: false } }, { wharfRoot: '/x', baseDir: '/x' }).sendfile,
      false,
    );
    assert.equal(
      (await loadRegistryConfig({ wharfRoot: '/x', env: { REGISTRY_HTTP_SENDFILE: 'false' } })).sendfile,
      false,
    );
    assert.throws(
      () => resolveRegistryConfig({ http: { sendfile: 'sometimes' } }, { wharfRoot: '/x', baseDir: '/x' }),
      (e: unknown) => is(e, 'INVALID_ARGUMENT'),
    );
  });

  it('reads distribution keys from YAML, relative paths from the file, env and --addr on top', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-regcfg-'));
    try {
      const file = path.join(dir, 'config.yml');
      await fsp.writeFile(
        file,
        [
          'version: 0.1',
          'storage:',
          '  filesystem:',
          '    rootdirectory: data',
          '  delete:',
          '    enabled: false',
          '  maintenance:',
          '    uploadpurging:',
          '      age: 2h',
          '      interval: 10m',
          'http:',
          '  addr: 0.0.0.0:5001',
          '  tls:',
          '    certificate: cert.pem',
          '    key: key.pem',
          'auth:',
          '  htpasswd:',
          '    realm: my realm',
          '    path: /etc/htpasswd',
          'access:',
          '  groups:',
          '    devs: [alice]',
          '  rules:',
          '    - users: ["group:devs"]',
          '      repositories: ["team/**"]',
          '      actions: [pull, push]',
        ].join('\n'),
      );
      const c = await loadRegistryConfig({
        wharfRoot: '/x',
        configFile: file,
        env: { REGISTRY_STORAGE_DELETE_ENABLED: 'true', REGISTRY_HTTP_ADDR: '127.0.0.1:6000' },
      });
      assert.equal(c.rootDirectory, path.join(dir, 'data'));
      assert.equal(c.deleteEnabled, true, 'the environment overrides the file');
      assert.equal(c.port, 6000);
      assert.equal(c.uploadPurgeAgeMs, 2 * 3_600_000);
      assert.equal(c.uploadPurgeIntervalMs, 600_000);
      assert.deepEqual(c.tls, { certificate: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') });
      assert.deepEqual(c.htpasswd, { realm: 'my realm', path: '/etc/htpasswd' });
      assert.deepEqual(c.access.rules, [
        { users: ['group:devs'], repositories: ['team/**'], actions: ['pull', 'push'] },
      ]);
      const withAddr = await loadRegistryConfig({ wharfRoot: '/x', configFile: file, env: {}, addr: '[::1]:7000' });
      assert.equal(withAddr.host, '::1');
      assert.equal(withAddr.port, 7000);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses bad values with one readable line', async () => {
    const ctx = { wharfRoot: '/x', baseDir: '/x' };
    assert.throws(
      () => resolveRegistryConfig({ http: { addr: 'nope' } }, ctx),
      (e) => is(e, 'INVALID_ARGUMENT') && /http.addr/.test(e.message),
    );
    assert.throws(
      () => resolveRegistryConfig({ version: '2' }, ctx),
      (e) => is(e, 'INVALID_ARGUMENT'),
    );
    assert.throws(
      () => resolveRegistryConfig({ http: { tls: { certificate: 'a' } } }, ctx),
      (e) => is(e, 'INVALID_ARGUMENT'),
    );
    assert.throws(
      () => resolveRegistryConfig({ access: { rules: [{ users: ['a'], actions: ['fly'] }] } }, ctx),
      (e) => is(e, 'INVALID_ARGUMENT'),
    );
    assert.throws(
      () => resolveRegistryConfig({ auth: { token: { service: 'x' } } }, ctx),
      (e) => is(e, 'INVALID_ARGUMENT'),
    );
    assert.throws(
      () => resolveRegistryConfig({ http: { workers: 0 } }, ctx),
      (e) => is(e, 'INVALID_ARGUMENT'),
    );
    assert.throws(
      () =>
        resolveRegistryConfig(
          { http: { workers: 2 }, auth: { htpasswd: { path: 'h' }, token: { service: 's' } } },
          ctx,
        ),
      (e) => is(e, 'INVALID_ARGUMENT') && /auth.token.key/.test(e.message),
    );
    assert.equal(resolveRegistryConfig({ http: { workers: 'auto' } }, ctx).workers >= 1, true);
    await assert.rejects(loadRegistryConfig({ wharfRoot: '/x', configFile: '/does/not/exist.yml', env: {} }), (e) =>
      is(e, 'NOT_FOUND'),
    );
  });

  it('parses Go-style durations and addresses', () => {
    assert.equal(parseDuration('168h', 'x'), 168 * 3_600_000);
    assert.equal(parseDuration('1h30m', 'x'), 5_400_000);
    assert.equal(parseDuration('250ms', 'x'), 250);
    assert.equal(parseDuration(30, 'x'), 30_000);
    assert.equal(parseDuration('30', 'x'), 30_000);
    assert.equal(parseDuration('7d', 'x'), 7 * 86_400_000);
    assert.equal(parseDuration('1.5h', 'x'), 5_400_000);
    assert.throws(
      () => parseDuration('-1s', 'x'),
      (e) => is(e, 'INVALID_ARGUMENT'),
    );
    assert.throws(
      () => parseDuration('5 m', 'x'),
      (e) => is(e, 'INVALID_ARGUMENT'),
    );
    assert.throws(
      () => parseDuration('soon', 'x'),
      (e) => is(e, 'INVALID_ARGUMENT'),
    );
    assert.deepEqual(parseAddr(':5000'), { host: '0.0.0.0', port: 5000 });
    assert.throws(
      () => parseAddr('a:99999'),
      (e) => is(e, 'INVALID_ARGUMENT'),
    );
  });
});
