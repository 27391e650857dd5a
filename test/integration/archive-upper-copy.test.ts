/**
 * The one-pass commit (copyUpperLayer) against the streamed path it replaces (overlayDiffTar's tar applied with
 * applyLayer, tar-split recorded from the stream): same diff ID, same tar size, a tar-split that rebuilds the very
 * same tar, and the same files with the same metadata. Needs root: devices, whiteouts, chown, trusted.* xattrs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { applyLayer, copyUpperLayer, overlayDiffTar, type UpperCopyTuning } from '../../src/archive/index.js';
import { TarSplitRecorder, reconstructTar, serializeTarSplit } from '../../src/archive/tarsplit.js';
import {
  T0,
  bufferStream,
  createTree,
  describeTree,
  sha256,
  streamToBuffer,
  tempDir,
  type FixtureEntry,
} from '../unit/archive-fixtures.js';

const big = Buffer.alloc(3 * 1024 * 1024 + 7, 0x5a); // more than one read/write piece, not block-aligned
const big2 = Buffer.alloc(2 * 1024 * 1024, 0x33); // with big, more than one of the writer thread's 4 MiB batches
const huge = Buffer.alloc(4 * 1024 * 1024 + 1, 0x77); // too big for a batch: written on the main thread
const longName = `deep/${'n'.repeat(120)}`; // needs a PAX path

const upperTree: FixtureEntry[] = [
  { kind: 'dir', path: 'deep', mode: 0o755, mtime: T0 },
  { kind: 'file', path: longName, content: 'long', mtime: T0 + 1 },
  { kind: 'file', path: 'deep/empty', content: '', mode: 0o640, mtime: T0 },
  { kind: 'file', path: 'deep/big.bin', content: big, mode: 0o644, uid: 1000, gid: 1000, mtime: T0 + 2 },
  { kind: 'file', path: 'deep/big2.bin', content: big2, mode: 0o600, mtime: T0 + 3 },
  { kind: 'file', path: 'huge.bin', content: huge, mode: 0o644, mtime: T0 + 4 },
  { kind: 'file', path: 'deep/zero-mode', content: 'z', mode: 0, mtime: T0 },
  { kind: 'file', path: 'ünïcode-名前', content: 'u', mtime: T0 },
  { kind: 'file', path: 'ids', content: 'i', uid: 300_000, gid: 400_000, mtime: T0 },
  { kind: 'file', path: 'setuid', content: 's', mode: 0o4755, mtime: T0, xattrs: { 'user.note': 'hi' } },
  { kind: 'hardlink', path: 'deep/hard', target: 'setuid' },
  { kind: 'hardlink', path: 'zz-hard', target: 'ids' }, // its target goes through the writer thread
  { kind: 'symlink', path: 'link', target: 'deep/big.bin', uid: 7, gid: 7, mtime: T0 },
  { kind: 'fifo', path: 'pipe', mode: 0o600, mtime: T0 },
  { kind: 'chardev', path: 'null2', major: 1, minor: 3, mode: 0o666, mtime: T0 },
  { kind: 'whiteout', path: 'gone' },
  { kind: 'dir', path: 'opq', mode: 0o700, mtime: T0 },
  { kind: 'opaque', path: 'opq' },
  { kind: 'file', path: 'opq/inside', content: 'o', mtime: T0 },
  { kind: 'dir', path: 'ro', mode: 0o555, mtime: T0 + 5 },
];

// The thread (hashing, plain files) never started (the default for a tree this small), from the first file, from
// the fourth, and once a megabyte is read (in the middle of a file written here).
const tunings: UpperCopyTuning[] = [
  {},
  { filesBeforeThread: 0 },
  { filesBeforeThread: 3 },
  { bytesBeforeThread: 1 << 20 },
];
for (const tuning of tunings) {
  test(`the one-pass upper copy gives the streamed path's diff ID, tar-split and files (${JSON.stringify(tuning)})`, async () => {
    const dir = await tempDir('upper-copy');
    try {
      const upper = path.join(dir, 'upper');
      await fsp.mkdir(upper);
      await createTree(upper, upperTree);

      // The streamed path: tar → (hash, tar-split recorder, apply).
      const tar = await streamToBuffer(overlayDiffTar(upper, []));
      const recorder = new TarSplitRecorder();
      await new Promise<void>((resolve, reject) => {
        recorder.on('finish', resolve).on('error', reject);
        recorder.end(tar);
      });
      const viaTar = path.join(dir, 'via-tar');
      const applied = await applyLayer(bufferStream(tar), viaTar, { whiteouts: 'overlay' });

      const direct = path.join(dir, 'direct');
      await fsp.mkdir(direct);
      const copied = await copyUpperLayer(upper, direct, {}, undefined, tuning);

      assert.equal(copied.diffId, applied.diffId);
      assert.equal(sha256(tar), copied.diffId);
      assert.equal(copied.tarSize, tar.length);
      assert.deepEqual(copied.segments, recorder.segments(), 'the same tar-split record');
      const rebuilt = await streamToBuffer(reconstructTar(serializeTarSplit(copied.segments), direct));
      assert.ok(rebuilt.equals(tar), 'the tar-split rebuilds the same tar from the copied files');
      // Neither path sets a whiteout's times (the tar entry has none for it): they are when it was made.
      const described = async (root: string) => {
        const tree = await describeTree(root);
        for (const d of Object.values(tree)) if (d.type === 'chardev' && d.rdev === '0:0') d.mtime = 0;
        return tree;
      };
      assert.deepEqual(await described(direct), await described(viaTar));

      // Hash-only (a build step's layer): the same diff ID, size and tar-split, nothing written.
      const hashed = await copyUpperLayer(upper, null);
      assert.deepEqual(hashed, copied);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
}

test("a full disk in the writer thread rejects the copy with the thread's ENOSPC", async () => {
  const dir = await tempDir('upper-copy-fail');
  const small = path.join(dir, 'small');
  try {
    const upper = path.join(dir, 'upper');
    await fsp.mkdir(path.join(upper, 'd'), { recursive: true });
    for (let i = 0; i < 8; i++) await fsp.writeFile(path.join(upper, 'd', `f${i}`), Buffer.alloc(300_000, i));
    await fsp.mkdir(small);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', small]);
    await assert.rejects(
      copyUpperLayer(upper, small, {}, undefined, { filesBeforeThread: 0 }),
      (err: NodeJS.ErrnoException) => {
        assert.equal(err.code, 'ENOSPC', String(err));
        return true;
      },
    );
  } finally {
    execFileSync('umount', ['-l', small], { stdio: 'ignore' });
    await fsp.rm(dir, { recursive: true, force: true });
  }
});

test('a file named like a whiteout is left to the streamed path', async () => {
  const dir = await tempDir('upper-copy-wh');
  try {
    const upper = path.join(dir, 'upper');
    await fsp.mkdir(upper);
    await fsp.writeFile(path.join(upper, '.wh.fake'), 'x');
    const direct = path.join(dir, 'direct');
    await fsp.mkdir(direct);
    await assert.rejects(copyUpperLayer(upper, direct), (err: Error & { code?: string }) => err.code === 'UNSUPPORTED');
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
});
