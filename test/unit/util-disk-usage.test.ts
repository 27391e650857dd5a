import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { diskUsage } from '../../src/util/index.js';

test('diskUsage counts bytes of non-directories and every inode once, never following symlinks', async () => {
  const base = mkdtempSync(path.join(os.tmpdir(), 'wharf-du-'));
  try {
    const outside = path.join(base, 'outside');
    mkdirSync(outside);
    writeFileSync(path.join(outside, 'big'), Buffer.alloc(5000));
    const tree = path.join(base, 'tree');
    mkdirSync(path.join(tree, 'a', 'b'), { recursive: true });
    mkdirSync(path.join(tree, 'empty'));
    writeFileSync(path.join(tree, 'a', 'f'), 'hello'); // 5 bytes
    writeFileSync(path.join(tree, 'a', 'b', 'g'), Buffer.alloc(100));
    linkSync(path.join(tree, 'a', 'b', 'g'), path.join(tree, 'g-again')); // the same inode: counted once
    linkSync(path.join(outside, 'big'), path.join(tree, 'big-link')); // its other name is outside: counted here
    symlinkSync(outside, path.join(tree, 'to-dir')); // 'outside'.length bytes, not what it points to
    const target = path.join(outside, 'big');
    symlinkSync(target, path.join(tree, 'to-file'));
    // Inodes: tree, a, b, empty, f, g, big, to-dir, to-file.
    assert.deepEqual(await diskUsage(tree), {
      size: 5 + 100 + 5000 + outside.length + target.length,
      inodes: 9,
    });
    assert.deepEqual(await diskUsage(path.join(tree, 'a', 'f')), { size: 5, inodes: 1 });
    assert.deepEqual(await diskUsage(path.join(tree, 'empty')), { size: 0, inodes: 1 });
    assert.deepEqual(await diskUsage(path.join(base, 'missing')), { size: 0, inodes: 0 });
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test('diskUsage counts past the point where it gives the event loop a turn', async () => {
  const base = mkdtempSync(path.join(os.tmpdir(), 'wharf-du-'));
  try {
    for (let i = 0; i < 5000; i++) writeFileSync(path.join(base, `f${i}`), 'x');
    assert.deepEqual(await diskUsage(base), { size: 5000, inodes: 5001 });
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
