/**
 * Against Wharf's own registry server: Bearer token auth (the built-in token service) for push and pull, and the
 * v1 search API behind `wharf search`. Skipped only if that server cannot start in this tree.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tempRoot, ok } from '../../helpers/cli.js';
import { makeBusyboxTar } from '../../helpers/busybox.js';
import { Wharf } from '../../../src/engine/index.js';
import { RegistryClient } from '../../../src/remote/index.js';
import { is } from '../../../src/errors/index.js';

type Started = { url: string; host: string; port: number; stop(): Promise<void> };
let reg: Started | undefined;
/** host:port, as a reference domain. */
let addr = '';
let skipReason: string | undefined;
let work: string;
let env: NodeJS.ProcessEnv;

before(async () => {
  work = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-ownreg-'));
  env = { WHARF_CONFIG: path.join(work, 'wharf-config'), DOCKER_CONFIG: path.join(work, 'docker-config') };
  try {
    const { startTestRegistry } = await import('../registry/helpers.js');
    const { htpasswdLine } = await import('../../../src/registry/index.js');
    const ht = path.join(work, 'htpasswd');
    await fsp.writeFile(ht, htpasswdLine('bob', 'hunter2', 4) + '\n');
    reg = await startTestRegistry({
      auth: { htpasswd: { path: ht, realm: 'wharf-test' }, token: { service: 'wharf-test' } },
      access: {
        rules: [
          { users: ['bob'], actions: ['pull', 'push'] },
          { users: ['anonymous'], actions: ['pull'], repositories: ['public/**'] },
        ],
      },
    });
    addr = `${reg.host}:${reg.port}`;
  } catch (err) {
    skipReason = `Wharf's registry server did not start: ${(err as Error).message}`;
  }
});

after(async () => {
  await reg?.stop();
  if (work) await fsp.rm(work, { recursive: true, force: true });
});

const bob = { get: async () => ({ username: 'bob', password: 'hunter2' }) };

test('Bearer tokens: push with credentials, anonymous pull of a public repository, anonymous push refused', async (t) => {
  if (!reg) return t.skip(skipReason);
  const src = await Wharf.open({ root: path.join(work, 'src') });
  const dst = await Wharf.open({ root: path.join(work, 'dst') });
  try {
    await src.images.archives.import(await makeBusyboxTar(work), { reference: `${addr}/public/bb:1` });
    await assert.rejects(
      src.registries.push(`${addr}/public/bb:1`),
      (err) => is(err, 'UNAUTHORIZED') || is(err, 'DENIED'),
    );
    const [pushed] = await src.registries.push(`${addr}/public/bb:1`, { remote: { credentials: bob } });
    const [pulled] = await dst.registries.pull(`${addr}/public/bb:1`);
    assert.equal(pulled!.digest, pushed!.digest);
    assert.equal(pulled!.imageId, src.images.resolve(`${addr}/public/bb:1`).id);

    const client = RegistryClient.forDomain(addr);
    try {
      assert.equal((await client.ping()).challenge?.scheme, 'bearer');
      await assert.rejects(
        client.manifests.get('private/none', 'latest'),
        (err) => is(err, 'UNAUTHORIZED') || is(err, 'DENIED') || is(err, 'NOT_FOUND'),
      );
    } finally {
      client.close();
    }
  } finally {
    src.close();
    dst.close();
  }
});

test('wharf search finds repositories of our registry', async (t) => {
  if (!reg) return t.skip(skipReason);
  const root = await tempRoot('wharf-search-');
  try {
    ok(await root.cli(['import', await makeBusyboxTar(work), `${addr}/public/findme:1`], { env }), 'import');
    const wrong = await root.cli(['login', '-u', 'bob', '--password-stdin', addr], { env, input: 'nope' });
    assert.equal(wrong.code, 1);
    assert.equal(
      wrong.stderr.trim(),
      `Error response from daemon: login to ${addr} failed: unauthorized: incorrect username or password`,
    );
    ok(await root.cli(['login', '-u', 'bob', '--password-stdin', addr], { env, input: 'hunter2' }), 'login');
    ok(await root.cli(['push', `${addr}/public/findme:1`], { env }), 'push');
    const r = ok(await root.cli(['search', `${addr}/findme`], { env }), 'search');
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^NAME\s+DESCRIPTION\s+STARS\s+OFFICIAL$/);
    assert.ok(
      lines.some((l) => /^public\/findme\s+0/.test(l)),
      r.stdout,
    );
    const f = ok(
      await root.cli(['search', '--format', '{{.Name}}', '--limit', '5', `${addr}/find`], { env }),
      'search --format',
    );
    assert.equal(f.stdout.trim(), 'public/findme');
  } finally {
    await root.cleanup();
  }
});
