/**
 * The shared Snapshotter test suite (after containerd's core/snapshots/testsuite): every backend runs it, as root,
 * with real mounts in temp dirs that are always unmounted afterwards. Where backends differ by design (a diff dir of
 * the snapshot's own changes with whiteouts, or a full copy), it asks the snapshotter which it is, never its name.
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import { getAttribute, setAttribute } from '@napi-rs/xattr';
import { is, type ErrorCode } from '../../src/errors/index.js';
import { run } from '../../src/util/index.js';
import {
  isMountPoint,
  mountAll,
  unmount,
  type Mount,
  type SnapshotInfo,
  type Snapshotter,
} from '../../src/snapshot/index.js';

export interface SnapshotterFixture {
  snapshotter: Snapshotter;
  /** The Wharf root the snapshotter lives in (`<root>/snapshots/…`). */
  root: string;
  cleanup(): Promise<void>;
}

async function rejectsWith(p: Promise<unknown> | (() => unknown), code: ErrorCode): Promise<void> {
  const promise = typeof p === 'function' ? (async () => p())() : p;
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(is(err, code), `expected ${code}, got ${String((err as Error)?.stack ?? err)}`);
    return true;
  });
}

/**
 * Whether the backend's diff dir holds a snapshot's own changes alone, deletions as overlay whiteouts, with the
 * parents mounted beneath (overlay); otherwise it is a full copy of the tree (native).
 */
const layered = (sn: Snapshotter): boolean => sn.differ.whiteoutFormat === 'overlay';

/** A file deleted in a layer, the way a layer would record it for this backend: overlay whiteout or plain removal. */
async function deleteInLayer(sn: Snapshotter, key: string, rel: string): Promise<void> {
  const p = path.join(sn.differ.diffDir(key), rel);
  if (layered(sn)) {
    await fsp.mkdir(path.dirname(p), { recursive: true });
    await run('mknod', [p, 'c', '0', '0']);
  } else {
    await fsp.rm(p, { recursive: true });
  }
}

async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    const p = path.join(dir, rel);
    await fsp.mkdir(path.dirname(p), { recursive: true });
    await fsp.writeFile(p, content);
  }
}

async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const e of await fsp.readdir(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      out.push(e.isDirectory() ? `${r}/` : r);
      if (e.isDirectory()) await walk(r);
    }
  };
  await walk('');
  return out.sort();
}

async function changesOf(sn: Snapshotter, key: string): Promise<string[]> {
  const out: string[] = [];
  for await (const c of sn.differ.changes(key)) out.push(`${c.kind} ${c.path}`);
  return out;
}

/** A layer tar's entry names, a directory's without its trailing slash, in the tar's order. */
async function tarNames(tarStream: Readable): Promise<string[]> {
  const names: string[] = [];
  const ex = tar.extract();
  const done = (async () => {
    for await (const e of ex) {
      names.push(e.header.name.replace(/\/$/, ''));
      e.resume();
    }
  })();
  tarStream.pipe(ex);
  await done;
  return names;
}

async function collect(sn: Snapshotter): Promise<SnapshotInfo[]> {
  const out: SnapshotInfo[] = [];
  for await (const i of sn.walk()) out.push(i);
  return out;
}

