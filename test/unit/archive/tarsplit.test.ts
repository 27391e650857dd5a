import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, mkdir, writeFile, symlink, link, readFile } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { execFileSync } from 'node:child_process';
import { TarSplitRecorder, serializeTarSplit, reconstructTar } from '../../../src/archive/tarsplit.js';
import { digestOf, DigestStream } from '../../../src/digest/index.js';

async function digestStream(r: Readable): Promise<string> {
  const d = new DigestStream();
  await pipeline(r, d, async (src: AsyncIterable<Buffer>) => {
    for await (const _ of src) void _;
  });
  return d.digest();
}

for (const format of ['gnu', 'pax', 'ustar']) {
  test(`tar-split rebuilds a ${format} tar byte for byte from the unpacked files`, async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'wharf-tarsplit-'));
    try {
      const src = path.join(dir, 'src');
      await mkdir(path.join(src, 'a/b'), { recursive: true });
      await writeFile(path.join(src, 'a/b/file.txt'), 'hello\n');
      await writeFile(path.join(src, 'big.bin'), Buffer.alloc(100_000, 7));
      await writeFile(path.join(src, 'empty'), '');
      const long = 'x'.repeat(format === 'ustar' ? 90 : 150);
      await writeFile(path.join(src, 'a', long), 'long name');
      await symlink('a/b/file.txt', path.join(src, 'link'));
      await link(path.join(src, 'big.bin'), path.join(src, 'hard.bin'));
      const tarFile = path.join(dir, 'layer.tar');
      execFileSync('tar', ['--format', format, '-cf', tarFile, '-C', src, '.']);
      const original = digestOf(await readFile(tarFile));

      const out = path.join(dir, 'out');
      await mkdir(out);
      execFileSync('tar', ['-xf', tarFile, '-C', out]);
      const rec = new TarSplitRecorder();
      await pipeline(createReadStream(tarFile), rec);
      assert.ok(rec.reproducible);
      assert.ok(rec.segments().some((s) => 'file' in s && s.size === 100_000));
      const rebuilt = await digestStream(reconstructTar(serializeTarSplit(rec.segments()), out));
      assert.equal(rebuilt, original);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}

test('tar-split refuses to emit a different tar when a file changed size', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'wharf-tarsplit-'));
  try {
    const src = path.join(dir, 'src');
    await mkdir(src);
    await writeFile(path.join(src, 'f'), 'abcdef');
    const tarFile = path.join(dir, 'layer.tar');
    execFileSync('tar', ['-cf', tarFile, '-C', src, 'f']);
    const rec = new TarSplitRecorder();
    await pipeline(createReadStream(tarFile), rec);
    await writeFile(path.join(src, 'f'), 'abc');
    await assert.rejects(digestStream(reconstructTar(serializeTarSplit(rec.segments()), src)), /changed on disk/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a tar with the same file twice is marked not reproducible', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'wharf-tarsplit-'));
  try {
    await writeFile(path.join(dir, 'f'), 'one');
    const tarFile = path.join(dir, 'dup.tar');
    execFileSync('tar', ['-cf', tarFile, '-C', dir, 'f']);
    await writeFile(path.join(dir, 'f'), 'two!');
    execFileSync('tar', ['-rf', tarFile, '-C', dir, 'f']);
    const rec = new TarSplitRecorder();
    await pipeline(createReadStream(tarFile), rec);
    assert.equal(rec.reproducible, false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
