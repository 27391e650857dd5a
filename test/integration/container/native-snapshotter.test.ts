// Containers on a root made with the native (copying) snapshotter: run, diff, commit and inspect go through the
// snapshotter's differ, and give what they give on overlay.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { ok, tempRoot } from '../../helpers/cli.js';
import { makeBusyboxTar } from '../../helpers/busybox.js';
import { Wharf } from '../../../src/engine/index.js';

type Root = Awaited<ReturnType<typeof tempRoot>>;
let t: Root;

before(async () => {
  t = await tempRoot('wharf-ctr-native-');
  // The first open fixes the root's snapshotter for good; the CLI then keeps it.
  (await Wharf.open({ root: t.root, snapshotter: 'native' })).close();
  const tar = await makeBusyboxTar(t.root, async (rootfs) => {
    await fsp.mkdir(path.join(rootfs, 'data/sub'), { recursive: true });
    await fsp.writeFile(path.join(rootfs, 'data/sub/old'), 'old\n');
  });
  ok(await t.cli(['import', '-c', 'CMD ["sh"]', tar, 'busybox']), 'import busybox');
  await fsp.rm(tar);
});
after(async () => {
  const ids = (await t.cli(['ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean);
  if (ids.length) await t.cli(['rm', '-f', '-v', ...ids]);
  await t.cleanup();
});

test('diff, commit and inspect of a container on the native snapshotter', async () => {
  const steps = 'echo new > /new.txt; rm /bin/wget; rm -rf /data/sub; mkdir /data/sub; echo n > /data/sub/n';
  ok(await t.cli(['run', '--name', 'n1', 'busybox', 'sh', '-c', steps]), 'run');
  const diff = ok(await t.cli(['diff', 'n1']), 'diff')
    .stdout.split('\n')
    .filter(Boolean);
  // The same list as on overlay (the init layer's files stay out, being the parent's).
  assert.deepEqual(diff, [
    'C /bin',
    'D /bin/wget',
    'C /data',
    'C /data/sub',
    'A /data/sub/n',
    'D /data/sub/old',
    'A /new.txt',
  ]);

  const doc = JSON.parse(ok(await t.cli(['inspect', 'n1']), 'inspect').stdout)[0];
  assert.equal(doc.GraphDriver.Name, 'vfs');
  assert.equal(doc.Driver, 'vfs');
  await fsp.stat(doc.GraphDriver.Data.UpperDir);

  ok(await t.cli(['commit', 'n1', 'native:v1']), 'commit');
  const out = ok(
    await t.cli(['run', '--rm', 'native:v1', 'sh', '-c', 'cat /new.txt; ls /bin/wget 2>&1; ls /data/sub']),
    'run committed',
  ).stdout;
  const lines = out.split('\n');
  assert.equal(lines[0], 'new');
  assert.match(lines[1]!, /No such file/);
  assert.equal(lines[2], 'n', 'the deleted file stays deleted in the committed image');
  const img = JSON.parse(ok(await t.cli(['image', 'inspect', 'native:v1']), 'image inspect').stdout)[0];
  assert.equal(img.RootFS.Layers.length, 2);
  assert.equal(ok(await t.cli(['system', 'check']), 'check').code, 0);
});
