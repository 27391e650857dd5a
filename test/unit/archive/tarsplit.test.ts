import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, mkdir, writeFile, symlink, link, readFile } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { execFileSync, spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { TarSplitRecorder, serializeTarSplit, reconstructTar, writeTarTo } from '../../../src/archive/tarsplit.js';
import { sendFileAvailable } from '../../../src/util/index.js';
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

/** writeTarTo into a program's stdin (as a zstd push does): the sha256 of what the program read. */
async function digestThroughPipe(write: (sink: Socket) => Promise<void>): Promise<string> {
  const child = spawn('sha256sum', [], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => {
    out += c;
  });
  const closed = new Promise((resolve) => child.on('close', resolve));
  try {
    await write(child.stdin as Socket);
  } finally {
    child.stdin.end();
    await closed;
  }
  return `sha256:${out.split(' ')[0]}`;
}

test('writeTarTo writes the same tar into a pipe, large files by sendfile, and checks their sizes', async () => {
  // The native addon is part of every build (scripts/build-native.mjs); without it this would test only the fallback.
  assert.ok(sendFileAvailable(), 'the sendfile addon is built');
  const dir = await mkdtemp(path.join(tmpdir(), 'wharf-tarsplit-'));
  try {
    const src = path.join(dir, 'src');
    await mkdir(path.join(src, 'd'), { recursive: true });
    await writeFile(path.join(src, 'd/small'), 'hello\n');
    await writeFile(path.join(src, 'empty'), '');
    await writeFile(path.join(src, 'medium.bin'), Buffer.alloc(300_000, 3)); // just over the sendfile threshold
    const big = Buffer.alloc(3_000_001);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 0xff;
    await writeFile(path.join(src, 'big.bin'), big);
    for (let i = 0; i < 50; i++) await writeFile(path.join(src, 'd', `f${i}`), `file ${i}\n`.repeat(i * 100));
    await link(path.join(src, 'big.bin'), path.join(src, 'hard.bin'));
    await symlink('d/small', path.join(src, 'link'));
    const tarFile = path.join(dir, 'layer.tar');
    execFileSync('tar', ['--format', 'pax', '-cf', tarFile, '-C', src, '.']);
    const original = digestOf(await readFile(tarFile));
    const rec = new TarSplitRecorder();
    await pipeline(createReadStream(tarFile), rec);
    const split = () => serializeTarSplit(rec.segments());

    assert.equal(await digestThroughPipe((sink) => writeTarTo(split(), src, sink)), original);

    await writeFile(path.join(src, 'big.bin'), big.subarray(0, 2_000_000)); // shrunk under the tar-split's feet
    await assert.rejects(
      digestThroughPipe((sink) => writeTarTo(split(), src, sink)),
      /layer file .*(big|hard)\.bin changed on disk: expected 3000001 bytes, found 2000000/,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
