/**
 * Two layers with the same changes on different parents (one file COPYed onto two bases) have different chain IDs
 * but one tar-split blob: the tar-split holds no parent. Removing one image must keep the blob the other still
 * needs (it did not: `system check` then found "tar-split of layer … is missing", and `save`/`push` of the other
 * image could not rebuild its tar).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { tempRoot, ok } from '../../helpers/cli.js';
import { makeBusyboxTar } from '../../helpers/busybox.js';
import { Wharf } from '../../../src/engine/index.js';

let t: Awaited<ReturnType<typeof tempRoot>>;

before(async () => {
  t = await tempRoot();
  ok(await t.cli(['import', await makeBusyboxTar(t.root), 'base1']), 'import');
});
after(async () => t.cleanup());

async function build(tag: string, dockerfile: string): Promise<void> {
  const dir = await fsp.mkdtemp(path.join(t.root, 'ctx-'));
  await fsp.writeFile(path.join(dir, 'Dockerfile'), dockerfile);
  for (const f of ['f', 'g']) {
    await fsp.writeFile(path.join(dir, f), `${f}\n`);
    await fsp.utimes(path.join(dir, f), 1_700_000_000, 1_700_000_000); // COPY keeps the mtime: same headers
  }
  ok(await t.cli(['build', '-q', '-t', tag, dir]), `build ${tag}`);
}

test('removing one of two images whose top layers share a tar-split keeps the blob for the other', async () => {
  await build('base2', 'FROM base1\nCOPY g /g\n');
  await build('a', 'FROM base1\nCOPY f /f\n');
  await build('b', 'FROM base2\nCOPY f /f\n');
  const w = await Wharf.open({ root: t.root });
  try {
    const top = (ref: string) => w.images.layers.get(w.images.resolve(ref).topChain!)!;
    const [la, lb] = [top('a'), top('b')];
    assert.notEqual(la.chainId, lb.chainId, 'different parents, different chain IDs');
    assert.ok(la.tarsplit && la.tarsplit === lb.tarsplit, 'the premise: one tar-split blob for both layers');
  } finally {
    w.close();
  }
  ok(await t.cli(['rmi', 'a']), 'rmi a');
  assert.match(ok(await t.cli(['system', 'check']), 'check').stdout, /no problems/);
  // The other image's exact tar is still there to save.
  const out = path.join(t.root, 'b.tar');
  ok(await t.cli(['save', '-o', out, 'b']), 'save b');
  assert.ok((await fsp.stat(out)).size > 0);
});
