/**
 * Needs root: device nodes, chown, security.* and trusted.* xattrs, overlay whiteouts and real overlay mounts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { getAttribute } from '@napi-rs/xattr';
import { applyLayer, overlayChanges, overlayDiffTar, tarDirectory, type Change } from '../../src/archive/index.js';
import {
  T0,
  bufferStream,
  createTree,
  describeTree,
  listTar,
  makeTar,
  sha256,
  streamToBuffer,
  tempDir,
  type FixtureEntry,
  type RawEntry,
} from '../unit/archive-fixtures.js';

const capability = Buffer.from('0100000200200000000000000000000000000000', 'hex');

function mountOverlay(merged: string, lower: string[], upper?: string, work?: string): void {
  const opts = [`lowerdir=${lower.join(':')}`];
  if (upper && work) opts.push(`upperdir=${upper}`, `workdir=${work}`);
  execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', opts.join(','), merged]);
}

function umount(merged: string): void {
  execFileSync('umount', [merged]);
}

async function collect(it: AsyncIterable<Change>): Promise<string[]> {
  const out: string[] = [];
  for await (const c of it) out.push(`${c.kind} ${c.path}`);
  return out;
}

test('as root a round trip keeps owners, setuid, devices, fifos and security/trusted xattrs', async () => {
  const dir = await tempDir('root-roundtrip');
  try {
    const tree: FixtureEntry[] = [
      { kind: 'dir', path: 'home/app', uid: 1000, gid: 1000, mode: 0o750 },
      { kind: 'file', path: 'home/app/data', content: 'x', uid: 1000, gid: 100, mode: 0o600 },
      {
        kind: 'file',
        path: 'bin/ping',
        content: 'elf',
        mode: 0o4755,
        uid: 0,
        gid: 0,
        xattrs: { 'security.capability': capability },
      },
      { kind: 'file', path: 'bin/big-ids', content: 'ids', uid: 300_000, gid: 400_000 },
      { kind: 'file', path: 'etc/marked', content: 'm', xattrs: { 'trusted.wharf': 'yes', 'user.a': 'b' } },
      { kind: 'symlink', path: 'home/app/link', target: 'data', uid: 1000, gid: 1000 },
      { kind: 'chardev', path: 'dev/null', major: 1, minor: 3, mode: 0o666 },
      { kind: 'blockdev', path: 'dev/loop9', major: 7, minor: 9, mode: 0o660, gid: 6 },
      { kind: 'fifo', path: 'run/fifo', mode: 0o620 },
    ];
    const src = path.join(dir, 'src');
    await createTree(src, tree);
    const tarBytes = await streamToBuffer(tarDirectory(src));
    const dst = path.join(dir, 'dst');
    const res = await applyLayer(bufferStream(tarBytes), dst, { whiteouts: 'none' });
    assert.equal(res.diffId, sha256(tarBytes));
    const want = await describeTree(src);
    assert.deepEqual(await describeTree(dst), want);
    assert.equal(want['bin/ping']!.mode, '4755');
    assert.equal(want['bin/ping']!.xattrs?.['security.capability'], capability.toString('hex'));

    // sameOwner: false leaves files to the extracting user.
    const mine = path.join(dir, 'mine');
    await applyLayer(bufferStream(tarBytes), mine, { whiteouts: 'none', sameOwner: false });
    assert.equal((await fsp.lstat(path.join(mine, 'home/app/data'))).uid, 0);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
});

const base: RawEntry[] = [
  { name: 'a/', type: 'directory' },
  { name: 'a/b/', type: 'directory' },
  { name: 'a/b/c/', type: 'directory' },
  { name: 'a/b/c/bar', body: 'bar' },
  { name: 'a/keep', body: 'k' },
  { name: 'bin/', type: 'directory' },
  { name: 'bin/tool', body: 't' },
  { name: 'bin/tools/', type: 'directory' },
  { name: 'bin/tools/one', body: '1' },
  { name: 'etc/', type: 'directory' },
  { name: 'etc/my-app-config', body: 'cfg' },
  { name: 'etc/other', body: 'o' },
];
// Parent directory entries are repeated with the same attributes, as Docker's diffs do.
const layer2: RawEntry[] = [
  { name: 'a/', type: 'directory' },
  { name: 'a/.wh..wh..opq' },
  { name: 'a/b/', type: 'directory' },
  { name: 'a/b/c/', type: 'directory' },
  { name: 'a/b/c/foo', body: 'foo' },
  { name: 'bin/', type: 'directory' },
  { name: 'bin/.wh.tools' },
  { name: 'etc/', type: 'directory' },
  { name: 'etc/.wh.my-app-config' },
  { name: 'etc/new', body: 'new', uid: 5, gid: 6 },
];

test("'overlay' whiteouts become 0/0 devices and opaque xattrs, mount like the flattened layers and diff back", async () => {
  const dir = await tempDir('overlay-apply');
  const merged = path.join(dir, 'merged');
  let mounted = false;
  try {
    const l1 = path.join(dir, 'l1');
    const l2 = path.join(dir, 'l2');
    await applyLayer(bufferStream(await makeTar(base)), l1, { whiteouts: 'overlay' });
    await applyLayer(bufferStream(await makeTar(layer2)), l2, { whiteouts: 'overlay' });

    for (const wh of ['bin/tools', 'etc/my-app-config']) {
      const st = await fsp.lstat(path.join(l2, wh));
      assert.ok(st.isCharacterDevice() && st.rdev === 0, `${wh} is an overlay whiteout`);
    }
    assert.deepEqual(await getAttribute(path.join(l2, 'a'), 'trusted.overlay.opaque'), Buffer.from('y'));
    assert.equal(await getAttribute(path.join(l2, 'bin'), 'trusted.overlay.opaque'), null);

    // The kernel agrees with our own flattening.
    const flat = path.join(dir, 'flat');
    await applyLayer(bufferStream(await makeTar(base)), flat, { whiteouts: 'none' });
    await applyLayer(bufferStream(await makeTar(layer2)), flat, { whiteouts: 'none' });
    await fsp.mkdir(merged);
    mountOverlay(merged, [l2, l1]);
    mounted = true;
    const view = await describeTree(merged);
    assert.deepEqual(view, await describeTree(flat));
    assert.equal(view['a/keep'], undefined);
    assert.equal(view['a/b/c/bar'], undefined);
    assert.equal(view['a/b/c/foo']?.type, 'file');
    assert.equal(view['bin/tools'], undefined);
    assert.equal(view['bin/tool']?.type, 'file');

    // And the upper dir diffs back to the same whiteouts.
    const entries = await listTar(await streamToBuffer(overlayDiffTar(l2, [l1])));
    const names = entries.map((e) => e.name);
    for (const want of ['a/.wh..wh..opq', 'bin/.wh.tools', 'etc/.wh.my-app-config', 'etc/new', 'a/b/c/foo']) {
      assert.ok(names.includes(want), `${want} in ${names.join(', ')}`);
    }
    assert.ok(!names.includes('bin/tools'), 'no device entry for a whiteout');
    assert.ok(
      entries.every((e) => !JSON.stringify(e.pax ?? {}).includes('trusted.overlay')),
      'no overlay xattrs leak',
    );
    // Whiteouts come before their siblings.
    assert.ok(names.indexOf('a/.wh..wh..opq') < names.indexOf('a/b/'));
    assert.ok(names.indexOf('etc/.wh.my-app-config') < names.indexOf('etc/new'));
  } finally {
    if (mounted) umount(merged);
    await fsp.rm(dir, { recursive: true, force: true });
  }
});

test('changes made in a real overlay mount: overlayChanges gives A/C/D and overlayDiffTar reproduces the view', async () => {
  const dir = await tempDir('overlay-diff');
  const merged = path.join(dir, 'merged');
  let mounted = false;
  try {
    const lower = path.join(dir, 'lower');
    const upper = path.join(dir, 'upper');
    const work = path.join(dir, 'work');
    await applyLayer(bufferStream(await makeTar(base)), lower, { whiteouts: 'overlay' });
    await fsp.mkdir(upper);
    await fsp.mkdir(work);
    await fsp.mkdir(merged);
    mountOverlay(merged, [lower], upper, work);
    mounted = true;

    await fsp.writeFile(path.join(merged, 'etc/other'), 'changed');
    await fsp.writeFile(path.join(merged, 'etc/new'), 'new');
    await fsp.rm(path.join(merged, 'etc/my-app-config'));
    await fsp.rm(path.join(merged, 'bin/tools'), { recursive: true });
    await fsp.rm(path.join(merged, 'a'), { recursive: true });
    await fsp.mkdir(path.join(merged, 'a'));
    await fsp.writeFile(path.join(merged, 'a/fresh'), 'fresh');
    await fsp.mkdir(path.join(merged, 'newdir'));
    await fsp.writeFile(path.join(merged, 'newdir/x'), 'x');
    await fsp.symlink('x', path.join(merged, 'newdir/lnk'));
    await fsp.link(path.join(merged, 'newdir/x'), path.join(merged, 'newdir/x2'));
    const want = await describeTree(merged);
    umount(merged);
    mounted = false;

    assert.deepEqual(await collect(overlayChanges(upper, [lower])), [
      'C /a',
      'A /a/fresh',
      'C /bin',
      'D /bin/tools',
      'C /etc',
      'D /etc/my-app-config',
      'A /etc/new',
      'C /etc/other',
      'A /newdir',
      'A /newdir/lnk',
      'A /newdir/x',
      'A /newdir/x2',
    ]);

    const one = await streamToBuffer(overlayDiffTar(upper, [lower]));
    const two = await streamToBuffer(overlayDiffTar(upper, [lower]));
    assert.equal(sha256(one), sha256(two), 'deterministic');
    const flat = path.join(dir, 'flat');
    await applyLayer(bufferStream(await makeTar(base)), flat, { whiteouts: 'none' });
    await applyLayer(bufferStream(one), flat, { whiteouts: 'none' });
    assert.deepEqual(await describeTree(flat), want);

    const names = (
      await listTar(
        await streamToBuffer(overlayDiffTar(upper, [lower], { exclude: (p) => p === '/etc/new' || p === '/newdir' })),
      )
    ).map((e) => e.name);
    assert.ok(!names.includes('etc/new') && !names.some((n) => n.startsWith('newdir')), names.join(', '));
    assert.ok(names.includes('etc/other'));
  } finally {
    if (mounted) umount(merged);
    await fsp.rm(dir, { recursive: true, force: true });
  }
});

test('overlayChanges looks through whiteouts and opaque dirs of lower layers', async () => {
  const dir = await tempDir('overlay-lowers');
  try {
    const l1 = path.join(dir, 'l1');
    const l2 = path.join(dir, 'l2');
    const upper = path.join(dir, 'upper');
    await createTree(l1, [
      { kind: 'file', path: 'gone', content: '1' },
      { kind: 'dir', path: 'd' },
      { kind: 'file', path: 'd/old', content: '1' },
      { kind: 'file', path: 'kept', content: '1' },
    ]);
    await createTree(l2, [
      { kind: 'whiteout', path: 'gone' },
      { kind: 'dir', path: 'd' },
      { kind: 'opaque', path: 'd' },
    ]);
    await createTree(upper, [
      { kind: 'file', path: 'gone', content: 'again' },
      { kind: 'dir', path: 'd' },
      { kind: 'file', path: 'd/old', content: 'again' },
      { kind: 'file', path: 'kept', content: '2' },
    ]);
    assert.deepEqual(await collect(overlayChanges(upper, [l2, l1])), ['C /d', 'A /d/old', 'A /gone', 'C /kept']);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
});

test("an 'overlay' directory entry over its own layer's whiteout becomes opaque", async () => {
  const dir = await tempDir('overlay-recreate');
  try {
    await applyLayer(
      bufferStream(await makeTar([{ name: '.wh.d' }, { name: 'd/', type: 'directory' }, { name: 'd/f', body: 'f' }])),
      dir,
      {
        whiteouts: 'overlay',
      },
    );
    assert.ok((await fsp.lstat(path.join(dir, 'd'))).isDirectory());
    assert.deepEqual(await getAttribute(path.join(dir, 'd'), 'trusted.overlay.opaque'), Buffer.from('y'));
    assert.equal(await fsp.readFile(path.join(dir, 'd/f'), 'utf8'), 'f');
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
});

test('directory mtimes and modes are set after their contents', async () => {
  const dir = await tempDir('dir-times');
  try {
    await applyLayer(
      bufferStream(
        await makeTar([
          { name: 'ro/', type: 'directory', mode: 0o555, mtime: T0 },
          { name: 'ro/inner/', type: 'directory', mode: 0o500, mtime: T0 + 1 },
          { name: 'ro/inner/f', body: 'f', mtime: T0 + 2 },
          { name: 'ro/g', body: 'g', mtime: T0 + 3 },
        ]),
      ),
      dir,
      { whiteouts: 'none' },
    );
    const d = await describeTree(dir);
    assert.deepEqual([d.ro!.mtime, d.ro!.mode], [T0, '555']);
    assert.deepEqual([d['ro/inner']!.mtime, d['ro/inner']!.mode], [T0 + 1, '500']);
    assert.equal(d['ro/g']!.mtime, T0 + 3);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
});

test('upper dirs that rely on overlayfs metacopy or redirect_dir are refused, not silently diffed', async () => {
  const dir = await tempDir('overlay-metacopy');
  try {
    await createTree(dir, [{ kind: 'file', path: 'f', content: '', xattrs: { 'trusted.overlay.metacopy': '' } }]);
    await assert.rejects(streamToBuffer(overlayDiffTar(dir, [])), { code: 'UNSUPPORTED' });
    await fsp.rm(path.join(dir, 'f'));
    await createTree(dir, [{ kind: 'dir', path: 'moved', xattrs: { 'trusted.overlay.redirect': '/old' } }]);
    await assert.rejects(collect(overlayChanges(dir, [])), { code: 'UNSUPPORTED' });
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
});
