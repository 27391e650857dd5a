import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { createGzip, gunzipSync } from 'node:zlib';
import { serializeTarSplit, type TarSegment } from '../../../src/archive/tarsplit.js';

const lineOf = (s: TarSegment) =>
  'raw' in s ? `${JSON.stringify({ r: s.raw.toString('base64') })}\n` : `${JSON.stringify({ f: s.file, s: s.size })}\n`;

async function bytesOf(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

test('serializeTarSplit writes its lines in large pieces and gives the gzip bytes of one write per line', async () => {
  // 3,000 files' worth (~2.5 MB of lines): more than one piece.
  const segments: TarSegment[] = [];
  for (let i = 0; i < 3000; i++) {
    const header = Buffer.alloc(i % 7 === 0 ? 1536 : 512);
    header.write(`data/f${i}`);
    segments.push({ raw: header }, { file: `data/f${i}`, size: 100_000 + i });
  }
  for (const segs of [[], segments.slice(0, 3), segments]) {
    const perLine = await bytesOf(Readable.from(segs.map(lineOf)).pipe(createGzip({ level: 6 })));
    const got = await bytesOf(serializeTarSplit(segs));
    assert.equal(gunzipSync(got).toString(), segs.map(lineOf).join(''));
    assert.ok(got.equals(perLine), `${segs.length} segments: the same gzip bytes`);
  }
});
