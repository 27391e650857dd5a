import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { pushImage, startTestRegistry } from '../../integration/registry/helpers.js';

describe('registry operations: /debug/health and /metrics', () => {
  it('reports healthy, then names the blob store while it is gone (503 + Retry-After), then healthy again', async () => {
    const r = await startTestRegistry();
    try {
      const ok = await fetch(`${r.url}/debug/health`);
      assert.equal(ok.status, 200);
      assert.deepEqual(await ok.json(), {});
      const blobs = r.config.rootDirectory;
      await fsp.rename(blobs, `${blobs}.away`);
      await new Promise((res) => setTimeout(res, 1100)); // past the checks' one-second cache
      const down = await fetch(`${r.url}/debug/health`);
      assert.equal(down.status, 503);
      assert.equal(down.headers.get('retry-after'), '5');
      assert.deepEqual(Object.keys((await down.json()) as object), ['storagedriver_filesystem']);
      await fsp.rename(`${blobs}.away`, blobs);
      await new Promise((res) => setTimeout(res, 1100));
      assert.equal((await fetch(`${r.url}/debug/health`)).status, 200);
    } finally {
      await r.stop();
    }
  });

  it('counts requests by route and status, bytes, upload sessions, GC runs and storage latencies', async () => {
    const r = await startTestRegistry();
    try {
      await pushImage(r.url, 'ops/app', 'v1', { layers: [Buffer.alloc(5000, 1)] });
      assert.equal((await fetch(`${r.url}/v2/ops/app/manifests/nope`)).status, 404);
      const gc = await fetch(`${r.url}/wharf/v1/gc`, { method: 'POST' });
      assert.equal(gc.status, 200);
      const res = await fetch(`${r.url}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      const text = await res.text();
      const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? Number.NaN);
      assert.equal(value(/wharf_registry_http_requests_total\{route="manifest",method="PUT",status="201"\} (\d+)/), 1);
      assert.equal(value(/wharf_registry_http_requests_total\{route="manifest",method="GET",status="404"\} (\d+)/), 1);
      assert.ok(value(/wharf_registry_http_received_bytes_total\{route="upload.*?"\} (\d+)/) >= 5000);
      assert.ok(value(/wharf_registry_upload_sessions_total\{event="completed"\} (\d+)/) >= 2, 'config and layer');
      assert.equal(value(/wharf_registry_gc_runs_total\{kind="full",outcome="ok"\} (\d+)/), 1);
      assert.match(
        text,
        /wharf_registry_storage_operation_duration_seconds_count\{driver="filesystem",op="move",outcome="ok"\} [1-9]/,
      );
      assert.match(text, /wharf_registry_upload_requests_in_flight 0/);
    } finally {
      await r.stop();
    }
  });
});
