import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { codeOf, is } from '../../src/errors/index.js';
import { decompressStream, detectCompression } from '../../src/archive/decompress.js';
import { bufferStream, streamToBuffer } from './archive-fixtures.js';

const payload = Buffer.concat([Buffer.from('hello layer\n'), Buffer.alloc(200_000, 'z'), Buffer.from([0, 1, 2, 255])]);
const compressWith = (file: string, args: string[], input: Buffer) =>
  execFileSync(file, args, { input, maxBuffer: 64 << 20 });

test('compression is sniffed from magic bytes', () => {
  assert.equal(detectCompression(Buffer.from([0x1f, 0x8b, 8, 0])), 'gzip');
  assert.equal(detectCompression(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])), 'xz');
  assert.equal(detectCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0])), 'zstd');
  assert.equal(detectCompression(Buffer.from('BZh91AY')), 'bzip2');
  assert.equal(detectCompression(Buffer.from('etc/passwd')), 'none');
  assert.equal(detectCompression(Buffer.from([0x1f])), 'none');
});

test('gzip, xz, zstd, bzip2 and plain streams all come out as the original bytes', async () => {
  const inputs: Record<string, Buffer> = {
    gzip: gzipSync(payload),
    xz: compressWith('xz', ['-c'], payload),
    zstd: compressWith('zstd', ['-c', '-q'], payload),
    bzip2: compressWith('bzip2', ['-c'], payload),
    none: payload,
  };
  for (const [kind, input] of Object.entries(inputs)) {
    // Deliver in tiny chunks so that sniffing must gather the magic bytes across chunks.
    const chunks = [input.subarray(0, 1), input.subarray(1, 3), input.subarray(3)];
    const out = await streamToBuffer(await decompressStream((await import('node:stream')).Readable.from(chunks)));
    assert.ok(out.equals(payload), `${kind} round trip`);
  }
});

test('short and empty inputs pass through', async () => {
  assert.equal((await streamToBuffer(await decompressStream(bufferStream(Buffer.alloc(0))))).length, 0);
  assert.deepEqual(await streamToBuffer(await decompressStream(bufferStream(Buffer.from('ab')))), Buffer.from('ab'));
});

test('truncated gzip fails with a clear INVALID_ARGUMENT error', async () => {
  const gz = gzipSync(payload);
  const out = await decompressStream(bufferStream(gz.subarray(0, gz.length - 100)));
  await assert.rejects(streamToBuffer(out), (err: unknown) => {
    assert.ok(is(err, 'INVALID_ARGUMENT'), String(err));
    assert.match((err as Error).message, /not valid gzip data: unexpected end of file/);
    return true;
  });
});

test('corrupt gzip fails with a clear INVALID_ARGUMENT error', async () => {
  const gz = Buffer.from(gzipSync(payload));
  for (let i = 20; i < 60; i++) gz[i] = gz[i]! ^ 0x5a;
  const out = await decompressStream(bufferStream(gz));
  await assert.rejects(
    streamToBuffer(out),
    (err: unknown) => is(err, 'INVALID_ARGUMENT') && /gzip/.test((err as Error).message),
  );
});

test('truncated xz fails instead of ending early', async () => {
  const xz = compressWith('xz', ['-c'], payload);
  const out = await decompressStream(bufferStream(xz.subarray(0, xz.length - 30)));
  await assert.rejects(streamToBuffer(out), (err: unknown) => {
    assert.equal(codeOf(err), 'INVALID_ARGUMENT', String(err));
    assert.match((err as Error).message, /not valid xz data/);
    return true;
  });
});

test('an error of the source stream reaches the consumer', async () => {
  const { Readable } = await import('node:stream');
  const src = new Readable({
    read() {
      this.push(gzipSync(payload).subarray(0, 50));
      this.destroy(new Error('connection reset'));
    },
  });
  await assert.rejects(async () => streamToBuffer(await decompressStream(src)), /connection reset/);
});

test('a small stream that has already ended is passed on whole (regression: read/unshift lost it)', async () => {
  const { PassThrough: PT } = await import('node:stream');
  const { decompressStream: dec } = await import('../../src/archive/decompress.js');
  for (let i = 0; i < 20; i++) {
    const src = new PT();
    const data = Buffer.alloc(3000 + i, 0x61);
    src.end(data);
    // Let the stream buffer everything and reach its end state before anyone reads it.
    await new Promise((r) => setImmediate(r));
    const out = await dec(src);
    const got: Buffer[] = [];
    for await (const c of out) got.push(c as Buffer);
    assert.equal(Buffer.concat(got).length, data.length, `attempt ${i}`);
  }
});
