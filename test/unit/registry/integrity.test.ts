/**
 * What the registry records must be what happened: descriptor sizes that match the stored blobs, an access log that
 * does not call a cut-off request a 200, leases that end with the manifest, and stale uploads that GC counts.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { randomBytes } from 'node:crypto';
import {
  OCI_MANIFEST,
  pushBlob,
  pushImage,
  sha256,
  startTestRegistry,
  type TestRegistry,
} from '../../integration/registry/helpers.js';
import type { GcReport } from '../../../src/registry/index.js';

const errOf = async (res: Response) =>
  ((await res.json()) as { errors: Array<{ code: string; message: string; detail?: unknown }> }).errors[0]!;

const gc = async (u: string, query: string) => {
  const res = await fetch(`${u}/wharf/v1/gc?${query}`, { method: 'POST' });
  assert.equal(res.status, 200);
  return (await res.json()) as GcReport;
};

describe('registry integrity', () => {
  let r: TestRegistry;
  let u: string;
  before(async () => {
    r = await startTestRegistry();
    u = r.url;
  });
  after(async () => r.stop());

  it('refuses a manifest whose config or layer descriptor has the wrong size with 400 MANIFEST_INVALID', async () => {
    const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
    const layer = randomBytes(300);
    const cd = await pushBlob(u, 'sizes/app', config);
    const ld = await pushBlob(u, 'sizes/app', layer);
    const put = (cfgSize: number, layerSize: number) =>
      fetch(`${u}/v2/sizes/app/manifests/v1`, {
        method: 'PUT',
        headers: { 'Content-Type': OCI_MANIFEST },
        body: JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: cd, size: cfgSize },
          layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: ld, size: layerSize }],
        }),
      });
    for (const [cfgSize, layerSize, wrong] of [
      [config.length + 1, layer.length, cd],
      [config.length, layer.length - 1, ld],
      [0, layer.length, cd],
    ] as const) {
      const res = await put(cfgSize, layerSize);
      assert.equal(res.status, 400, `config ${cfgSize}, layer ${layerSize}`);
      const e = await errOf(res);
      assert.equal(e.code, 'MANIFEST_INVALID');
      assert.match(e.message, new RegExp(wrong));
    }
    assert.equal((await fetch(`${u}/v2/sizes/app/manifests/v1`)).status, 404, 'nothing was stored');
    assert.equal((await put(config.length, layer.length)).status, 201);
  });

  it('logs a request whose body never arrived as 499 with what was cut short, not 200', async () => {
    const start = await fetch(`${u}/v2/cutoff/blobs/uploads/`, { method: 'POST' });
    const loc = start.headers.get('location')!;
    const before = r.logs.length;
    await new Promise<void>((resolve) => {
      const req = http.request(`${u}${loc}`, {
        method: 'PATCH',
        headers: { 'Content-Length': '100000', 'Content-Range': '0-99999' },
      });
      req.on('error', () => resolve());
      req.write(Buffer.alloc(10_000), () =>
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 100),
      );
    });
    let line: string | undefined;
    for (let i = 0; i < 50 && !line; i++) {
      line = r.logs.slice(before).find((l) => l.includes(`"PATCH ${loc}"`));
      if (!line) await new Promise((res) => setTimeout(res, 20));
    }
    assert.ok(line, 'the request is logged');
    assert.match(line, new RegExp(`"PATCH ${loc}" 499 `));
    assert.match(line, /aborted: connection closed before the response; request body incomplete$/);
    // A complete request still logs its real status and nothing more.
    await fetch(`${u}/v2/`);
    await new Promise((res) => setTimeout(res, 20));
    assert.match(r.logs[r.logs.length - 1]!, /"GET \/v2\/" 200 \d+ \d+ms "[^"]*"$/);
  });

  it('frees at once what only a manifest deleted by digest used; keeps what an upload still leases', async () => {
    const own = await startTestRegistry();
    try {
      const u = own.url;
      const img = await pushImage(u, 'cleanup/app', 'v1', { layers: [randomBytes(2000)] });
      const fresh = await pushBlob(u, 'cleanup/app', randomBytes(500)); // uploaded, no manifest yet
      let plan = await gc(u, 'dry-run=1');
      assert.deepEqual(plan.blobs, [], 'all referenced or leased');
      assert.equal(plan.kept?.taggedBlobs.count, 2);
      assert.equal(plan.kept?.leasedBlobs.count, 1);
      assert.ok(plan.kept?.leasedBlobs.expiresAt, 'the lease end is reported');

      const del = await fetch(`${u}/v2/cleanup/app/manifests/${img.digest}`, { method: 'DELETE' });
      assert.equal(del.status, 202);
      plan = await gc(u, 'dry-run=1');
      assert.deepEqual(
        plan.blobs.map((b) => b.digest).sort(),
        [img.config.digest, img.layers[0]!.digest].sort(),
        'the blobs of the deleted manifest are collectable although uploaded a moment ago',
      );
      assert.equal(plan.kept?.leasedBlobs.count, 1, 'the upload without a manifest stays');
      const done = await gc(u, '');
      assert.equal(done.bytesFreed, img.config.data.length + 2000);
      assert.equal((await fetch(`${u}/v2/cleanup/app/blobs/${img.layers[0]!.digest}`)).status, 404);
      assert.equal((await fetch(`${u}/v2/cleanup/app/blobs/${fresh}`)).status, 200);
      assert.equal(sha256(Buffer.from(await (await fetch(`${u}/v2/cleanup/app/blobs/${fresh}`)).arrayBuffer())), fresh);
    } finally {
      await own.stop();
    }
  });
});
