import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { reownTar, tarStream } from '../../../src/archive/index.js';
import { streamToBuffer } from '../archive-fixtures.js';
import { RAW_PAX, type PaxRecords } from '../../../src/archive/pax.js';

/** A tar of the given entries (uid/gid as given; the big one goes in PAX records). */
async function tarOf(entries: Array<{ name: string; uid: number; gid: number; body?: string }>): Promise<Buffer> {
  const pack = tarStream().pack();
  for (const e of entries) {
    const big = e.uid > 0o777777 ? { pax: { uid: String(e.uid), gid: String(e.gid) } } : {};
    const header = { name: e.name, uid: e.uid > 0o777777 ? 0 : e.uid, gid: e.gid > 0o777777 ? 0 : e.gid, ...big };
    await new Promise<void>((resolve, reject) =>
      pack.entry({ ...header, size: Buffer.byteLength(e.body ?? '') }, e.body ?? '', (err) =>
        err ? reject(err) : resolve(),
      ),
    );
  }
  pack.finalize();
  return streamToBuffer(pack as unknown as Readable);
}

async function owners(buf: Buffer): Promise<Array<[string, number, number, string]>> {
  const out: Array<[string, number, number, string]> = [];
  const extract = tarStream().extract();
  extract.on('entry', (h, body, next) => {
    const chunks: Buffer[] = [];
    body.on('data', (c) => chunks.push(c as Buffer));
    body.on('end', () => {
      const pax = (h.pax ?? {}) as Record<string, string>;
      out.push([h.name, Number(pax.uid ?? h.uid), Number(pax.gid ?? h.gid), Buffer.concat(chunks).toString()]);
      next();
    });
  });
  await new Promise<void>((resolve, reject) => {
    extract.on('finish', resolve);
    extract.on('error', reject);
    Readable.from([buf]).pipe(extract);
  });
  return out;
}

test('reownTar: every owner rewritten, PAX ids included, bodies unchanged', async () => {
  const input = await tarOf([
    { name: 'a', uid: 100000, gid: 100000, body: 'x' },
    { name: 'b', uid: 101000, gid: 101001, body: 'yy' },
    { name: 'c', uid: 5_000_000, gid: 5_000_000 },
  ]);
  const shift = (uid: number, gid: number) => ({ uid: uid - 100000, gid: gid - 100000 });
  const out = await streamToBuffer(reownTar(Readable.from([input]), shift));
  assert.deepEqual(await owners(out), [
    ['a', 0, 0, 'x'],
    ['b', 1000, 1001, 'yy'],
    ['c', 4_900_000, 4_900_000, ''],
  ]);
});

test('reownTar: a broken input ends the output with an error', async () => {
  const bad = Buffer.alloc(1024, 0x41);
  await assert.rejects(streamToBuffer(reownTar(Readable.from([bad]), (u, g) => ({ uid: u, gid: g }))));
});

test('reownTar: a binary xattr record keeps its bytes', async () => {
  const cap = Buffer.from('0100000200200000000000000000000000000000', 'hex');
  const pack = tarStream().pack();
  await new Promise<void>((resolve, reject) =>
    pack.entry(
      { name: 'ping', uid: 100000, gid: 100000, size: 0, pax: { 'SCHILY.xattr.security.capability': cap } as never },
      '',
      (err) => (err ? reject(err) : resolve()),
    ),
  );
  pack.finalize();
  const input = await streamToBuffer(pack as unknown as Readable);
  const out = await streamToBuffer(reownTar(Readable.from([input]), () => ({ uid: 0, gid: 0 })));
  const extract = tarStream().extract();
  const got = await new Promise<Buffer | undefined>((resolve, reject) => {
    extract.on('entry', (h, body, next) => {
      resolve((h.pax as PaxRecords | null)?.[RAW_PAX]?.['SCHILY.xattr.security.capability']);
      body.resume();
      body.on('end', next);
    });
    extract.on('error', reject);
    Readable.from([out]).pipe(extract);
  });
  assert.deepEqual(got, cap);
});
