/**
 * The shared ContentStore test suite (containerd's core/content/testsuite): every backend runs it
 * (test/unit/content/: local and in-memory). Test-only, so it lives outside src/ and is not shipped.
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { PassThrough, Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { is, type ErrorCode } from '../../src/errors/index.js';
import { digestOf, type Digest } from '../../src/digest/index.js';
import type { BlobInfo, ContentStore } from '../../src/content/index.js';

export interface ContentStoreFixture {
  store: ContentStore;
  cleanup(): Promise<void>;
  /** Replaces the stored bytes of a blob behind the store's back (disk rot, a stray write). */
  corrupt(d: Digest, data: Buffer): Promise<void>;
  /**
   * How another process opens the same store: `new (await import(module))[exportName](...args)`.
   * Without it the killed-writer test cannot run for this backend.
   */
  child?: { module: string; exportName: string; args: unknown[] };
}

async function rejectsWith(p: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(is(err, code), `expected ${code}, got ${String((err as Error)?.stack ?? err)}`);
    return true;
  });
}

function chunked(data: Buffer, size = 7919): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) parts.push(data.subarray(i, i + size));
  return Readable.from(parts);
}

async function readStream(r: Readable): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of r) out.push(c as Buffer);
  return Buffer.concat(out);
}

async function listAll(store: ContentStore): Promise<BlobInfo[]> {
  const out: BlobInfo[] = [];
  for await (const b of store.walk()) out.push(b);
  return out.sort((a, b) => a.digest.localeCompare(b.digest));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function runContentStoreSuite(name: string, factory: () => Promise<ContentStoreFixture>): void {
  describe(`ContentStore suite: ${name}`, () => {
    let fx: ContentStoreFixture;
    let store: ContentStore;
    beforeEach(async () => {
      fx = await factory();
      store = fx.store;
    });
    afterEach(async () => {
      await fx.cleanup();
    });

    it('round-trips a streamed blob and reports its digest and size', async () => {
      const data = randomBytes(300_000);
      const d = digestOf(data);
      const got = await store.write(chunked(data));
      assert.deepEqual(got, { digest: d, size: data.length });
      assert.deepEqual(await store.info(d), { digest: d, size: data.length });
      assert.ok((await readStream(await store.read(d))).equals(data));
      assert.ok((await store.readAll(d, 1 << 20)).equals(data));
      assert.equal(await store.verify(d), true);
    });

    it('writes a buffer with an expected digest and size, and an empty blob', async () => {
      const data = Buffer.from('{"schemaVersion":2}');
      const d = digestOf(data);
      assert.deepEqual(await store.writeBuffer(data, { digest: d, size: data.length }), {
        digest: d,
        size: data.length,
      });
      assert.equal((await store.readAll(d, 100)).toString(), '{"schemaVersion":2}');
      const empty = await store.write(Readable.from([]), { size: 0 });
      assert.deepEqual(empty, { digest: digestOf(''), size: 0 });
      assert.equal((await store.readAll(empty.digest, 10)).length, 0);
    });

    it('rejects a wrong digest and keeps nothing', async () => {
      const data = randomBytes(50_000);
      const wrong = digestOf('something else');
      await rejectsWith(store.write(chunked(data), { digest: wrong }), 'DIGEST_MISMATCH');
      await rejectsWith(store.writeBuffer(data, { digest: wrong }), 'DIGEST_MISMATCH');
      assert.equal(await store.info(wrong), undefined);
      assert.equal(await store.info(digestOf(data)), undefined);
      assert.deepEqual(await listAll(store), []);
      assert.equal(await store.sweepIngests(0), 0, 'the temp file was removed');
    });

    it('rejects a wrong size, larger or smaller, and keeps nothing', async () => {
      const data = randomBytes(50_000);
      const d = digestOf(data);
      await rejectsWith(store.write(chunked(data), { digest: d, size: data.length - 1 }), 'SIZE_MISMATCH');
      await rejectsWith(store.write(chunked(data), { digest: d, size: data.length + 1 }), 'SIZE_MISMATCH');
      await rejectsWith(store.write(chunked(data), { size: 10 }), 'SIZE_MISMATCH');
      await rejectsWith(store.writeBuffer(data, { size: 1 }), 'SIZE_MISMATCH');
      assert.equal(await store.info(d), undefined);
      assert.deepEqual(await listAll(store), []);
      assert.equal(await store.sweepIngests(0), 0, 'the temp files were removed');
    });

    it('passes on the error of a failing source and keeps nothing', async () => {
      const data = randomBytes(100_000);
      const failing = new Readable({
        read() {
          this.push(data.subarray(0, 50_000));
          this.destroy(new Error('connection reset'));
        },
      });
      await assert.rejects(store.write(failing), /connection reset/);
      assert.deepEqual(await listAll(store), []);
      assert.equal(await store.sweepIngests(0), 0, 'the temp file was removed');
    });

    it('rejects an invalid expected digest', async () => {
      await rejectsWith(
        store.write(Readable.from([Buffer.from('x')]), { digest: 'sha256:nothex' as Digest }),
        'INVALID_ARGUMENT',
      );
    });

    it('lets concurrent writers of the same blob all succeed with one stored copy', async () => {
      const data = randomBytes(400_000);
      const d = digestOf(data);
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          i % 2 ? store.write(chunked(data, 4096 + i)) : store.write(chunked(data, 65536), { digest: d }),
        ),
      );
      for (const r of results) assert.deepEqual(r, { digest: d, size: data.length });
      assert.deepEqual(await listAll(store), [{ digest: d, size: data.length }]);
      assert.equal(await store.verify(d), true);
      assert.equal(await store.sweepIngests(0), 0, 'no temp file is left behind');
    });

    it('succeeds on a blob that already exists and consumes the source', async () => {
      const data = randomBytes(100_000);
      const d = digestOf(data);
      await store.writeBuffer(data);
      const src = chunked(data);
      assert.deepEqual(await store.write(src, { digest: d, size: data.length }), { digest: d, size: data.length });
      assert.equal(src.readableEnded, true, 'the source was drained, not left hanging');
      assert.deepEqual(await store.writeBuffer(data, { digest: d }), { digest: d, size: data.length });
    });

    it('reads from an offset', async () => {
      const data = randomBytes(100_000);
      const { digest: d } = await store.writeBuffer(data);
      assert.ok((await readStream(await store.read(d, { start: 12_345 }))).equals(data.subarray(12_345)));
      assert.equal((await readStream(await store.read(d, { start: data.length }))).length, 0);
      await rejectsWith(store.read(d, { start: data.length + 1 }), 'INVALID_ARGUMENT');
      await rejectsWith(store.read(d, { start: -1 }), 'INVALID_ARGUMENT');
      await rejectsWith(store.read(digestOf('absent')), 'NOT_FOUND');
    });

    it('caps readAll and reports a missing blob', async () => {
      const { digest: d } = await store.writeBuffer(Buffer.alloc(1000, 7));
      await rejectsWith(store.readAll(d, 999), 'TOO_LARGE');
      assert.equal((await store.readAll(d, 1000)).length, 1000);
      await rejectsWith(store.readAll(digestOf('absent'), 10), 'NOT_FOUND');
      assert.equal(await store.info(digestOf('absent')), undefined);
    });

    it('deletes a blob', async () => {
      const a = await store.writeBuffer(Buffer.from('a'));
      const b = await store.writeBuffer(Buffer.from('b'));
      await store.delete(a.digest);
      assert.equal(await store.info(a.digest), undefined);
      await rejectsWith(store.read(a.digest), 'NOT_FOUND');
      await rejectsWith(store.delete(a.digest), 'NOT_FOUND');
      assert.deepEqual(await listAll(store), [b]);
      // Deleted content can be written again.
      assert.deepEqual(await store.writeBuffer(Buffer.from('a')), a);
    });

    it('walks every blob with its size', async () => {
      assert.deepEqual(await listAll(store), []);
      const written = await Promise.all([1, 10, 1000, 70_000].map((n) => store.writeBuffer(randomBytes(n))));
      written.sort((a, b) => a.digest.localeCompare(b.digest));
      assert.deepEqual(await listAll(store), written);
    });

    it('detects stored bytes that were corrupted', async () => {
      const data = Buffer.from('{"a":1}');
      const { digest: d } = await store.writeBuffer(data);
      await fx.corrupt(d, Buffer.from('{"a":2}'));
      assert.equal(await store.verify(d), false);
      await rejectsWith(store.readAll(d, 100), 'DIGEST_MISMATCH');
      await rejectsWith(store.verify(digestOf('absent')), 'NOT_FOUND');
    });

    it('never shows a blob before all of it is written and verified', async () => {
      const data = randomBytes(256 * 1024);
      const d = digestOf(data);
      const src = new PassThrough();
      const writing = store.write(src, { digest: d, size: data.length });
      src.write(data.subarray(0, 100_000));
      // Let the store consume the first half.
      for (let i = 0; i < 200 && src.readableLength > 0; i++) await sleep(5);
      await sleep(20);
      assert.equal(await store.info(d), undefined);
      await rejectsWith(store.read(d), 'NOT_FOUND');
      assert.deepEqual(await listAll(store), []);
      // Readers racing the end of the write see either nothing or the whole blob.
      let polls = 0;
      let done = false;
      const poller = (async () => {
        while (!done && polls < 10_000) {
          polls++;
          const info = await store.info(d);
          if (info) {
            assert.equal(info.size, data.length);
            assert.ok((await readStream(await store.read(d))).equals(data));
          }
          await sleep(0);
        }
      })();
      src.end(data.subarray(100_000));
      assert.deepEqual(await writing, { digest: d, size: data.length });
      done = true;
      await poller;
      assert.ok(polls > 0);
      assert.ok((await store.readAll(d, data.length)).equals(data));
    });

    it('does not sweep a write that is still in progress', async () => {
      const data = randomBytes(64 * 1024);
      const src = new PassThrough();
      const writing = store.write(src);
      src.write(data.subarray(0, 1000));
      for (let i = 0; i < 200 && src.readableLength > 0; i++) await sleep(5);
      await sleep(20);
      assert.equal(await store.sweepIngests(0), 0);
      src.end(data.subarray(1000));
      assert.deepEqual(await writing, { digest: digestOf(data), size: data.length });
    });

    it('leaves no visible blob when the writing process is killed, and the sweep removes its leftovers', async (t) => {
      if (!fx.child) {
        t.skip('the backend did not say how to open it in another process');
        return;
      }
      const script = `
        const [mod, exportName, argsJson] = process.argv.slice(1);
        const { PassThrough } = await import('node:stream');
        const Store = (await import(mod))[exportName];
        const store = new Store(...JSON.parse(argsJson));
        const src = new PassThrough();
        store.write(src).catch((err) => { console.error(err); process.exit(3); });
        src.write(Buffer.alloc(200000, 5));
        const timer = setInterval(() => {
          if (src.readableLength === 0) { clearInterval(timer); setTimeout(() => process.stdout.write('writing\\n'), 50); }
        }, 5);
        setInterval(() => {}, 1000);
      `;
      const child = spawn(
        process.execPath,
        [
          '--import',
          import.meta.resolve('tsx'),
          '--input-type=module',
          '-e',
          script,
          fx.child.module,
          fx.child.exportName,
          JSON.stringify(fx.child.args),
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
      const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
      try {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`child did not start writing within 20s: ${stderr}`)),
            20_000,
          );
          child.stdout.setEncoding('utf8').on('data', (c: string) => {
            if (c.includes('writing')) {
              clearTimeout(timer);
              resolve();
            }
          });
          child.on('exit', (code) => {
            clearTimeout(timer);
            reject(new Error(`child exited early (${code}): ${stderr}`));
          });
        });
        assert.equal(await store.sweepIngests(0), 0, 'a live writer is not swept');
      } finally {
        child.kill('SIGKILL');
        await exited;
      }
      assert.equal(await store.info(digestOf(Buffer.alloc(200000, 5))), undefined);
      assert.deepEqual(await listAll(store), []);
      assert.equal(await store.sweepIngests(60 * 60 * 1000), 0, 'a fresh leftover is kept until it is stale');
      assert.ok((await store.sweepIngests(0)) >= 1, 'the killed writer left a partial write to sweep');
      assert.equal(await store.sweepIngests(0), 0);
    });

    describe('resumable writers', () => {
      it('resumes a closed write at its offset and commits the whole blob', async () => {
        const data = randomBytes(150_000);
        const d = digestOf(data);
        const w1 = await store.writer('pull-layer-1', { digest: d, size: data.length });
        assert.equal(w1.offset, 0);
        await w1.write(data.subarray(0, 60_000));
        await w1.close();
        const st = await store.status('pull-layer-1');
        assert.equal(st?.offset, 60_000);
        assert.equal(st?.total, data.length);
        assert.equal(await store.info(d), undefined);

        const w2 = await store.writer('pull-layer-1', { digest: d, size: data.length });
        assert.equal(w2.offset, 60_000);
        assert.equal(w2.digest(), digestOf(data.subarray(0, 60_000)));
        await w2.writeStream(chunked(data.subarray(60_000)));
        assert.deepEqual(await w2.commit(), { digest: d, size: data.length });
        assert.ok((await store.readAll(d, data.length)).equals(data));
        assert.equal(await store.status('pull-layer-1'), undefined);
        await rejectsWith(store.writer('pull-layer-1', { digest: d }), 'ALREADY_EXISTS');
      });

      it('allows one writer per ref, truncates, aborts and verifies on commit', async () => {
        const w = await store.writer('ref-a');
        await rejectsWith(store.writer('ref-a'), 'UNAVAILABLE');
        await rejectsWith(store.abort('ref-a'), 'UNAVAILABLE');
        await w.write(Buffer.from('garbage'));
        await w.truncate();
        assert.equal(w.offset, 0);
        await w.write(Buffer.from('hello'));
        await rejectsWith(w.commit({ digest: digestOf('world') }), 'DIGEST_MISMATCH');
        assert.equal(await store.status('ref-a'), undefined, 'a mismatching ingest is dropped');
        assert.equal(await store.info(digestOf('hello')), undefined);

        const w2 = await store.writer('ref-b');
        await w2.write(Buffer.from('partial'));
        await w2.close();
        assert.deepEqual(
          (await store.listIngests()).map((s) => [s.ref, s.offset]),
          [['ref-b', 7]],
        );
        await store.abort('ref-b');
        assert.equal(await store.status('ref-b'), undefined);
        await rejectsWith(store.abort('ref-b'), 'NOT_FOUND');
      });

      it('sweeps a stale closed ingest but not a fresh one', async () => {
        const w = await store.writer('stale-ref');
        await w.write(Buffer.from('abc'));
        // While open, the writer's lock protects it.
        assert.equal(await store.sweepIngests(0), 0);
        await w.close();
        assert.equal(await store.sweepIngests(60_000), 0);
        assert.equal((await store.status('stale-ref'))?.offset, 3);
        assert.equal(await store.sweepIngests(0), 1);
        assert.equal(await store.status('stale-ref'), undefined);
      });
    });
  });
}
