/**
 * GrowingFile (transfer/growing-file.ts), on a real file: a reader follows a writer that appends in steps, never reads
 * past what the writer reported, fails as soon as the writer does, and stops at once when destroyed while waiting.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { GrowingFile } from '../../../src/transfer/growing-file.js';
import { WharfError, is } from '../../../src/errors/index.js';

let dir: string;
before(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-growing-'));
});
after(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

async function collect(r: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

test('a reader gets exactly the bytes written, from a resumed start, while the file grows', async () => {
  const file = path.join(dir, 'grow');
  const data = randomBytes(3 * (1 << 20) + 12345);
  const resumedAt = 100_000;
  await fsp.writeFile(file, data.subarray(0, resumedAt));
  const g = await GrowingFile.open(file, resumedAt);
  const read = collect(g.reader(data.length));
  const fh = await fsp.open(file, 'a');
  // Steps of 700 kB: the reader catches up and waits several times.
  for (let at = resumedAt; at < data.length; at += 700_000) {
    const end = Math.min(at + 700_000, data.length);
    await fh.write(data.subarray(at, end));
    g.grew(end);
    await new Promise((r) => setImmediate(r));
  }
  await fh.close();
  // Renamed away before the reader is done (a download's commit publishes the ingest file as the blob).
  await fsp.rename(file, `${file}.blob`);
  g.finish();
  assert.ok((await read).equals(data));
  await g.close();
});

test('a waiting reader fails with the writer’s error', async () => {
  const file = path.join(dir, 'fail');
  await fsp.writeFile(file, Buffer.alloc(1000, 7));
  const g = await GrowingFile.open(file, 1000);
  const read = collect(g.reader(5000));
  setImmediate(() => g.fail(new WharfError('DIGEST_MISMATCH', 'flipped')));
  await assert.rejects(read, (err) => is(err, 'DIGEST_MISMATCH'));
  await g.close();
});

test('a download that ends short fails the reader; destroying a waiting reader ends it at once', async () => {
  const file = path.join(dir, 'short');
  await fsp.writeFile(file, Buffer.alloc(10, 1));
  const g = await GrowingFile.open(file, 10);
  const short = collect(g.reader(20));
  setImmediate(() => g.finish());
  await assert.rejects(short, (err) => is(err, 'SIZE_MISMATCH'));

  const g2 = await GrowingFile.open(file, 10);
  const r = g2.reader(20);
  const closed = new Promise<void>((resolve) => r.once('close', () => resolve()));
  r.resume();
  await new Promise((res) => setImmediate(res));
  r.destroy();
  await closed; // without a writer ever writing again
  await g.close();
  await g2.close();
});
