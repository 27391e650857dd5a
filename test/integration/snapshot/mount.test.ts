import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { is } from '../../../src/errors/index.js';
import {
  isMountPoint,
  mountAll,
  nativeMountAvailable,
  overlaySupported,
  unmount,
  volatileMounts,
} from '../../../src/snapshot/index.js';

describe('mountAll / unmount', () => {
  let base: string;
  const targets: string[] = [];
  before(async () => {
    base = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-mount-'));
  });
  after(async () => {
    for (const t of targets) await unmount(t, { lazy: true }).catch(() => {});
    await fsp.rm(base, { recursive: true, force: true });
  });
  const dir = async (name: string, files: Record<string, string> = {}) => {
    const d = path.join(base, name);
    await fsp.mkdir(d, { recursive: true });
    for (const [f, c] of Object.entries(files)) await fsp.writeFile(path.join(d, f), c);
    return d;
  };

  it('finds overlay support on this filesystem', async () => {
    assert.equal(await overlaySupported(await dir('probe')), true);
    assert.deepEqual(await fsp.readdir(path.join(base, 'probe')), [], 'the probe cleans up after itself');
  });

  it('bind-mounts read-only, stacks mounts and unmounts all of them', async () => {
    const a = await dir('a', { f: 'a' });
    const b = await dir('b', { f: 'b' });
    const t = await dir('t1');
    targets.push(t);
    await mountAll([{ type: 'bind', source: a, options: ['ro', 'rbind'] }], t);
    assert.equal(await isMountPoint(t), true);
    assert.equal(await fsp.readFile(path.join(t, 'f'), 'utf8'), 'a');
    await assert.rejects(fsp.writeFile(path.join(t, 'g'), 'x'), { code: 'EROFS' });
    await mountAll([{ type: 'bind', source: b, options: ['rw'] }], t);
    assert.equal(await fsp.readFile(path.join(t, 'f'), 'utf8'), 'b');
    await unmount(t);
    assert.equal(await isMountPoint(t), false);
    assert.deepEqual(await fsp.readdir(t), []);
  });

  it('tolerates unmounting what is not mounted or does not exist', async () => {
    await unmount(await dir('plain'));
    await unmount(path.join(base, 'does-not-exist'));
    assert.equal(await isMountPoint(path.join(base, 'does-not-exist')), false);
  });

  it('undoes earlier mounts when a later one fails', async () => {
    const a = await dir('c', { f: 'c' });
    const t = await dir('t2');
    targets.push(t);
    await assert.rejects(
      mountAll(
        [
          { type: 'bind', source: a, options: ['rbind'] },
          { type: 'bind', source: path.join(base, 'missing-source'), options: ['rbind'] },
        ],
        t,
      ),
      (err: unknown) => is(err, 'INTERNAL'),
    );
    assert.equal(await isMountPoint(t), false);
  });

  it('mounts an overlay whose options exceed a page by making its paths relative', async () => {
    // Deliberately long directory names: 40 lower dirs of ~120 characters each.
    const long = path.join(base, 'x'.repeat(60), 'y'.repeat(40));
    const lowers: string[] = [];
    for (let i = 0; i < 40; i++) {
      const d = path.join(long, `layer-${i}`);
      await fsp.mkdir(d, { recursive: true });
      await fsp.writeFile(path.join(d, `f${i}`), String(i));
      lowers.unshift(d);
    }
    const upper = path.join(long, 'upper');
    const work = path.join(long, 'work');
    await fsp.mkdir(upper);
    await fsp.mkdir(work);
    const t = await dir('t3');
    targets.push(t);
    const options = [`lowerdir=${lowers.join(':')}`, `upperdir=${upper}`, `workdir=${work}`];
    assert.ok(options.join(',').length > 4096);
    await mountAll([{ type: 'overlay', source: 'overlay', options }], t);
    try {
      assert.equal((await fsp.readdir(t)).length, 40);
      assert.equal(await fsp.readFile(path.join(t, 'f0'), 'utf8'), '0');
      await fsp.writeFile(path.join(t, 'new'), 'n');
    } finally {
      await unmount(t);
    }
    assert.equal(await fsp.readFile(path.join(upper, 'new'), 'utf8'), 'n');
  });

  for (const native of [true, false]) {
    it(`overlay mount, copy-up, busy and lazy unmount, bad options ${native ? 'with the native addon' : 'through mount(8) (WHARF_NATIVE=0)'}`, async () => {
      const saved = process.env.WHARF_NATIVE;
      if (!native) process.env.WHARF_NATIVE = '0';
      try {
        // npm test builds the addon: its absence here would be a build regression, not a fallback.
        assert.equal(nativeMountAvailable(), native);
        const tag = native ? 'n' : 'x';
        const lower = await dir(`${tag}-lower`, { f: 'lower' });
        const upper = await dir(`${tag}-upper`);
        const work = await dir(`${tag}-work`);
        const t = await dir(`${tag}-t`);
        targets.push(t);
        await mountAll(
          [
            {
              type: 'overlay',
              source: 'overlay',
              options: [`lowerdir=${lower}`, `upperdir=${upper}`, `workdir=${work}`],
            },
          ],
          t,
        );
        assert.equal(await isMountPoint(t), true);
        await fsp.writeFile(path.join(t, 'f'), 'changed');
        assert.equal(await fsp.readFile(path.join(lower, 'f'), 'utf8'), 'lower');
        assert.equal(await fsp.readFile(path.join(upper, 'f'), 'utf8'), 'changed');
        // Busy: a CONFLICT; lazy detaches it anyway.
        const fh = await fsp.open(path.join(t, 'f'), 'r');
        process.chdir(t);
        try {
          await assert.rejects(unmount(t), (err: unknown) => is(err, 'CONFLICT'));
        } finally {
          process.chdir('/');
        }
        await unmount(t, { lazy: true });
        await fh.close();
        assert.equal(await isMountPoint(t), false);
        await assert.rejects(
          mountAll(
            [
              {
                type: 'overlay',
                source: 'overlay',
                options: [`lowerdir=${path.join(base, 'no-such-dir')}`, `upperdir=${upper}`, `workdir=${work}`],
              },
            ],
            t,
          ),
          (err: unknown) => is(err, 'INTERNAL') && /cannot mount on /.test((err as Error).message),
        );
        assert.equal(await isMountPoint(t), false);
      } finally {
        if (saved === undefined) delete process.env.WHARF_NATIVE;
        else process.env.WHARF_NATIVE = saved;
      }
    });
  }

  it('volatile overlays (no sync at unmount) can be mounted again, volatile or not', async () => {
    const lower = await dir('v-lower', { f: 'lower' });
    const upper = await dir('v-upper');
    const work = await dir('v-work');
    const t = await dir('v-t');
    targets.push(t);
    const mounts = [
      {
        type: 'overlay' as const,
        source: 'overlay',
        options: [`lowerdir=${lower}`, `upperdir=${upper}`, `workdir=${work}`],
      },
    ];
    assert.deepEqual(volatileMounts(mounts)[0]!.options.at(-1), 'volatile');
    assert.deepEqual(mounts[0]!.options.length, 3, 'the input is not changed');
    await mountAll(volatileMounts(mounts), t);
    assert.match(await fsp.readFile('/proc/self/mountinfo', 'utf8'), /volatile/);
    await fsp.writeFile(path.join(t, 'g'), 'one');
    await unmount(t);
    await fsp.stat(path.join(work, 'work', 'incompat', 'volatile')); // the kernel's marker
    await mountAll(volatileMounts(mounts), t);
    assert.equal(await fsp.readFile(path.join(t, 'g'), 'utf8'), 'one');
    await unmount(t);
    await mountAll(mounts, t);
    assert.equal(await fsp.readFile(path.join(t, 'f'), 'utf8'), 'lower');
    await unmount(t);
  });

  it('refuses overlay paths that mount options cannot carry', async () => {
    const t = await dir('t4');
    await assert.rejects(
      mountAll([{ type: 'overlay', source: 'overlay', options: ['lowerdir=/a,b:/c', 'upperdir=/u', 'workdir=/w'] }], t),
      (err: unknown) => is(err, 'INVALID_ARGUMENT'),
    );
  });
});
