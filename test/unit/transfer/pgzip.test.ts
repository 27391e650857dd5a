import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { ParallelGzip, type ParallelGzipOptions } from '../../../src/transfer/index.js';

async function gz(data: Buffer, opts: ParallelGzipOptions, chunk: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += chunk) parts.push(data.subarray(i, i + chunk));
  return Buffer.concat(await Readable.from(parts).pipe(new ParallelGzip(opts)).toArray());
}

// Compressible but not trivial: text-like lines with random words, plus a stretch of random bytes.
function sample(size: number): Buffer {
  const words = Array.from({ length: 200 }, () => randomBytes(4).toString('hex'));
  const lines: string[] = [];
  let n = 0;
  while (n < size) {
    const l = `${words[n % 197]} ${words[(n * 7) % 199]} ${n}\n`;
    lines.push(l);
    n += l.length;
  }
  const text = Buffer.from(lines.join('')).subarray(0, size);
  return Buffer.concat([text.subarray(0, size >> 1), randomBytes(size >> 3), text.subarray(size >> 1)]).subarray(
    0,
    size,
  );
}

test('parallel gzip output is ordinary gzip that gunzip and gzip -t accept', async () => {
  for (const size of [0, 1, 1000, 64 * 1024, 64 * 1024 * 3, 64 * 1024 * 3 + 17]) {
    const data = sample(size);
    const out = await gz(data, { blockSize: 64 * 1024 }, 4096);
    assert.ok(gunzipSync(out).equals(data), `round trip of ${size} bytes`);
    execFileSync('gzip', ['-t'], { input: out });
  }
});

test('the bytes depend on the input and settings only: not on chunking or the number of workers', async () => {
  const data = sample(700_000);
  const a = await gz(data, { blockSize: 128 * 1024, level: 3 }, 65536);
  const b = await gz(data, { blockSize: 128 * 1024, level: 3, workers: 1 }, 999);
  const c = await gz(data, { blockSize: 128 * 1024, level: 3, workers: 7 }, 700_000);
  assert.ok(a.equals(b) && a.equals(c));
  const faster = await gz(data, { blockSize: 128 * 1024, level: 1 }, 65536);
  assert.ok(!faster.equals(a), 'the level changes the output');
  assert.ok(gunzipSync(faster).equals(data));
});

test('blocks reuse the previous block as dictionary, so splitting costs almost nothing', async () => {
  const data = sample(1_000_000);
  const one = await gz(data, { blockSize: 4 << 20 }, 65536);
  const many = await gz(data, { blockSize: 64 * 1024 }, 65536);
  assert.ok(many.length < one.length * 1.03, `${many.length} vs ${one.length}`);
});

test('incompressible blocks are stored: no bigger than the input, valid, and still deterministic', async () => {
  const data = Buffer.concat([randomBytes(300_000), sample(300_000), randomBytes(100_000)]);
  const a = await gz(data, { blockSize: 64 * 1024 }, 65536);
  const b = await gz(data, { blockSize: 64 * 1024, workers: 1 }, 1000);
  assert.ok(a.equals(b));
  assert.ok(gunzipSync(a).equals(data));
  execFileSync('gzip', ['-t'], { input: a });
  const random = randomBytes(1 << 20);
  const stored = await gz(random, { blockSize: 128 * 1024 }, 65536);
  // Stored blocks cost 5 bytes each (plus the header and trailer); deflated random data grows more than that.
  assert.ok(stored.length < random.length + 200, `${stored.length} bytes for ${random.length}`);
  assert.ok(gunzipSync(stored).equals(random));
});
