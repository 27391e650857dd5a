import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  OCI_INDEX,
  OCI_MANIFEST,
  pushBlob,
  pushImage,
  sha256,
  startTestRegistry,
} from '../../integration/registry/helpers.js';
import type { GcReport } from '../../../src/registry/index.js';

const blobFile = (root: string, d: string) => path.join(root, 'registry', 'blobs', 'sha256', d.slice(7, 9), d.slice(7));
const exists = (p: string) =>
  fsp.stat(p).then(
    () => true,
    () => false,
  );

async function gc(url: string, q: string): Promise<GcReport> {
  const res = await fetch(`${url}/wharf/v1/gc?${q}`, { method: 'POST' });
  assert.equal(res.status, 200);
  return (await res.json()) as GcReport;
}

describe('registry garbage collection', () => {
  it('dry-runs, then frees unreferenced blobs and reports the bytes; tagged images stay whole', async () => {
    const r = await startTestRegistry({ gc: { bloblease: '0s' } });
    try {
      const keep = await pushImage(r.url, 'gc/a', 'v1');
      const garbage = randomBytes(10_000);
      const gd = await pushBlob(r.url, 'gc/a', garbage);
      const dry = await gc(r.url, 'dry-run=1');
      assert.deepEqual(
        dry.blobs.map((b) => b.digest),
        [gd],
      );
      assert.equal(dry.bytesFreed, 10_000);
      assert.ok(await exists(blobFile(r.root, gd)), 'a dry run deletes nothing');
      const real = await gc(r.url, '');
      assert.deepEqual(
        real.blobs.map((b) => b.digest),
        [gd],
      );
      assert.equal(real.bytesFreed, 10_000);
      assert.equal(await exists(blobFile(r.root, gd)), false);
      assert.equal((await fetch(`${r.url}/v2/gc/a/blobs/${gd}`)).status, 404);
      for (const l of [...keep.layers, keep.config]) {
        const res = await fetch(`${r.url}/v2/gc/a/blobs/${l.digest}`);
        assert.equal(sha256(Buffer.from(await res.arrayBuffer())), l.digest);
      }
      // A deleted manifest's blobs go at the next GC.
      await fetch(`${r.url}/v2/gc/a/manifests/${keep.digest}`, { method: 'DELETE' });
      const after = await gc(r.url, '');
      assert.equal(after.blobs.length, 2);
      assert.equal(after.bytesFreed, keep.layers[0]!.data.length + keep.config.data.length);
    } finally {
      await r.stop();
    }
  });

  it('keeps a freshly uploaded blob under its lease until its manifest arrives', async () => {
    const r = await startTestRegistry({ gc: { bloblease: '1h' } });
    try {
      const layer = randomBytes(5000);
      const d = await pushBlob(r.url, 'lease/x', layer);
      const report = await gc(r.url, 'delete-untagged=1');
      assert.equal(report.blobs.length, 0);
      const img = await pushImage(r.url, 'lease/x', 'v1', { layers: [layer] });
      assert.equal(img.layers[0]!.digest, d);
    } finally {
      await r.stop();
    }
  });

  it('with --delete-untagged, removes lone untagged manifests but keeps multi-arch children and referrers', async () => {
    const r = await startTestRegistry({ gc: { bloblease: '0s' } });
    try {
      const amd = await pushImage(r.url, 'multi/app', undefined);
      const arm = await pushImage(r.url, 'multi/app', undefined);
      const idx = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_INDEX,
          manifests: [amd, arm].map((m, i) => ({
            mediaType: OCI_MANIFEST,
            digest: m.digest,
            size: m.manifest.length,
            platform: { os: 'linux', architecture: i ? 'arm64' : 'amd64' },
          })),
        }),
      );
      let res = await fetch(`${r.url}/v2/multi/app/manifests/latest`, {
        method: 'PUT',
        body: idx,
        headers: { 'Content-Type': OCI_INDEX },
      });
      assert.equal(res.status, 201);
      const sig = await pushImage(r.url, 'multi/app', undefined, {
        extra: { subject: { mediaType: OCI_INDEX, digest: sha256(idx), size: idx.length } },
      });
      const lone = await pushImage(r.url, 'multi/app', undefined);
      const report = await gc(r.url, 'delete-untagged=1');
      assert.deepEqual(
        report.manifests.map((m) => m.digest),
        [lone.digest],
      );
      assert.deepEqual(report.blobs.map((b) => b.digest).sort(), [lone.layers[0]!.digest, lone.config.digest].sort());
      for (const m of [amd, arm, sig]) {
        res = await fetch(`${r.url}/v2/multi/app/manifests/${m.digest}`);
        assert.equal(res.status, 200);
        for (const l of m.layers)
          assert.equal((await fetch(`${r.url}/v2/multi/app/blobs/${l.digest}`, { method: 'HEAD' })).status, 200);
      }
      assert.equal((await fetch(`${r.url}/v2/multi/app/manifests/${lone.digest}`)).status, 404);
    } finally {
      await r.stop();
    }
  });

  it('purges stale upload sessions and counts their bytes', async () => {
    const r = await startTestRegistry({ storage: { maintenance: { uploadpurging: { age: '0s' } } } });
    try {
      let res = await fetch(`${r.url}/v2/up/x/blobs/uploads/`, { method: 'POST' });
      const loc = res.headers.get('location')!;
      res = await fetch(`${r.url}${loc}`, { method: 'PATCH', body: randomBytes(777) });
      assert.equal(res.status, 202);
      await new Promise((res) => setTimeout(res, 20));
      const report = await gc(r.url, '');
      assert.equal(report.uploadsPurged, 1);
      assert.equal(report.uploadBytes, 777);
      assert.equal((await fetch(`${r.url}${loc}`)).status, 404);
    } finally {
      await r.stop();
    }
  });

  it('runs while clients push continuously, and every image pulls back intact', async () => {
    const r = await startTestRegistry({ gc: { bloblease: '1h' } });
    try {
      const pushed: Array<Awaited<ReturnType<typeof pushImage>> & { repo: string; tag: string }> = [];
      let stop = false;
      const pusher = async (w: number) => {
        for (let i = 0; i < 40 && !stop; i++) {
          const repo = `busy/w${w}`;
          const tag = `t${i}`;
          // Shared layers across workers make GC and uploads race on the same digests.
          const shared = Buffer.from(`shared-layer-${i % 3}`.repeat(500));
          const img = await pushImage(r.url, repo, tag, { layers: [shared, randomBytes(20_000)] });
          pushed.push({ ...img, repo, tag });
          // Garbage for GC to find: a deleted tag's manifest.
          if (i % 4 === 0) {
            const junk = await pushImage(r.url, repo, `junk${i}`);
            await fetch(`${r.url}/v2/${repo}/manifests/${junk.digest}`, { method: 'DELETE' });
          }
        }
      };
      let gcRuns = 0;
      const collector = async () => {
        while (!stop && gcRuns < 200) {
          await gc(r.url, gcRuns % 2 ? 'delete-untagged=1' : '');
          gcRuns++;
        }
      };
      const pushers = Promise.all([0, 1, 2].map(pusher));
      const gcLoop = collector();
      await pushers;
      stop = true;
      await gcLoop;
      assert.ok(gcRuns >= 3, `GC ran ${gcRuns} times during the pushes`);
      assert.equal(pushed.length, 120);
      for (const img of pushed) {
        const res = await fetch(`${r.url}/v2/${img.repo}/manifests/${img.tag}`);
        assert.equal(res.status, 200, `${img.repo}:${img.tag}`);
        assert.equal(sha256(Buffer.from(await res.arrayBuffer())), img.digest);
        for (const b of [...img.layers, img.config]) {
          const br = await fetch(`${r.url}/v2/${img.repo}/blobs/${b.digest}`);
          assert.equal(br.status, 200, `${img.repo} ${b.digest}`);
          assert.equal(sha256(Buffer.from(await br.arrayBuffer())), b.digest);
        }
      }
    } finally {
      await r.stop();
    }
  });
});
