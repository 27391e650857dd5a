import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { applyLayer, directoryChanges, directoryDiffTar, tarDirectory } from '../../src/archive/index.js';
import {
  T0,
  bufferStream,
  createTree,
  describeTree,
  listTar,
  sha256,
  streamToBuffer,
  tempDir,
} from './archive-fixtures.js';

test('directoryChanges and directoryDiffTar turn a lower tree into the upper one (native snapshots)', async () => {
  const dir = await tempDir('treediff');
  try {
    const lower = path.join(dir, 'lower');
    const upper = path.join(dir, 'upper');
    await createTree(lower, [
      { kind: 'dir', path: 'etc' },
      { kind: 'file', path: 'etc/a', content: 'a' },
      { kind: 'file', path: 'etc/b', content: 'b' },
      { kind: 'file', path: 'etc/same', content: 's' },
      { kind: 'dir', path: 'gone' },
      { kind: 'file', path: 'gone/x', content: 'x' },
      { kind: 'dir', path: 'keep' },
      { kind: 'file', path: 'keep/k', content: 'k' },
      { kind: 'file', path: 'becomes-dir', content: 'f' },
      { kind: 'symlink', path: 'ln', target: 'etc/a' },
    ]);
    execFileSync('cp', ['-a', lower, upper]);
    assert.deepEqual(await collect(directoryChanges(lower, upper)), [], 'a faithful copy has no changes');

    await fsp.writeFile(path.join(upper, 'etc/a'), 'changed');
    await fsp.utimes(path.join(upper, 'etc/a'), T0, T0);
    await fsp.rm(path.join(upper, 'etc/b'));
    await fsp.rm(path.join(upper, 'gone'), { recursive: true });
    await fsp.chmod(path.join(upper, 'keep'), 0o700);
    await fsp.rm(path.join(upper, 'becomes-dir'));
    await fsp.mkdir(path.join(upper, 'becomes-dir'));
    await fsp.writeFile(path.join(upper, 'becomes-dir/inner'), 'i');
    await fsp.rm(path.join(upper, 'ln'));
    await fsp.symlink('etc/same', path.join(upper, 'ln'));
    await fsp.mkdir(path.join(upper, 'new/deep'), { recursive: true });
    await fsp.writeFile(path.join(upper, 'new/deep/file'), 'n');

    assert.deepEqual(await collect(directoryChanges(lower, upper)), [
      'C /becomes-dir',
      'A /becomes-dir/inner',
      'C /etc',
      'C /etc/a',
      'D /etc/b',
      'D /gone',
      'C /keep',
      'C /ln',
      'A /new',
      'A /new/deep',
      'A /new/deep/file',
    ]);

    const layer = await streamToBuffer(directoryDiffTar(lower, upper));
    assert.equal(sha256(layer), sha256(await streamToBuffer(directoryDiffTar(lower, upper))), 'deterministic');
    const names = (await listTar(layer)).map((e) => e.name);
    assert.ok(names.indexOf('.wh.gone') < names.indexOf('becomes-dir/'), 'whiteouts before their siblings');
    assert.ok(
      names.includes('etc/.wh.b') && !names.includes('etc/same') && !names.includes('keep/k'),
      names.join(', '),
    );

    // Applying the diff onto the lower tree gives the upper tree.
    const rebuilt = path.join(dir, 'rebuilt');
    await applyLayer(tarDirectory(lower), rebuilt, { whiteouts: 'none' });
    await applyLayer(bufferStream(layer), rebuilt, { whiteouts: 'none' });
    assert.deepEqual(await describeTree(rebuilt), await describeTree(upper));
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
});

async function collect(it: AsyncIterable<{ kind: string; path: string }>): Promise<string[]> {
  const out: string[] = [];
  for await (const c of it) out.push(`${c.kind} ${c.path}`);
  return out;
}
