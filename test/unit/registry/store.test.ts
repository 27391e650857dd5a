/**
 * Upload sessions served by several processes (cluster workers take connections in turn, and a server restarts):
 * two or three RegistryStore instances over one blob directory and one index stand for them. The process that
 * appends records what the bytes hash to, so whichever finishes the upload verifies it without reading the data
 * again, and falls back to reading it whenever the record does not cover the data.
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { createHash, randomBytes } from 'node:crypto';
import { FilesystemDriver, RegistryStore, SqliteRegistryIndex } from '../../../src/registry/index.js';
import { is } from '../../../src/errors/index.js';
import type { Digest } from '../../../src/digest/index.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}` as Digest;

/** The filesystem driver, counting reads of upload data (re-hashing) across every "process". */
class CountingDriver extends FilesystemDriver {
  uploadReads = 0;
  override async reader(p: string, offset?: number, length?: number): Promise<Readable> {
    if (p.startsWith('uploads/')) this.uploadReads++;
    return super.reader(p, offset, length);
  }
}

describe('registry store across processes', () => {
  let dir: string;
  let driver: CountingDriver;
  let index: SqliteRegistryIndex;
  let stores: RegistryStore[];
  const proc = (i: number) => (stores[i] ??= new RegistryStore(driver, index, { blobLeaseMs: 60_000 }));
  beforeEach(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-regstore-'));
    driver = new CountingDriver(dir);
    index = new SqliteRegistryIndex(path.join(dir, 'index.db'));
    stores = [];
  });
  afterEach(async () => {
    await index.close();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('finishes in one process an upload appended in another, from the recorded digest', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const u = await proc(0).startUpload('r');
    await proc(1).appendUpload('r', u.id, Readable.from([data.subarray(0, 1000), data.subarray(1000)]));
    assert.deepEqual(await proc(0).finishUpload('r', u.id, sha(data), Readable.from([])), { size: data.length });
    assert.equal(driver.uploadReads, 0, 'no re-read of the upload data');
    assert.deepEqual(
      await fsp.readFile(driver.localPath(`blobs/sha256/${sha(data).slice(7, 9)}/${sha(data).slice(7)}`)),
      data,
    );
  });

  it('hashes a monolithic upload in the process that receives it, whoever started the session', async () => {
    const data = randomBytes(100_000);
    const u = await proc(0).startUpload('r');
    await proc(1).finishUpload('r', u.id, sha(data), Readable.from([data]));
    assert.equal(driver.uploadReads, 0);
  });

  it('finishes after a restart from the recorded digest', async () => {
    const data = randomBytes(200_000);
    const u = await proc(0).startUpload('r');
    await proc(0).appendUpload('r', u.id, Readable.from([data]));
    await proc(2).finishUpload('r', u.id, sha(data), Readable.from([]));
    assert.equal(driver.uploadReads, 0);
  });

  it('reads the data again when chunks came through different processes, and gets it right', async () => {
    const data = randomBytes(300_000);
    const u = await proc(0).startUpload('r');
    await proc(1).appendUpload('r', u.id, Readable.from([data.subarray(0, 100_000)]), 0, 100_000);
    // Process 0 cannot continue process 1's hash: its chunk leaves the record behind the data.
    await proc(0).appendUpload('r', u.id, Readable.from([data.subarray(100_000, 250_000)]), 100_000, 150_000);
    await proc(1).finishUpload('r', u.id, sha(data), Readable.from([data.subarray(250_000)]));
    assert.equal(driver.uploadReads, 1, 'one re-read at the end');
    assert.equal((await index.blobs.stat(sha(data)))?.size, data.length);
  });

  it('still refuses a wrong digest when it trusts the record', async () => {
    const data = randomBytes(50_000);
    const u = await proc(0).startUpload('r');
    await proc(1).appendUpload('r', u.id, Readable.from([data]));
    await assert.rejects(proc(0).finishUpload('r', u.id, sha(randomBytes(10)), Readable.from([])), (e: unknown) =>
      is(e, 'DIGEST_MISMATCH'),
    );
    assert.equal(driver.uploadReads, 0);
    assert.equal(await index.blobs.stat(sha(data)), undefined, 'nothing stored');
  });

  it('records nothing for a chunk cut short, so the end re-reads what is really there', async () => {
    const data = randomBytes(120_000);
    const u = await proc(0).startUpload('r');
    const broken = new Readable({
      read() {
        this.push(data.subarray(0, 40_000));
        this.destroy(new Error('client went away'));
      },
    });
    await assert.rejects(proc(1).appendUpload('r', u.id, broken), (e: unknown) => is(e, 'CANCELLED'));
    const { size } = await proc(1).uploadStatus('r', u.id);
    await proc(0).finishUpload('r', u.id, sha(data), Readable.from([data.subarray(size)]));
    assert.equal(driver.uploadReads, 1);
    assert.equal((await index.blobs.stat(sha(data)))?.size, data.length);
  });
});
