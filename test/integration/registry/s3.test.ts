/**
 * The S3 blob driver against a real Ceph RADOS Gateway (scripts/ceph-rgw.sh, started once for this file): the shared
 * BlobDriver suite, an upload continued by another driver instance (as another replica would), and
 * `wharf registry serve` with `storage.s3`: skopeo push and pull, chunked uploads, presigned redirects, and the
 * object store stopped under the registry.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import YAML from 'yaml';
import { ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { S3Driver } from '../../../src/registry/index.js';
import type { Digest } from '../../../src/digest/index.js';
import { blobPath, uploadPath } from '../../../src/registry/storage/paths.js';
import { run } from '../../../src/util/index.js';
import { runBlobDriverSuite } from '../../suites/blob-driver.js';
import { cephAvailable, startCephRgw, type CephRgw } from '../../helpers/ceph.js';
import { serveRegistry, type ServedRegistry } from '../../helpers/registry-serve.js';
import { pushBlob, pushImage, randomBlob, sha256, startTestRegistry, type TestRegistry } from './helpers.js';
import { writeOciLayout } from './oci-layout.js';

const MiB = 1024 * 1024;
const skopeo = (args: string[]) => run('skopeo', args, { signal: AbortSignal.timeout(180_000) });

let rgwStarted: Promise<CephRgw> | undefined;
function rgw(): Promise<CephRgw> {
  if (!cephAvailable())
    return Promise.reject(new Error('Ceph (ceph-mon, ceph-osd, ceph-mgr, radosgw) is not installed'));
  rgwStarted ??= startCephRgw().then((r) => {
    process.stderr.write(`ceph-rgw: started in ${r.startSeconds} s\n`);
    return r;
  });
  return rgwStarted;
}
after(async () => {
  // A failed start has cleaned up after itself already.
  if (rgwStarted !== undefined)
    await rgwStarted.then(
      (r) => r.stop(),
      () => undefined,
    );
});

async function readAll(s: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

runBlobDriverSuite('s3 on Ceph RGW', async () => ({
  driver: new S3Driver((await rgw()).s3Config()),
  cleanup: async () => {}, // each driver has its own root directory; the whole cluster goes at the end
}));

describe('S3 driver specifics (Ceph RGW)', () => {
  it('continues an upload on another driver instance, from the state in the bucket alone', async () => {
    const cfg = (await rgw()).s3Config();
    const data = randomBytes(17 * MiB + 12_345);
    const cuts = [3 * MiB + 1, 9 * MiB + 7, 14 * MiB]; // two part boundaries crossed between replicas
    let at = 0;
    for (const cut of [...cuts, data.length]) {
      // A fresh driver each time: nothing of the upload lives in process memory.
      const w = await new S3Driver(cfg).writer('uploads/u1', true);
      assert.equal(w.size, at);
      for (let o = at; o < cut; o += 100_000) await w.write(data.subarray(o, Math.min(o + 100_000, cut)));
      await w.commit();
      assert.equal((await new S3Driver(cfg).stat('uploads/u1'))?.size, cut);
      at = cut;
    }
    // A replica with another chunk size goes on with the part size recorded in the bucket.
    const other = new S3Driver({ ...cfg, chunkSize: 6 * MiB });
    const w = await other.writer('uploads/u1', true);
    const more = randomBytes(7 * MiB);
    await w.write(more);
    await w.commit();
    const all = Buffer.concat([data, more]);
    await new S3Driver(cfg).move('uploads/u1', 'blobs/sha256/ab/abcdef');
    const d = new S3Driver(cfg);
    assert.equal(await d.stat('uploads/u1'), undefined);
    assert.equal((await d.stat('blobs/sha256/ab/abcdef'))?.size, all.length);
    assert.ok((await readAll(await d.reader('blobs/sha256/ab/abcdef'))).equals(all));
    assert.ok(
      (await readAll(await d.reader('blobs/sha256/ab/abcdef', 5 * MiB - 3, 10))).equals(
        all.subarray(5 * MiB - 3, 5 * MiB + 7),
      ),
    );
    // Distribution's layout: the blob is <root>/docker/registry/v2/blobs/…/data.
    const listed: string[] = [];
    for await (const p of d.list('blobs')) listed.push(p);
    assert.deepEqual(listed, ['blobs/sha256/ab/abcdef']);
  });

  it('reuses the multipart upload of a writer that died mid-request, and leaves no upload behind', async () => {
    const cfg = (await rgw()).s3Config();
    const client = new S3Client({
      region: cfg.region,
      endpoint: cfg.endpoint!,
      forcePathStyle: true,
      credentials: cfg.credentials!,
    });
    const inProgress = async () =>
      (await client.send(new ListMultipartUploadsCommand({ Bucket: cfg.bucket, Prefix: cfg.rootDirectory }))).Uploads
        ?.length ?? 0;
    try {
      const head = randomBytes(1000);
      const first = await new S3Driver(cfg).writer('uploads/crash', true);
      await first.write(head);
      await first.commit();
      const dying = await new S3Driver(cfg).writer('uploads/crash', true);
      await dying.write(randomBytes(11 * MiB)); // parts sent, never committed: its process "dies" here
      const d = new S3Driver(cfg);
      assert.equal((await d.stat('uploads/crash'))?.size, head.length, 'what the dead request sent does not count');
      const w = await d.writer('uploads/crash', true);
      assert.equal(w.size, head.length);
      const rest = randomBytes(6 * MiB + 5);
      await w.write(rest);
      await w.commit();
      assert.equal(await inProgress(), 1, "the dead writer's multipart upload is the one continued");
      await d.move('uploads/crash', 'blobs/sha256/ee/eeee');
      assert.ok((await readAll(await d.reader('blobs/sha256/ee/eeee'))).equals(Buffer.concat([head, rest])));
      const other = await d.writer('uploads/gone', false);
      await other.write(randomBytes(5 * MiB + 1));
      await other.close();
      await d.delete('uploads/gone');
      assert.equal(await inProgress(), 0);
    } finally {
      client.destroy();
    }
  });

  it('hands out presigned URLs that the object store serves, ranges included', async () => {
    const d = new S3Driver((await rgw()).s3Config({ redirect: true }));
    const data = randomBytes(100_000);
    const w = await d.writer('blobs/sha256/cd/cdef', false);
    await w.write(data);
    await w.commit();
    const url = await d.redirectURL('blobs/sha256/cd/cdef');
    assert.ok(url);
    const res = await fetch(url, { headers: { Range: 'bytes=10-19' } });
    assert.equal(res.status, 206);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), data.subarray(10, 20));
    const off = new S3Driver((await rgw()).s3Config({ redirect: false }));
    assert.equal(await off.redirectURL('blobs/sha256/cd/cdef'), undefined);
  });
});

describe('wharf registry serve on Ceph RGW', () => {
  let tmp: string;
  let served: ServedRegistry;
  let host: string;
  before(async () => {
    const r = await rgw();
    tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-reg-s3-'));
    const config = path.join(tmp, 'registry.yml');
    await fsp.writeFile(config, YAML.stringify({ version: 0.1, storage: { s3: r.storageSection() } }));
    served = await serveRegistry(path.join(tmp, 'root'), 60_000, { config });
    host = served.host;
  });
  after(async () => {
    await served?.stop();
    if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
  });

  it('takes a multi-layer image from skopeo and gives it back byte for byte, blobs through presigned redirects', async () => {
    const src = await writeOciLayout(path.join(tmp, 'src'), 'v1', [
      { arch: 'amd64', layerSizes: [300_000, 6 * MiB, 11 * MiB] },
    ]);
    await skopeo(['copy', '--dest-tls-verify=false', `oci:${src.dir}:v1`, `docker://${host}/s3/app:v1`]);
    const out = path.join(tmp, 'out');
    await skopeo(['copy', '--src-tls-verify=false', `docker://${host}/s3/app:v1`, `oci:${out}:v1`]);
    const blobs = async (dir: string) => (await fsp.readdir(path.join(dir, 'blobs', 'sha256'))).sort();
    const names = await blobs(src.dir);
    assert.deepEqual(await blobs(out), names);
    for (const n of names) {
      const [a, b] = await Promise.all([src.dir, out].map((dir) => fsp.readFile(path.join(dir, 'blobs', 'sha256', n))));
      assert.ok(a!.equals(b!), n);
    }
    // The layers came through the object store: the registry answered 307 to a presigned URL.
    const manifest = JSON.parse(
      (await skopeo(['inspect', '--tls-verify=false', '--raw', `docker://${host}/s3/app:v1`])).stdout,
    ) as { layers: Array<{ digest: string }> };
    const res = await fetch(`http://${host}/v2/s3/app/blobs/${manifest.layers[0]!.digest}`, { redirect: 'manual' });
    assert.equal(res.status, 307);
    assert.match(res.headers.get('location') ?? '', /X-Amz-Signature=/);
  });

  it('completes a chunked upload of odd-sized PATCHes with the right digest', async () => {
    const sizes = [1, 3 * MiB + 7, 5 * MiB + 3, 2 * MiB + 11, 999];
    const data = randomBytes(sizes.reduce((a, b) => a + b, 0));
    const digest = sha256(data);
    const base = `http://${host}`;
    let res = await fetch(`${base}/v2/s3/chunked/blobs/uploads/`, { method: 'POST' });
    assert.equal(res.status, 202);
    let location = new URL(res.headers.get('location')!, base).href;
    let at = 0;
    for (const size of sizes) {
      res = await fetch(location, {
        method: 'PATCH',
        body: data.subarray(at, at + size),
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${at}-${at + size - 1}` },
      });
      assert.equal(res.status, 202, await res.text());
      at += size;
      assert.equal(res.headers.get('range'), `0-${at - 1}`);
      location = new URL(res.headers.get('location')!, base).href;
    }
    const sep = location.includes('?') ? '&' : '?';
    res = await fetch(`${location}${sep}digest=${digest}`, { method: 'PUT' });
    assert.equal(res.status, 201, await res.text());
    assert.equal(res.headers.get('docker-content-digest'), digest);
    const got = await fetch(`${base}/v2/s3/chunked/blobs/${digest}`);
    assert.equal(got.status, 200);
    assert.ok(Buffer.from(await got.arrayBuffer()).equals(data));
  });
});

describe('registry on S3 with redirects disabled, and with the object store down', () => {
  let reg: TestRegistry;
  let r: CephRgw;
  before(async () => {
    r = await rgw();
    reg = await startTestRegistry({ storage: { s3: r.storageSection(), redirect: { disable: true } } });
  });
  after(async () => {
    await reg?.stop();
  });

  it('streams blobs itself when storage.redirect.disable is set, to skopeo too', async () => {
    const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-reg-s3-noredir-'));
    try {
      const host = reg.url.replace('http://', '');
      const src = await writeOciLayout(path.join(tmp, 'src'), 'v1', [{ arch: 'amd64', layerSizes: [7 * MiB] }]);
      await skopeo(['copy', '--dest-tls-verify=false', `oci:${src.dir}:v1`, `docker://${host}/s3/plain:v1`]);
      await skopeo(['copy', '--src-tls-verify=false', `docker://${host}/s3/plain:v1`, `oci:${tmp}/out:v1`]);
      const names = (await fsp.readdir(path.join(src.dir, 'blobs', 'sha256'))).sort();
      assert.deepEqual((await fsp.readdir(path.join(tmp, 'out', 'blobs', 'sha256'))).sort(), names);
      const blob = randomBlob(4000);
      await pushBlob(reg.url, 's3/plain', blob.data);
      const res = await fetch(`${reg.url}/v2/s3/plain/blobs/${blob.digest}`, { redirect: 'manual' });
      assert.equal(res.status, 200);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), blob.data);
    } finally {
      await fsp.rm(tmp, { recursive: true, force: true });
    }
  });

  it('collects garbage in the bucket: the blobs of a deleted image and a stale upload session go', async () => {
    const img = await pushImage(reg.url, 's3/gc', 'v1', { layers: [randomBytes(6 * MiB), randomBytes(1000)] });
    let res = await fetch(`${reg.url}/v2/s3/gc/manifests/${img.digest}`, { method: 'DELETE' });
    assert.equal(res.status, 202);
    res = await fetch(`${reg.url}/v2/s3/gc/blobs/uploads/`, { method: 'POST' });
    const upload = res.headers.get('docker-upload-uuid')!;
    res = await fetch(new URL(res.headers.get('location')!, reg.url), {
      method: 'PATCH',
      body: randomBytes(6 * MiB), // a part sent, a tail left: a multipart upload in progress
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    assert.equal(res.status, 202);
    const report = await reg.runGc({ dryRun: false, deleteUntagged: false, uploadPurgeAgeMs: 0 });
    const freed = report.blobs.map((b) => b.digest as string);
    for (const l of [...img.layers, img.config]) {
      assert.ok(freed.includes(l.digest), l.digest);
      assert.equal(await reg.store.driver.stat(blobPath(l.digest as Digest)), undefined);
    }
    assert.equal(report.uploadsPurged, 1);
    assert.equal(await reg.store.driver.stat(uploadPath(upload)), undefined);
  });

  it('answers 503 while the object store is stopped, records nothing it could not store, and recovers', async () => {
    const before = randomBlob(1000);
    await pushBlob(reg.url, 's3/down', before.data);
    await r.stopGateway();
    try {
      const lost = randomBlob(6 * MiB + 5);
      let res = await fetch(`${reg.url}/v2/s3/down/blobs/uploads/?digest=${lost.digest}`, {
        method: 'POST',
        body: lost.data,
        headers: { 'Content-Type': 'application/octet-stream' },
      });
      assert.equal(res.status, 503, await res.text());
      assert.ok(res.headers.get('retry-after'), 'a 503 says when to retry');
      res = await fetch(`${reg.url}/v2/s3/down/blobs/uploads/`, { method: 'POST' });
      assert.equal(res.status, 503);
      res = await fetch(`${reg.url}/v2/s3/down/blobs/${before.digest}`);
      assert.equal(res.status, 503);
      await r.startGateway();
      assert.equal(await reg.store.index.blobs.linked('s3/down', lost.digest as Digest), undefined);
      res = await fetch(`${reg.url}/v2/s3/down/blobs/${lost.digest}`, { method: 'HEAD' });
      assert.equal(res.status, 404);
      assert.equal(await pushBlob(reg.url, 's3/down', lost.data), lost.digest);
      res = await fetch(`${reg.url}/v2/s3/down/blobs/${before.digest}`);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), before.data);
    } finally {
      // Bounded: startGateway throws after ~30 s if it cannot.
      await r.startGateway().catch(() => undefined);
    }
  });
});
