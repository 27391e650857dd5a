/**
 * The registry's store and garbage collector over the in-memory backends only (index and blob driver): what the
 * shared suites check one interface at a time, here together, with no file and no SQLite.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { MemoryDriver, MemoryRegistryIndex, RegistryStore, collectGarbage } from '../../../src/registry/index.js';
import type { Digest } from '../../../src/digest/index.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}` as Digest;

describe('registry store on the in-memory backends', () => {
  it('uploads, links, keeps what a tag reaches and collects the rest, bytes included', async () => {
    const driver = new MemoryDriver();
    const index = new MemoryRegistryIndex();
    const store = new RegistryStore(driver, index, { blobLeaseMs: 0 });
    const used = Buffer.from('a layer the manifest names');
    const unused = Buffer.from('a layer nobody names');
    for (const data of [used, unused]) {
      const u = await store.startUpload('app');
      await store.appendUpload('app', u.id, Readable.from([data.subarray(0, 5)]));
      assert.deepEqual(await store.finishUpload('app', u.id, sha(data), Readable.from([data.subarray(5)])), {
        size: data.length,
      });
    }
    assert.deepEqual(await store.blobInRepo('app', sha(used)), { size: used.length });
    const content = Buffer.from(JSON.stringify({ layers: [sha(used)] }));
    await index.manifests.put('app', {
      digest: sha(content),
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      content,
      blobs: [sha(used)],
      children: [],
      tag: 'v1',
    });

    const report = await collectGarbage(
      store,
      { dryRun: false, deleteUntagged: true, uploadPurgeAgeMs: 0 },
      new Date(Date.now() + 1000),
    );
    assert.deepEqual(
      report.blobs.map((b) => b.digest),
      [sha(unused)],
    );
    assert.equal(report.orphanFiles, 0);
    assert.equal(await store.blobInRepo('app', sha(unused)), undefined);
    assert.equal(
      await driver.stat(`blobs/sha256/${sha(unused).slice(7, 9)}/${sha(unused).slice(7)}`),
      undefined,
      'the bytes are gone',
    );
    const chunks: Buffer[] = [];
    for await (const c of await store.readBlob(sha(used))) chunks.push(c as Buffer);
    assert.ok(Buffer.concat(chunks).equals(used));
    assert.equal(await index.tags.resolve('app', 'v1'), sha(content));
  });

  it('purges uploads idle longer than the purge age, and a dry run counts them without touching them', async () => {
    const driver = new MemoryDriver();
    const index = new MemoryRegistryIndex();
    const store = new RegistryStore(driver, index, { blobLeaseMs: 3_600_000 });
    const abandoned = await store.startUpload('app');
    await store.appendUpload('app', abandoned.id, Readable.from([Buffer.alloc(300)]));
    const hour = 3_600_000;
    const later = new Date(Date.now() + hour + 1000);
    const fresh = await store.startUpload('app');
    await index.uploads.touch(fresh.id, later); // active just now, as seen from `later`
    await store.appendUpload('app', fresh.id, Readable.from([Buffer.alloc(40)]));
    await index.uploads.touch(fresh.id, later);
    const dry = await collectGarbage(store, { dryRun: true, deleteUntagged: false, uploadPurgeAgeMs: hour }, later);
    assert.equal(dry.uploadsPurged, 1);
    assert.equal(dry.uploadBytes, 300);
    assert.equal(dry.bytesFreed, 300);
    assert.deepEqual(dry.uploadsKept, { count: 1, bytes: 40 });
    assert.ok(await index.uploads.get(abandoned.id), 'a dry run leaves it');
    const real = await collectGarbage(store, { dryRun: false, deleteUntagged: false, uploadPurgeAgeMs: hour }, later);
    assert.equal(real.uploadsPurged, 1);
    assert.equal(await index.uploads.get(abandoned.id), undefined);
    assert.ok(await index.uploads.get(fresh.id));
  });
});