export function runSnapshotterSuite(name: string, factory: () => Promise<SnapshotterFixture>): void {
  describe(`Snapshotter suite: ${name}`, () => {
    let fx: SnapshotterFixture;
    let sn: Snapshotter;
    let mountBase: string;
    const targets: string[] = [];

    beforeEach(async () => {
      fx = await factory();
      sn = fx.snapshotter;
      mountBase = await fsp.mkdtemp(path.join(os.tmpdir(), `wharf-snap-mnt-${name}-`));
    });
    afterEach(async () => {
      for (const t of targets.splice(0)) await unmount(t, { lazy: true }).catch(() => {});
      await fsp.rm(mountBase, { recursive: true, force: true });
      await fx.cleanup();
    });

    /** Mount in a fresh dir, run `fn`, always unmount. */
    async function withMounted<T>(mounts: Mount[], fn: (dir: string) => Promise<T>): Promise<T> {
      const target = await fsp.mkdtemp(path.join(mountBase, 'm-'));
      targets.push(target);
      await mountAll(mounts, target);
      try {
        return await fn(target);
      } finally {
        await unmount(target);
        assert.equal(await isMountPoint(target), false);
      }
    }

    /** A committed layer `name` on `parent`, made the way image unpacking does: prepare, write into diffDir, commit. */
    async function layer(
      name: string,
      parent: string | undefined,
      files: Record<string, string>,
      deletes: string[] = [],
    ): Promise<void> {
      const key = `extract-${name}`;
      await sn.prepare(key, parent);
      await writeFiles(sn.differ.diffDir(key), files);
      for (const d of deletes) await deleteInLayer(sn, key, d);
      await sn.commit(name, key);
    }

    it('prepares, commits and views a chain of layers that mount with the right files', async () => {
      const m0 = await sn.prepare('k0');
      assert.deepEqual(m0, [{ type: 'bind', source: sn.differ.diffDir('k0'), options: ['rw', 'rbind'] }]);
      // Written through the mount, as a build step or an unpack into a mount would.
      await withMounted(m0, async (dir) => {
        await writeFiles(dir, { 'etc/hostname': 'base\n', 'bin/sh': '#!' });
      });
      await sn.commit('layer0', 'k0');
      assert.equal(await sn.stat('k0'), undefined, 'commit removes the active key');
      await rejectsWith(sn.mounts('layer0'), 'FAILED_PRECONDITION');

      await sn.prepare('k1', 'layer0');
      await writeFiles(sn.differ.diffDir('k1'), { 'etc/hostname': 'layer1\n', 'usr/lib/x': 'x' });
      await sn.commit('layer1', 'k1');

      const active = await sn.prepare('container', 'layer1');
      assert.deepEqual(await sn.mounts('container'), active);
      if (layered(sn)) {
        assert.equal(active[0]!.type, 'overlay');
        assert.ok(
          active[0]!.options.includes(`lowerdir=${sn.differ.diffDir('layer1')}:${sn.differ.diffDir('layer0')}`),
        );
        assert.ok(active[0]!.options.includes(`upperdir=${sn.differ.diffDir('container')}`));
        assert.ok(active[0]!.options.some((o) => o.startsWith('workdir=')));
      }
      await withMounted(active, async (dir) => {
        assert.deepEqual(await listTree(dir), [
          'bin/',
          'bin/sh',
          'etc/',
          'etc/hostname',
          'usr/',
          'usr/lib/',
          'usr/lib/x',
        ]);
        assert.equal(await fsp.readFile(path.join(dir, 'etc/hostname'), 'utf8'), 'layer1\n');
        await fsp.writeFile(path.join(dir, 'etc/hostname'), 'container\n');
      });
      // The change went to the active snapshot only.
      assert.equal(
        await fsp.readFile(path.join(sn.differ.diffDir('container'), 'etc/hostname'), 'utf8'),
        'container\n',
      );
      assert.equal(await fsp.readFile(path.join(sn.differ.diffDir('layer1'), 'etc/hostname'), 'utf8'), 'layer1\n');

      const view = await sn.view('v', 'layer1');
      assert.ok(
        view[0]!.type === 'bind'
          ? view[0]!.options.includes('ro')
          : !view[0]!.options.some((o) => o.startsWith('upperdir=')),
      );
      await withMounted(view, async (dir) => {
        assert.equal(await fsp.readFile(path.join(dir, 'etc/hostname'), 'utf8'), 'layer1\n');
        assert.equal(await fsp.readFile(path.join(dir, 'bin/sh'), 'utf8'), '#!');
        await assert.rejects(fsp.writeFile(path.join(dir, 'new-file'), 'x'), { code: 'EROFS' });
      });
      await rejectsWith(sn.commit('from-view', 'v'), 'FAILED_PRECONDITION');
    });

    it('hides a file deleted in a child layer', async () => {
      await layer('base', undefined, { a: 'a', 'dir/b': 'b', 'dir/c': 'c' });
      await layer('child', 'base', { d: 'd' }, ['a']);
      if (layered(sn)) {
        const st = await fsp.lstat(path.join(sn.differ.diffDir('child'), 'a'));
        assert.ok(st.isCharacterDevice() && st.rdev === 0, 'an overlay whiteout is a 0/0 character device');
      } else {
        await assert.rejects(fsp.lstat(path.join(sn.differ.diffDir('child'), 'a')), { code: 'ENOENT' });
      }
      await withMounted(await sn.view('v-child', 'child'), async (dir) => {
        assert.deepEqual(await listTree(dir), ['d', 'dir/', 'dir/b', 'dir/c']);
      });
      // Deleting through a mounted active snapshot records the deletion in its own changes.
      const mounts = await sn.prepare('deleter', 'child');
      await withMounted(mounts, async (dir) => {
        await fsp.rm(path.join(dir, 'dir/b'));
        assert.deepEqual(await listTree(dir), ['d', 'dir/', 'dir/c']);
      });
      if (layered(sn)) {
        const st = await fsp.lstat(path.join(sn.differ.diffDir('deleter'), 'dir/b'));
        assert.ok(st.isCharacterDevice() && st.rdev === 0);
      }
      await sn.commit('grandchild', 'deleter');
      await withMounted(await sn.view('v-grandchild', 'grandchild'), async (dir) => {
        assert.deepEqual(await listTree(dir), ['d', 'dir/', 'dir/c']);
      });
      // A directory replaced through a mount hides everything the lower layers had in it (overlay: an opaque dir).
      await withMounted(await sn.prepare('replacer', 'grandchild'), async (dir) => {
        await fsp.rm(path.join(dir, 'dir'), { recursive: true });
        await writeFiles(dir, { 'dir/new': 'n' });
      });
      await sn.commit('replaced', 'replacer');
      await withMounted(await sn.view('v-replaced', 'replaced'), async (dir) => {
        assert.deepEqual(await listTree(dir), ['d', 'dir/', 'dir/new']);
      });
      // The lower layers are untouched.
      assert.equal(await fsp.readFile(path.join(sn.differ.diffDir('base'), 'a'), 'utf8'), 'a');
      assert.equal(await fsp.readFile(path.join(sn.differ.diffDir('base'), 'dir/b'), 'utf8'), 'b');
    });

    it('removes children before parents', async () => {
      await layer('p', undefined, { f: '1' });
      await layer('c', 'p', { g: '2' });
      await sn.prepare('active-on-c', 'c');
      await sn.view('view-on-p', 'p');
      const cDir = sn.differ.diffDir('c');
      await rejectsWith(sn.remove('p'), 'FAILED_PRECONDITION');
      await rejectsWith(sn.remove('c'), 'FAILED_PRECONDITION');
      await sn.remove('active-on-c');
      await sn.remove('c');
      await assert.rejects(fsp.stat(cDir), { code: 'ENOENT' });
      await rejectsWith(sn.remove('p'), 'FAILED_PRECONDITION');
      await sn.remove('view-on-p');
      await sn.remove('p');
      await rejectsWith(sn.remove('p'), 'NOT_FOUND');
      assert.deepEqual(await collect(sn), []);
      // Nothing is left on disk either.
      const left = (await fsp.readdir(path.join(fx.root, 'snapshots')).catch(() => [] as string[])).filter(
        (n) => !n.startsWith('.'),
      );
      assert.deepEqual(left, []);
    });

    it('enforces one key space and committed parents', async () => {
      await layer('committed', undefined, { f: '1' });
      await sn.prepare('active');
      await rejectsWith(sn.prepare('active'), 'ALREADY_EXISTS');
      await rejectsWith(sn.view('active', 'committed'), 'ALREADY_EXISTS');
      await rejectsWith(sn.prepare('committed'), 'ALREADY_EXISTS');
      await rejectsWith(sn.prepare('x', 'missing'), 'NOT_FOUND');
      await rejectsWith(sn.prepare('x', 'active'), 'NOT_FOUND');
      await rejectsWith(sn.view('x', 'missing'), 'NOT_FOUND');
      await rejectsWith(sn.prepare(''), 'INVALID_ARGUMENT');
      assert.equal(await sn.stat('x'), undefined);
      // Committing onto an existing name fails and leaves the active snapshot for the caller to remove.
      await rejectsWith(sn.commit('committed', 'active'), 'ALREADY_EXISTS');
      assert.equal((await sn.stat('active'))?.kind, 'active');
      await rejectsWith(sn.commit('other', 'committed'), 'FAILED_PRECONDITION');
      await rejectsWith(sn.commit('other', 'missing'), 'NOT_FOUND');
      await rejectsWith(sn.mounts('missing'), 'NOT_FOUND');
      assert.throws(
        () => sn.differ.diffDir('missing'),
        (err: unknown) => is(err, 'NOT_FOUND'),
      );
      await rejectsWith(sn.usage('missing'), 'NOT_FOUND');
      await sn.remove('active');
    });

    it('mounts a chain of 128 layers and reads a file from the bottom one', async () => {
      let parent: string | undefined;
      for (let i = 0; i < 128; i++) {
        const files: Record<string, string> = { [`layers/${i}`]: String(i), top: String(i) };
        if (i === 0) files.bottom = 'from layer 0';
        await layer(`sha256:${String(i).padStart(64, '0')}`, parent, files);
        parent = `sha256:${String(i).padStart(64, '0')}`;
      }
      const mounts = await sn.prepare('deep', parent);
      assert.equal((await sn.differ.lowerDirs('deep')).length, layered(sn) ? 128 : 1);
      if (layered(sn)) {
        const lower = mounts[0]!.options.find((o) => o.startsWith('lowerdir='))!;
        assert.equal(lower.split(':').length, 128);
        assert.ok(mounts.flatMap((m) => m.options).join(',').length > 4096, 'the options exceed one page as written');
      }
      await withMounted(mounts, async (dir) => {
        assert.equal(await fsp.readFile(path.join(dir, 'bottom'), 'utf8'), 'from layer 0');
        assert.equal(await fsp.readFile(path.join(dir, 'top'), 'utf8'), '127');
        assert.equal((await fsp.readdir(path.join(dir, 'layers'))).length, 128);
      });
      const view = await sn.view('deep-view', parent!);
      await withMounted(view, async (dir) => {
        assert.equal(await fsp.readFile(path.join(dir, 'bottom'), 'utf8'), 'from layer 0');
      });
    });

    it('lets exactly one of several concurrent prepares of a key win', async () => {
      await layer('base', undefined, { f: 'x'.repeat(10_000) });
      const results = await Promise.allSettled([
        sn.prepare('same', 'base'),
        sn.prepare('same', 'base'),
        sn.prepare('same'),
        sn.view('same', 'base'),
      ]);
      const won = results.filter((r) => r.status === 'fulfilled');
      assert.equal(won.length, 1);
      for (const r of results) {
        if (r.status === 'rejected') assert.ok(is(r.reason, 'ALREADY_EXISTS'), String(r.reason));
      }
      assert.deepEqual((await collect(sn)).map((i) => i.key).sort(), ['base', 'same']);
      // The losers left no staging dirs behind.
      const names = await fsp.readdir(path.join(fx.root, 'snapshots'));
      assert.equal(names.filter((n) => !/^\d+$/.test(n)).length, 0, `unexpected entries: ${names.join(' ')}`);
    });

    it('commits a container snapshot without copying and uses it as a parent', async () => {
      await layer('image', undefined, { 'app/run': 'v1' });
      const mounts = await sn.prepare('container', 'image', { labels: { owner: 'test' } });
      const upper = sn.differ.diffDir('container');
      await withMounted(mounts, async (dir) => {
        await fsp.writeFile(path.join(dir, 'app/run'), 'v2');
        await fsp.writeFile(path.join(dir, 'app/data'), 'new');
      });
      await sn.commit('image2', 'container', { labels: { step: '2' } });
      assert.equal(sn.differ.diffDir('image2'), upper, 'the active dir became the committed layer');
      const info = await sn.stat('image2');
      assert.equal(info?.kind, 'committed');
      assert.equal(info?.parent, 'image');
      assert.deepEqual(info?.labels, { owner: 'test', step: '2' });
      if (layered(sn)) {
        assert.deepEqual((await listTree(upper)).sort(), ['app/', 'app/data', 'app/run']);
        assert.deepEqual(await fsp.readdir(path.dirname(upper)), ['fs'], 'the work dir is gone after commit');
      }
      await withMounted(await sn.prepare('next', 'image2'), async (dir) => {
        assert.equal(await fsp.readFile(path.join(dir, 'app/run'), 'utf8'), 'v2');
        assert.equal(await fsp.readFile(path.join(dir, 'app/data'), 'utf8'), 'new');
      });
      assert.deepEqual(await sn.differ.lowerDirs('next'), layered(sn) ? [upper, sn.differ.diffDir('image')] : [upper]);
    });

    it('reports usage of a snapshot’s own files', async () => {
      await layer('u0', undefined, { 'a/one': 'x'.repeat(1000), two: 'y'.repeat(2000) });
      await sn.prepare('u1', 'u0');
      await writeFiles(sn.differ.diffDir('u1'), { three: 'z'.repeat(500) });
      const u0 = await sn.usage('u0');
      // fs dir + a/ + a/one + two
      assert.deepEqual(u0, { size: 3000, inodes: 4 });
      const u1 = await sn.usage('u1');
      if (layered(sn)) assert.deepEqual(u1, { size: 500, inodes: 2 });
      else assert.deepEqual(u1, { size: 3500, inodes: 5 });
      await sn.commit('u1c', 'u1');
      assert.deepEqual(await sn.usage('u1c'), u1);
      // Hardlinked bytes count once.
      await sn.prepare('u2', 'u1c');
      await fsp.writeFile(path.join(sn.differ.diffDir('u2'), 'big'), Buffer.alloc(4096));
      await fsp.link(path.join(sn.differ.diffDir('u2'), 'big'), path.join(sn.differ.diffDir('u2'), 'big-link'));
      const u2 = await sn.usage('u2');
      assert.equal(u2.size - (layered(sn) ? 0 : 3500), 4096);
    });

    it('sweeps away directories that no record owns, and nothing else', async () => {
      await layer('keep', undefined, { f: 'kept' });
      await sn.prepare('keep-active', 'keep');
      const dir = path.join(fx.root, 'snapshots');
      const deadPid = 4_194_305; // above the largest PID Linux hands out
      const leftovers = ['999999', `new-${deadPid}-abc`, `rm-${deadPid}-def`];
      for (const l of leftovers) await writeFiles(path.join(dir, l), { 'fs/x': 'junk' });
      await sn.sweep();
      const names = await fsp.readdir(dir);
      for (const l of leftovers) assert.ok(!names.includes(l), `${l} was removed`);
      assert.equal(await fsp.readFile(path.join(sn.differ.diffDir('keep'), 'f'), 'utf8'), 'kept');
      await fsp.access(sn.differ.diffDir('keep-active'));
      assert.deepEqual(
        (await collect(sn)).map((i) => i.key),
        ['keep', 'keep-active'],
      );
      await withMounted(await sn.mounts('keep-active'), async (d) => {
        assert.equal(await fsp.readFile(path.join(d, 'f'), 'utf8'), 'kept');
      });
    });

    it('stats and walks snapshots with kind, parent and labels', async () => {
      const before = new Date(Date.now() - 1000).toISOString();
      await layer('s-base', undefined, { f: '1' });
      await sn.prepare('s-active', 's-base', { labels: { 'wharf.container': 'abc' } });
      await sn.view('s-view', 's-base');
      const st = await sn.stat('s-active');
      assert.equal(st?.key, 's-active');
      assert.equal(st?.kind, 'active');
      assert.equal(st?.parent, 's-base');
      assert.deepEqual(st?.labels, { 'wharf.container': 'abc' });
      assert.ok(st!.created >= before && !Number.isNaN(Date.parse(st!.created)));
      assert.equal((await sn.stat('s-base'))?.parent, undefined);
      assert.equal(await sn.stat('nope'), undefined);
      const all = await collect(sn);
      assert.deepEqual(
        all.map((i) => [i.key, i.kind, i.parent ?? '']),
        [
          ['s-base', 'committed', ''],
          ['s-active', 'active', 's-base'],
          ['s-view', 'view', 's-base'],
        ],
      );
      const relabelled = await sn.setLabels('s-base', { 'gc.root': 'yes' });
      assert.deepEqual(relabelled.labels, { 'gc.root': 'yes' });
      assert.deepEqual((await sn.stat('s-base'))?.labels, { 'gc.root': 'yes' });
    });

    it('keeps modes, owners, xattrs, hardlinks, symlinks and device nodes of the parent', async () => {
      await sn.prepare('meta-k');
      const d = sn.differ.diffDir('meta-k');
      await writeFiles(d, { 'bin/tool': '#!/bin/sh\n', 'etc/conf': 'c' });
      await fsp.chmod(path.join(d, 'bin/tool'), 0o4755);
      await fsp.chown(path.join(d, 'etc/conf'), 1234, 5678);
      await setAttribute(path.join(d, 'etc/conf'), 'user.wharf', 'v1');
      await fsp.link(path.join(d, 'bin/tool'), path.join(d, 'bin/tool-link'));
      await fsp.symlink('../etc/conf', path.join(d, 'bin/conf-link'));
      await run('mknod', [path.join(d, 'null'), 'c', '1', '3']);
      await sn.commit('meta', 'meta-k');
      await withMounted(await sn.prepare('meta-child', 'meta'), async (dir) => {
        const tool = await fsp.lstat(path.join(dir, 'bin/tool'));
        assert.equal(tool.mode & 0o7777, 0o4755);
        const link = await fsp.lstat(path.join(dir, 'bin/tool-link'));
        assert.equal(link.ino, tool.ino, 'hardlinks stay one inode');
        assert.equal(tool.nlink, 2);
        const conf = await fsp.lstat(path.join(dir, 'etc/conf'));
        assert.deepEqual([conf.uid, conf.gid], [1234, 5678]);
        assert.equal((await getAttribute(path.join(dir, 'etc/conf'), 'user.wharf'))?.toString(), 'v1');
        assert.equal(await fsp.readlink(path.join(dir, 'bin/conf-link')), '../etc/conf');
        const dev = await fsp.lstat(path.join(dir, 'null'));
        assert.ok(dev.isCharacterDevice());
        assert.equal(dev.rdev, (1 << 8) | 3);
      });
    });

    it('lists a snapshot’s changes and writes them as a layer tar, alike on every backend', async () => {
      await layer('d-base', undefined, { a: 'a', 'dir/b': 'b', 'dir/c': 'c', keep: 'k' });
      await withMounted(await sn.prepare('d-ctr', 'd-base'), async (dir) => {
        await fsp.writeFile(path.join(dir, 'a'), 'changed');
        await fsp.rm(path.join(dir, 'dir/b'));
        await writeFiles(dir, { 'dir/new': 'n', 'top/x': 'x' });
      });
      assert.deepEqual(await changesOf(sn, 'd-ctr'), [
        'C /a',
        'C /dir',
        'D /dir/b',
        'A /dir/new',
        'A /top',
        'A /top/x',
      ]);
      assert.deepEqual(await tarNames(await sn.differ.diffTar('d-ctr')), [
        'a',
        'dir',
        'dir/.wh.b',
        'dir/new',
        'top',
        'top/x',
      ]);
      const excluded = await sn.differ.diffTar('d-ctr', { exclude: (p) => p === '/top' });
      assert.deepEqual(await tarNames(excluded), ['a', 'dir', 'dir/.wh.b', 'dir/new']);
      // Without a parent everything is added.
      await sn.prepare('d-fresh');
      await writeFiles(sn.differ.diffDir('d-fresh'), { 'etc/conf': 'c' });
      assert.deepEqual(await changesOf(sn, 'd-fresh'), ['A /etc', 'A /etc/conf']);
      assert.deepEqual(await tarNames(await sn.differ.diffTar('d-fresh')), ['etc', 'etc/conf']);
    });

    it('gives an empty writable filesystem without a parent and an empty read-only view', async () => {
      await withMounted(await sn.prepare('empty'), async (dir) => {
        assert.deepEqual(await fsp.readdir(dir), []);
        await fsp.writeFile(path.join(dir, 'f'), '1');
      });
      const v = await sn.view('empty-view');
      assert.deepEqual(v[0]!.options, ['ro', 'rbind']);
      await withMounted(v, async (dir) => {
        assert.deepEqual(await fsp.readdir(dir), []);
        await assert.rejects(fsp.writeFile(path.join(dir, 'f'), '1'), { code: 'EROFS' });
      });
      assert.deepEqual(await sn.differ.lowerDirs('empty'), []);
    });
  });
}
