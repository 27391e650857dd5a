import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { is } from '../../src/errors/index.js';
import { applyLayer } from '../../src/archive/index.js';
import { bufferStream, describeTree, makeTar, tempDir, type RawEntry } from './archive-fixtures.js';

/**
 * Each case applies a crafted layer into <dir>/root while <dir>/outside holds a file and a directory an attacker
 * would like to reach. Afterwards nothing outside the root may have changed.
 */
async function withSandbox(fn: (root: string, outside: string) => Promise<void>): Promise<void> {
  const dir = await tempDir('breakout');
  try {
    const root = path.join(dir, 'root');
    const outside = path.join(dir, 'outside');
    await fsp.mkdir(root);
    await fsp.mkdir(path.join(outside, 'sub'), { recursive: true });
    await fsp.writeFile(path.join(outside, 'secret'), 'do not touch');
    await fsp.utimes(path.join(outside, 'sub'), 1000, 1000);
    await fsp.utimes(outside, 1000, 1000);
    const before = JSON.stringify(await describeTree(outside));
    await fn(root, outside);
    assert.equal(JSON.stringify(await describeTree(outside)), before, 'nothing outside the root changed');
    const siblings = (await fsp.readdir(dir)).sort();
    assert.deepEqual(siblings, ['outside', 'root'], 'nothing was created beside the root');
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

async function apply(root: string, entries: RawEntry[]) {
  return applyLayer(bufferStream(await makeTar(entries)), root, { whiteouts: 'none' });
}

const escapes = (err: unknown) => is(err, 'INVALID_ARGUMENT') && /escapes the target/.test((err as Error).message);

test('"../" names are refused', async () => {
  await withSandbox(async (root) => {
    await assert.rejects(apply(root, [{ name: '../outside/secret', body: 'pwned' }]), escapes);
    await assert.rejects(apply(root, [{ name: 'a/../../outside/new', body: 'pwned' }]), escapes);
    await assert.rejects(apply(root, [{ name: '../outside/sub/', type: 'directory', mode: 0o777 }]), escapes);
  });
});

test('absolute names land inside the root', async () => {
  await withSandbox(async (root, outside) => {
    await apply(root, [
      { name: `${outside}/secret`, body: 'inside' },
      { name: '/etc/motd', body: 'hi' },
    ]);
    assert.equal(await fsp.readFile(path.join(root, outside, 'secret'), 'utf8'), 'inside');
    assert.equal(await fsp.readFile(path.join(root, 'etc/motd'), 'utf8'), 'hi');
  });
});

test('a file written below a symlink to outside stays inside the root', async () => {
  await withSandbox(async (root, outside) => {
    await apply(root, [
      { name: 'evil', type: 'symlink', linkname: outside },
      { name: 'evil/secret', body: 'pwned' },
      { name: 'rel', type: 'symlink', linkname: '../../../../../../../..' },
      { name: 'rel/escaped', body: 'pwned' },
    ]);
    // chroot-style resolution: the symlink is followed as if the root were /.
    assert.equal(await fsp.readFile(path.join(root, outside, 'secret'), 'utf8'), 'pwned');
    assert.equal(await fsp.readFile(path.join(root, 'escaped'), 'utf8'), 'pwned');
    assert.equal(await fsp.readlink(path.join(root, 'evil')), outside, 'the symlink itself is stored as given');
  });
});

test('an entry over a symlink replaces the symlink instead of writing through it', async () => {
  await withSandbox(async (root, outside) => {
    await apply(root, [
      { name: 'f', type: 'symlink', linkname: path.join(outside, 'secret') },
      { name: 'f', body: 'replaced' },
      { name: 'd', type: 'symlink', linkname: path.join(outside, 'sub') },
      { name: 'd/', type: 'directory', mode: 0o777 },
    ]);
    const f = await fsp.lstat(path.join(root, 'f'));
    assert.ok(f.isFile());
    assert.equal(await fsp.readFile(path.join(root, 'f'), 'utf8'), 'replaced');
    assert.ok((await fsp.lstat(path.join(root, 'd'))).isDirectory());
  });
});

test('hardlinks to outside the root are refused or stay inside', async () => {
  await withSandbox(async (root, outside) => {
    const rel = path.relative(root, path.join(outside, 'secret'));
    await assert.rejects(
      apply(root, [{ name: 'h', type: 'link', linkname: rel }]),
      (err: unknown) => is(err, 'INVALID_ARGUMENT') && /hardlink.*escapes the target/.test((err as Error).message),
    );
    // An absolute target means the root's /etc/passwd, which does not exist there: refused, the host's is untouched.
    const nlink = (await fsp.stat('/etc/passwd')).nlink;
    await assert.rejects(
      apply(root, [{ name: 'p', type: 'link', linkname: '/etc/passwd' }]),
      (err: unknown) => is(err, 'INVALID_ARGUMENT') && /does not exist/.test((err as Error).message),
    );
    // Through a symlink to the host's /etc: resolved inside the root as well.
    await assert.rejects(
      apply(root, [
        { name: 'hostetc', type: 'symlink', linkname: '/etc' },
        { name: 'p2', type: 'link', linkname: 'hostetc/passwd' },
      ]),
      (err: unknown) => is(err, 'INVALID_ARGUMENT'),
    );
    assert.equal((await fsp.stat('/etc/passwd')).nlink, nlink);
    await assert.rejects(fsp.lstat(path.join(root, 'p')), { code: 'ENOENT' });
  });
});

test('whiteouts cannot delete outside the root', async () => {
  await withSandbox(async (root, outside) => {
    await assert.rejects(apply(root, [{ name: '../outside/.wh.secret' }]), escapes);
    await apply(root, [
      { name: 'evil', type: 'symlink', linkname: outside },
      { name: 'evil/.wh.secret' },
      { name: 'evil/sub/.wh..wh..opq' },
    ]);
    assert.equal(await fsp.readlink(path.join(root, 'evil')), outside);
  });
});
