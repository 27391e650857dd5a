import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { BlobDriver } from '../../src/registry/index.js';
import { is } from '../../src/errors/index.js';

async function readAll(d: BlobDriver, p: string, offset?: number, length?: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await d.reader(p, offset, length)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The behaviour every BlobDriver (filesystem now, S3 later) must have. */
export function runBlobDriverSuite(
  name: string,
  factory: () => Promise<{ driver: BlobDriver; cleanup(): Promise<void> }>,
): void {
  describe(`BlobDriver suite: ${name}`, () => {
    let driver: BlobDriver;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ driver, cleanup } = await factory());
    });
    afterEach(async () => cleanup());

    it('writes, commits, stats and reads back, with offsets and lengths', async () => {
      const data = randomBytes(300_000);
      const w = await driver.writer('a/b/c', false);
      await w.write(data.subarray(0, 1000));
      await w.write(data.subarray(1000));
      assert.equal(w.size, data.length);
      await w.commit();
      assert.equal((await driver.stat('a/b/c'))?.size, data.length);
      assert.deepEqual(await readAll(driver, 'a/b/c'), data);
      assert.deepEqual(await readAll(driver, 'a/b/c', 1000), data.subarray(1000));
      assert.deepEqual(await readAll(driver, 'a/b/c', 10, 20), data.subarray(10, 30));
      assert.equal((await readAll(driver, 'a/b/c', 5, 0)).length, 0);
    });

    it('names, when it keeps files, the local file of a path, holding exactly its bytes (what the server sendfiles)', async () => {
      const data = randomBytes(5000);
      const w = await driver.writer('x/y', false);
      await w.write(data);
      await w.commit();
      // A driver without files serves every read through reader(): the server then streams instead of sendfile.
      if (!driver.localPath) return assert.deepEqual(await readAll(driver, 'x/y'), data);
      assert.deepEqual(await fsp.readFile(driver.localPath('x/y')), data);
      assert.throws(
        () => driver.localPath!('../escape'),
        (e: unknown) => is(e, 'INVALID_ARGUMENT'),
      );
    });

    it('writes tens of MiB in network-sized chunks, through close and append, and reads them back', async () => {
      // Big enough for the filesystem driver's background syncs to run while writes continue.
      const data = randomBytes(21 * 1024 * 1024 + 333);
      const half = 12 * 1024 * 1024;
      let w = await driver.writer('big', false);
      for (let o = 0; o < half; o += 65536) await w.write(data.subarray(o, Math.min(o + 65536, half)));
      await w.close();
      w = await driver.writer('big', true);
      assert.equal(w.size, half);
      for (let o = half; o < data.length; o += 65536) await w.write(data.subarray(o, Math.min(o + 65536, data.length)));
      await w.commit();
      assert.equal((await driver.stat('big'))?.size, data.length);
      assert.ok((await readAll(driver, 'big')).equals(data));
    });

    it('appends across writers and reports the running size', async () => {
      const w1 = await driver.writer('up/1', true);
      await w1.write(Buffer.from('hello '));
      await w1.close();
      const w2 = await driver.writer('up/1', true);
      assert.equal(w2.size, 6);
      await w2.write(Buffer.from('world'));
      await w2.commit();
      assert.equal((await readAll(driver, 'up/1')).toString(), 'hello world');
      const w3 = await driver.writer('up/1', false);
      assert.equal(w3.size, 0, 'a non-append writer truncates');
      await w3.cancel();
      assert.equal(await driver.stat('up/1'), undefined, 'cancel removes the object');
    });

    it('moves atomically over an existing object', async () => {
      for (const [p, s] of [
        ['x/src', 'new'],
        ['y/dst', 'old'],
      ] as const) {
        const w = await driver.writer(p, false);
        await w.write(Buffer.from(s));
        await w.commit();
      }
      await driver.move('x/src', 'y/dst');
      assert.equal(await driver.stat('x/src'), undefined);
      assert.equal((await readAll(driver, 'y/dst')).toString(), 'new');
      await assert.rejects(driver.move('x/src', 'z'), (e) => is(e, 'NOT_FOUND'));
    });

    it('lists below a prefix and deletes files and prefixes; absent paths are fine', async () => {
      for (const p of ['l/a/1', 'l/a/2', 'l/b/3', 'm/4']) {
        const w = await driver.writer(p, false);
        await w.commit();
      }
      const listed: string[] = [];
      for await (const p of driver.list('l')) listed.push(p);
      assert.deepEqual(listed.sort(), ['l/a/1', 'l/a/2', 'l/b/3']);
      await driver.delete('l/a');
      await driver.delete('l/b/3');
      await driver.delete('does/not/exist');
      const after: string[] = [];
      for await (const p of driver.list('l')) after.push(p);
      assert.deepEqual(after, []);
      assert.ok(await driver.stat('m/4'));
      const none: string[] = [];
      for await (const p of driver.list('nothing-here')) none.push(p);
      assert.deepEqual(none, []);
    });

    it('reports missing objects and refuses paths that escape the store', async () => {
      assert.equal(await driver.stat('nope'), undefined);
      await assert.rejects(driver.reader('nope'), (e) => is(e, 'NOT_FOUND'));
      for (const bad of ['../etc/passwd', '/abs', 'a/../../b', 'a//b', '']) {
        await assert.rejects(driver.writer(bad, false), (e) => is(e, 'INVALID_ARGUMENT'), bad);
      }
    });
  });
}
