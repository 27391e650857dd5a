import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { removeTreeSync } from '../../src/util/index.js';

test('removeTreeSync removes a nested tree, never follows symlinks, and accepts a missing path or a file', () => {
  const base = mkdtempSync(path.join(os.tmpdir(), 'wharf-rmtree-'));
  try {
    const outside = path.join(base, 'outside');
    mkdirSync(outside);
    writeFileSync(path.join(outside, 'keep'), 'kept');
    const tree = path.join(base, 'tree');
    mkdirSync(path.join(tree, 'a', 'b', 'c'), { recursive: true });
    mkdirSync(path.join(tree, 'empty'));
    writeFileSync(path.join(tree, 'a', 'f'), 'x');
    writeFileSync(path.join(tree, 'a', 'b', 'c', 'g'), 'y');
    symlinkSync(outside, path.join(tree, 'a', 'link-to-dir'));
    symlinkSync(path.join(outside, 'keep'), path.join(tree, 'link-to-file'));
    symlinkSync('/nonexistent', path.join(tree, 'dangling'));
    removeTreeSync(tree);
    assert.equal(existsSync(tree), false);
    assert.equal(readFileSync(path.join(outside, 'keep'), 'utf8'), 'kept', 'nothing behind a symlink is touched');
    removeTreeSync(tree); // gone already: fine
    // A symlink given as the tree itself goes, not what it points to; a dangling one goes too.
    const topLink = path.join(base, 'top-link');
    symlinkSync(outside, topLink);
    removeTreeSync(topLink);
    assert.equal(existsSync(topLink), false);
    assert.equal(
      readFileSync(path.join(outside, 'keep'), 'utf8'),
      'kept',
      'the directory behind a top-level link is kept',
    );
    const dangling = path.join(base, 'dangling-top');
    symlinkSync('/nonexistent', dangling);
    removeTreeSync(dangling);
    assert.throws(() => lstatSync(dangling), /ENOENT/);
    const file = path.join(base, 'file');
    writeFileSync(file, 'z');
    removeTreeSync(file);
    assert.equal(existsSync(file), false);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
