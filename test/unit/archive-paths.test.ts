import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { is } from '../../src/errors/index.js';
import { normalizeEntryName, resolveInRoot, safeJoin } from '../../src/archive/paths.js';
import { tempDir } from './archive-fixtures.js';

test('tar entry names are normalized under the root', () => {
  const table: Array<[string, string]> = [
    ['etc/passwd', 'etc/passwd'],
    ['./etc/passwd', 'etc/passwd'],
    ['/etc/passwd', 'etc/passwd'],
    ['//etc//x/', 'etc/x'],
    ['a/b/../c', 'a/c'],
    ['./', ''],
    ['/', ''],
    ['.', ''],
    ['a/..', ''],
    ['bin/', 'bin'],
  ];
  for (const [input, want] of table) assert.equal(normalizeEntryName(input), want, input);
});

test('tar entry names that climb above the root are refused', () => {
  for (const bad of ['../x', '..', 'a/../../x', '/../x', './../../etc/passwd', 'a/b/../../../c']) {
    assert.throws(
      () => normalizeEntryName(bad),
      (err: unknown) => is(err, 'INVALID_ARGUMENT') && /escapes the target/.test((err as Error).message),
      bad,
    );
  }
  assert.throws(
    () => normalizeEntryName('a\0b'),
    (err: unknown) => is(err, 'INVALID_ARGUMENT'),
  );
});

test('safeJoin keeps paths under root and throws on escape', () => {
  assert.equal(safeJoin('/r', 'a/b'), '/r/a/b');
  assert.equal(safeJoin('/r', '/a/./b/'), '/r/a/b');
  assert.equal(safeJoin('/r/', '.'), '/r');
  assert.throws(
    () => safeJoin('/r', '../r2/x'),
    (err: unknown) => is(err, 'INVALID_ARGUMENT'),
  );
});

test('resolveInRoot follows symlinks as if root were / and never leaves it', async () => {
  const root = await tempDir('resolve');
  try {
    await fsp.mkdir(path.join(root, 'usr/lib'), { recursive: true });
    await fsp.symlink('usr/lib', path.join(root, 'lib'));
    await fsp.symlink('/usr/lib', path.join(root, 'abslib'));
    await fsp.symlink('../../../../../..', path.join(root, 'up'));
    await fsp.symlink('/etc', path.join(root, 'hostetc'));
    await fsp.symlink('loop2', path.join(root, 'loop1'));
    await fsp.symlink('loop1', path.join(root, 'loop2'));

    assert.equal(await resolveInRoot(root, 'lib/x'), path.join(root, 'usr/lib/x'));
    assert.equal(await resolveInRoot(root, 'abslib'), path.join(root, 'usr/lib'));
    assert.equal(await resolveInRoot(root, 'up'), root);
    assert.equal(await resolveInRoot(root, 'up/etc/passwd'), path.join(root, 'etc/passwd'));
    // /etc inside the root does not exist: the lexical rest stays under root, not on the host's /etc.
    assert.equal(await resolveInRoot(root, 'hostetc/shadow'), path.join(root, 'etc/shadow'));
    assert.equal(await resolveInRoot(root, 'missing/../lib'), path.join(root, 'usr/lib'));
    await assert.rejects(resolveInRoot(root, 'loop1/x'), (err: unknown) => is(err, 'INVALID_ARGUMENT'));
  } finally {
    await fsp.rm(root, { recursive: true, force: true });
  }
});
