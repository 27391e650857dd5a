import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { randomBytes } from 'node:crypto';
import {
  OCI_INDEX,
  OCI_MANIFEST,
  pushBlob,
  pushImage,
  sha256,
  startTestRegistry,
  type TestRegistry,
} from '../../integration/registry/helpers.js';

/** A request with the path sent as is (fetch would normalize `..` away). */
function rawRequest(base: string, method: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}/`, { method, path }, (res) => {
      let body = '';
      res
        .setEncoding('utf8')
        .on('data', (c: string) => (body += c))
        .on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const errCode = async (res: Response) => ((await res.json()) as { errors: Array<{ code: string }> }).errors[0]!.code;

describe('registry API (raw HTTP)', () => {
  let r: TestRegistry;
  let u: string;
  before(async () => {
    r = await startTestRegistry();
    u = r.url;
  });
  after(async () => r.stop());

  it('answers a request for // or //x:y with an error and keeps serving (it threw out of the server; found by test/fuzz)', async () => {
    for (const p of ['//', '//sha512:zz', '//v2/']) assert.ok((await rawRequest(u, 'GET', p)).status < 500, p);
    assert.equal((await fetch(`${u}/v2/`)).status, 200);
  });

  it('answers /v2/ with the API version header', async () => {
    const res = await fetch(`${u}/v2/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('docker-distribution-api-version'), 'registry/2.0');
  });

  it('does a chunked upload in order, reports status, and refuses an out-of-order chunk with 416', async () => {
    const data = randomBytes(200_000);
    const digest = sha256(data);
    let res = await fetch(`${u}/v2/chunk/blobs/uploads/`, { method: 'POST' });
    assert.equal(res.status, 202);
    let loc = res.headers.get('location')!;
    assert.match(loc, /^\/v2\/chunk\/blobs\/uploads\/[0-9a-f-]+$/);
    assert.equal(res.headers.get('range'), '0-0');
    res = await fetch(`${u}${loc}`, {
      method: 'PATCH',
      body: data.subarray(0, 100_000),
      headers: { 'Content-Range': '0-99999', 'Content-Type': 'application/octet-stream' },
    });
    assert.equal(res.status, 202);
    assert.equal(res.headers.get('range'), '0-99999');
    loc = res.headers.get('location')!;
    // Replaying the same chunk is out of order now.
    res = await fetch(`${u}${loc}`, {
      method: 'PATCH',
      body: data.subarray(0, 100_000),
      headers: { 'Content-Range': '0-99999' },
    });
    assert.equal(res.status, 416);
    assert.equal(res.headers.get('range'), '0-99999');
    res = await fetch(`${u}${loc}`);
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('range'), '0-99999');
    assert.equal(res.headers.get('location'), loc);
    res = await fetch(`${u}${loc}`, {
      method: 'PATCH',
      body: data.subarray(100_000, 150_000),
      headers: { 'Content-Range': '100000-149999' },
    });
    assert.equal(res.status, 202);
    // The last chunk comes with the PUT.
    res = await fetch(`${u}${loc}?digest=${digest}`, { method: 'PUT', body: data.subarray(150_000) });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('location'), `/v2/chunk/blobs/${digest}`);
    assert.equal(res.headers.get('docker-content-digest'), digest);
    res = await fetch(`${u}/v2/chunk/blobs/${digest}`);
    assert.equal(res.status, 200);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), data);
    res = await fetch(`${u}${loc}`);
    assert.equal(res.status, 404, 'a finished session is gone');
    assert.equal(await errCode(res), 'BLOB_UPLOAD_UNKNOWN');
  });

  it('serves Range requests and HEAD with sizes and digests', async () => {
    const data = randomBytes(5000);
    const d = await pushBlob(u, 'range', data);
    let res = await fetch(`${u}/v2/range/blobs/${d}`, { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-length'), '5000');
    assert.equal(res.headers.get('docker-content-digest'), d);
    res = await fetch(`${u}/v2/range/blobs/${d}`, { headers: { Range: 'bytes=100-199' } });
    assert.equal(res.status, 206);
    assert.equal(res.headers.get('content-range'), 'bytes 100-199/5000');
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), data.subarray(100, 200));
    res = await fetch(`${u}/v2/range/blobs/${d}`, { headers: { Range: 'bytes=4990-' } });
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), data.subarray(4990));
    res = await fetch(`${u}/v2/range/blobs/${d}`, { headers: { Range: 'bytes=6000-7000' } });
    assert.equal(res.status, 416);
    assert.equal(res.headers.get('content-range'), 'bytes */5000');
    res = await fetch(`${u}/v2/range/blobs/${sha256('nothing')}`);
    assert.equal(res.status, 404);
    assert.equal(await errCode(res), 'BLOB_UNKNOWN');
    res = await fetch(`${u}/v2/other/blobs/${d}`, { method: 'HEAD' });
    assert.equal(res.status, 404, 'a blob is visible only in repositories that link it');
  });

  it('rejects a wrong digest on PUT with DIGEST_INVALID and stores nothing', async () => {
    const data = randomBytes(1000);
    const wrong = sha256('something else');
    let res = await fetch(`${u}/v2/bad/blobs/uploads/?digest=${wrong}`, { method: 'POST', body: data });
    assert.equal(res.status, 400);
    assert.equal(await errCode(res), 'DIGEST_INVALID');
    for (const d of [wrong, sha256(data)]) {
      res = await fetch(`${u}/v2/bad/blobs/${d}`, { method: 'HEAD' });
      assert.equal(res.status, 404);
    }
    res = await fetch(`${u}/v2/bad/blobs/uploads/?digest=sha256:xyz`, { method: 'POST', body: data });
    assert.equal(res.status, 400);
    assert.equal(await errCode(res), 'DIGEST_INVALID');
  });

  it('answers malformed names and digests with 400, never 500', async () => {
    for (const p of [
      '/v2/UPPER/tags/list',
      '/v2/a/../b/tags/list',
      '/v2/a..b/manifests/x',
      '/v2/%2e%2e/x/tags/list',
      '/v2/-x/blobs/uploads/',
      '/v2/a/blobs/sha256:zz',
      '/v2/a/manifests/sha256:123',
      '/v2/a/referrers/nope',
    ]) {
      const res = await rawRequest(u, p.endsWith('uploads/') ? 'POST' : 'GET', p);
      assert.equal(res.status, 400, p);
      assert.match(
        (JSON.parse(res.body) as { errors: Array<{ code: string }> }).errors[0]!.code,
        /^(NAME_INVALID|DIGEST_INVALID)$/,
        p,
      );
    }
    // A reference that cannot be a tag names nothing: 404 on reads (the conformance suite's expectation), 400 on PUT.
    let res = await fetch(`${u}/v2/a/manifests/.INVALID_MANIFEST_NAME`);
    assert.equal(res.status, 404);
    assert.equal(await errCode(res), 'MANIFEST_UNKNOWN');
    res = await fetch(`${u}/v2/a/manifests/${'x'.repeat(200)}`, { method: 'PUT', body: '{}' });
    assert.equal(res.status, 400);
    assert.equal(await errCode(res), 'MANIFEST_INVALID');
  });

  it('pushes and pulls manifests by tag and digest with Docker-Content-Digest everywhere', async () => {
    const img = await pushImage(u, 'app/one', 'v1');
    for (const ref of ['v1', img.digest]) {
      for (const method of ['GET', 'HEAD']) {
        const res = await fetch(`${u}/v2/app/one/manifests/${ref}`, { method, headers: { Accept: OCI_MANIFEST } });
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('docker-content-digest'), img.digest);
        assert.equal(res.headers.get('content-type'), OCI_MANIFEST);
        assert.equal(res.headers.get('content-length'), String(img.manifest.length));
        if (method === 'GET') assert.deepEqual(Buffer.from(await res.arrayBuffer()), img.manifest);
      }
    }
    let res = await fetch(`${u}/v2/app/one/manifests/nope`);
    assert.equal(res.status, 404);
    assert.equal(await errCode(res), 'MANIFEST_UNKNOWN');
    res = await fetch(`${u}/v2/app/none/manifests/v1`);
    assert.equal(res.status, 404);
    assert.equal(await errCode(res), 'NAME_UNKNOWN');
  });

  it('refuses manifests with missing blobs, a wrong digest, bad JSON or too many bytes', async () => {
    const missing = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256('nope'), size: 4 },
        layers: [],
      }),
    );
    let res = await fetch(`${u}/v2/m/manifests/t`, {
      method: 'PUT',
      body: missing,
      headers: { 'Content-Type': OCI_MANIFEST },
    });
    assert.equal(res.status, 400);
    assert.equal(await errCode(res), 'MANIFEST_BLOB_UNKNOWN');
    res = await fetch(`${u}/v2/m/manifests/${sha256('other')}`, {
      method: 'PUT',
      body: missing,
      headers: { 'Content-Type': OCI_MANIFEST },
    });
    assert.equal(await errCode(res), 'DIGEST_INVALID');
    res = await fetch(`${u}/v2/m/manifests/t`, {
      method: 'PUT',
      body: '{not json',
      headers: { 'Content-Type': OCI_MANIFEST },
    });
    assert.equal(res.status, 400);
    assert.equal(await errCode(res), 'MANIFEST_INVALID');
    const big = Buffer.alloc(4 * 1024 * 1024 + 10, 0x20);
    res = await fetch(`${u}/v2/m/manifests/t`, { method: 'PUT', body: big, headers: { 'Content-Type': OCI_MANIFEST } });
    assert.equal(res.status, 413);
    assert.equal(await errCode(res), 'MANIFEST_INVALID');
    res = await fetch(`${u}/v2/m/tags/list`);
    assert.equal(res.status, 404, 'nothing was stored');
  });

  it('paginates tags/list and _catalog with n, last and Link', async () => {
    const img = await pushImage(u, 'pages/a', 't00');
    const tags = Array.from({ length: 23 }, (_, i) => `t${String(i).padStart(2, '0')}`);
    for (const t of tags.slice(1)) {
      const res = await fetch(`${u}/v2/pages/a/manifests/${t}`, {
        method: 'PUT',
        body: img.manifest,
        headers: { 'Content-Type': OCI_MANIFEST },
      });
      assert.equal(res.status, 201);
    }
    const seen: string[] = [];
    let next: string | undefined = '/v2/pages/a/tags/list?n=10';
    let pages = 0;
    while (next && pages < 10) {
      const res: Response = await fetch(`${u}${next}`);
      const body = (await res.json()) as { tags: string[] };
      seen.push(...body.tags);
      next = /<([^>]+)>; rel="next"/.exec(res.headers.get('link') ?? '')?.[1];
      pages++;
    }
    assert.equal(pages, 3);
    assert.deepEqual(seen, tags);
    let res = await fetch(`${u}/v2/pages/a/tags/list?n=5&last=t20`);
    assert.deepEqual(((await res.json()) as { tags: string[] }).tags, ['t21', 't22']);
    assert.equal(res.headers.get('link'), null);
    res = await fetch(`${u}/v2/pages/a/tags/list?n=abc`);
    assert.equal(res.status, 400);
    await pushImage(u, 'pages/b', 'x');
    await pushImage(u, 'pages/c', 'x');
    res = await fetch(`${u}/v2/_catalog?n=1&last=pages/a`);
    assert.deepEqual(await res.json(), { repositories: ['pages/b'] });
    assert.equal(res.headers.get('link'), '</v2/_catalog?n=1&last=pages%2Fb>; rel="next"');
  });

  it('deletes one tag without killing its siblings, then the manifest by digest', async () => {
    const img = await pushImage(u, 'del/tags', 'a');
    for (const t of ['b', 'c']) {
      await fetch(`${u}/v2/del/tags/manifests/${t}`, {
        method: 'PUT',
        body: img.manifest,
        headers: { 'Content-Type': OCI_MANIFEST },
      });
    }
    let res = await fetch(`${u}/v2/del/tags/manifests/b`, { method: 'DELETE' });
    assert.equal(res.status, 202);
    res = await fetch(`${u}/v2/del/tags/tags/list`);
    assert.deepEqual(((await res.json()) as { tags: string[] }).tags, ['a', 'c']);
    res = await fetch(`${u}/v2/del/tags/manifests/a`);
    assert.equal(res.status, 200);
    res = await fetch(`${u}/v2/del/tags/manifests/b`, { method: 'DELETE' });
    assert.equal(res.status, 404);
    res = await fetch(`${u}/v2/del/tags/manifests/${img.digest}`, { method: 'DELETE' });
    assert.equal(res.status, 202);
    res = await fetch(`${u}/v2/del/tags/manifests/a`);
    assert.equal(res.status, 404);
    res = await fetch(`${u}/v2/_catalog`);
    assert.ok(
      !((await res.json()) as { repositories: string[] }).repositories.includes('del/tags'),
      'an emptied repository leaves the catalog',
    );
    // Blob delete unlinks from the repository only.
    await pushImage(u, 'del/blob', 'x');
    const d = await pushBlob(u, 'del/blob', Buffer.from('blob to delete'));
    res = await fetch(`${u}/v2/del/blob/blobs/${d}`, { method: 'DELETE' });
    assert.equal(res.status, 202);
    res = await fetch(`${u}/v2/del/blob/blobs/${d}`);
    assert.equal(res.status, 404);
  });

  it('deletes a whole repository through the admin route', async () => {
    await pushImage(u, 'whole/repo', 'a');
    await pushImage(u, 'whole/repo', 'b');
    let res = await fetch(`${u}/wharf/v1/repositories/whole/repo`, { method: 'DELETE' });
    assert.equal(res.status, 202);
    assert.deepEqual(await res.json(), { name: 'whole/repo', manifestsDeleted: 2, tagsDeleted: 2 });
    res = await fetch(`${u}/v2/whole/repo/tags/list`);
    assert.equal(res.status, 404);
    res = await fetch(`${u}/v2/_catalog`);
    assert.ok(!((await res.json()) as { repositories: string[] }).repositories.includes('whole/repo'));
    res = await fetch(`${u}/wharf/v1/repositories/whole/repo`, { method: 'DELETE' });
    assert.equal(res.status, 404);
  });

  it('mounts a blob across repositories, explicitly and automatically', async () => {
    const d = await pushBlob(u, 'mount/src', randomBytes(3000));
    let res = await fetch(`${u}/v2/mount/dst/blobs/uploads/?mount=${d}&from=mount/src`, { method: 'POST' });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('location'), `/v2/mount/dst/blobs/${d}`);
    res = await fetch(`${u}/v2/mount/dst/blobs/${d}`, { method: 'HEAD' });
    assert.equal(res.status, 200);
    res = await fetch(`${u}/v2/mount/auto/blobs/uploads/?mount=${d}`, { method: 'POST' });
    assert.equal(res.status, 201, 'known blob, no from: mounted anyway');
    res = await fetch(`${u}/v2/mount/x/blobs/uploads/?mount=${sha256('unknown')}&from=mount/src`, { method: 'POST' });
    assert.equal(res.status, 202, 'unknown blob: a normal upload session');
    assert.match(res.headers.get('location')!, /\/blobs\/uploads\//);
  });

  it('serves referrers with artifactType filtering and answers OCI-Subject', async () => {
    const subject = await pushImage(u, 'ref/app', 'v1');
    const emptyCfg = Buffer.from('{}');
    await pushBlob(u, 'ref/app', emptyCfg);
    const put = async (artifactType: string, extra: Record<string, unknown> = {}) => {
      const m = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          artifactType,
          config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(emptyCfg), size: 2 },
          layers: [{ mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(emptyCfg), size: 2 }],
          subject: { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.manifest.length },
          ...extra,
        }),
      );
      const res = await fetch(`${u}/v2/ref/app/manifests/${sha256(m)}`, {
        method: 'PUT',
        body: m,
        headers: { 'Content-Type': OCI_MANIFEST },
      });
      assert.equal(res.status, 201);
      assert.equal(res.headers.get('oci-subject'), subject.digest);
      return sha256(m);
    };
    const sig = await put('application/vnd.example.sig');
    const sbom = await put('application/vnd.example.sbom', { annotations: { 'org.example': 'yes' } });
    let res = await fetch(`${u}/v2/ref/app/referrers/${subject.digest}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), OCI_INDEX);
    const all = (await res.json()) as {
      manifests: Array<{ digest: string; artifactType: string; annotations?: Record<string, string> }>;
    };
    assert.deepEqual(all.manifests.map((m) => m.digest).sort(), [sig, sbom].sort());
    res = await fetch(`${u}/v2/ref/app/referrers/${subject.digest}?artifactType=application/vnd.example.sbom`);
    assert.equal(res.headers.get('oci-filters-applied'), 'artifactType');
    const one = (await res.json()) as typeof all;
    assert.deepEqual(
      one.manifests.map((m) => [m.digest, m.artifactType, m.annotations]),
      [[sbom, 'application/vnd.example.sbom', { 'org.example': 'yes' }]],
    );
    res = await fetch(`${u}/v2/ref/app/referrers/${sha256('no such subject')}`);
    assert.equal(res.status, 200);
    assert.deepEqual(((await res.json()) as typeof all).manifests, []);
  });

  it('answers /v1/search the way docker search reads it', async () => {
    await pushImage(u, 'search/needle-one', 'x');
    await pushImage(u, 'search/hay', 'x');
    let res = await fetch(`${u}/v1/_ping`);
    assert.equal(res.status, 200);
    res = await fetch(`${u}/v1/search?q=needle&n=25`);
    const body = (await res.json()) as {
      num_results: number;
      query: string;
      results: Array<{ name: string; description: string; star_count: number; is_official: boolean }>;
    };
    assert.equal(body.num_results, 1);
    assert.equal(body.query, 'needle');
    assert.deepEqual(body.results[0], {
      name: 'search/needle-one',
      description: '',
      star_count: 0,
      is_official: false,
      is_automated: false,
      is_trusted: false,
    });
  });

  it('keeps the bytes of a client that disconnects mid-upload, so the session resumes', async () => {
    const data = randomBytes(300_000);
    let res = await fetch(`${u}/v2/resume/blobs/uploads/`, { method: 'POST' });
    const loc = res.headers.get('location')!;
    // Send half of a declared chunk, then drop the connection.
    await new Promise<void>((resolve) => {
      const req = http.request(`${u}${loc}`, {
        method: 'PATCH',
        headers: { 'Content-Length': String(data.length), 'Content-Range': `0-${data.length - 1}` },
      });
      req.on('error', () => resolve());
      req.write(data.subarray(0, 100_000), () =>
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 200),
      );
    });
    let size = -1;
    for (let i = 0; i < 50; i++) {
      res = await fetch(`${u}${loc}`);
      size = Number(res.headers.get('range')!.split('-')[1]) + 1;
      if (size === 100_000) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(size, 100_000);
    res = await fetch(`${u}/v2/resume/blobs/${sha256(data)}`, { method: 'HEAD' });
    assert.equal(res.status, 404, 'nothing half-visible');
    res = await fetch(`${u}${loc}`, {
      method: 'PATCH',
      body: data.subarray(100_000),
      headers: { 'Content-Range': `100000-${data.length - 1}` },
    });
    assert.equal(res.status, 202);
    res = await fetch(`${u}${loc}?digest=${sha256(data)}`, { method: 'PUT' });
    assert.equal(res.status, 201);
    res = await fetch(`${u}/v2/resume/blobs/${sha256(data)}`);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), data);
  });

  it('cancels an upload session', async () => {
    let res = await fetch(`${u}/v2/cancel/blobs/uploads/`, { method: 'POST' });
    const loc = res.headers.get('location')!;
    res = await fetch(`${u}${loc}`, { method: 'DELETE' });
    assert.equal(res.status, 204);
    res = await fetch(`${u}${loc}`);
    assert.equal(res.status, 404);
    assert.equal(await errCode(res), 'BLOB_UPLOAD_UNKNOWN');
  });

  it('handles concurrent pushes of the same blob and the same tag', async () => {
    const data = randomBytes(500_000);
    const results = await Promise.all(Array.from({ length: 8 }, () => pushBlob(u, 'race/app', data)));
    assert.ok(results.every((d) => d === sha256(data)));
    const imgs = await Promise.all(
      Array.from({ length: 6 }, () => pushImage(u, 'race/app', 'latest', { layers: [data] })),
    );
    const res = await fetch(`${u}/v2/race/app/manifests/latest`);
    assert.ok(
      imgs.some((i) => i.digest === res.headers.get('docker-content-digest')),
      'the tag points at one of the pushed manifests',
    );
    const blob = await fetch(`${u}/v2/race/app/blobs/${sha256(data)}`);
    assert.equal(sha256(Buffer.from(await blob.arrayBuffer())), sha256(data));
  });

  it('writes one access-log line per request', async () => {
    const before = r.logs.length;
    await fetch(`${u}/v2/`);
    await fetch(`${u}/v2/nothing/tags/list`);
    await new Promise((res) => setTimeout(res, 50));
    const lines = r.logs.slice(before);
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /"GET \/v2\/" 200 /);
    assert.match(lines[1]!, /"GET \/v2\/nothing\/tags\/list" 404 /);
  });
});

describe('registry modes', () => {
  it('refuses deletes when storage.delete.enabled is false, and writes in read-only mode', async () => {
    const r = await startTestRegistry({ storage: { delete: { enabled: false } } });
    try {
      const img = await pushImage(r.url, 'nodel', 'v1');
      const res = await fetch(`${r.url}/v2/nodel/manifests/v1`, { method: 'DELETE' });
      assert.equal(res.status, 405);
      assert.equal(await errCode(res), 'UNSUPPORTED');
      assert.equal((await fetch(`${r.url}/v2/nodel/manifests/${img.digest}`)).status, 200);
    } finally {
      await r.stop();
    }
    const ro = await startTestRegistry({ storage: { maintenance: { readonly: { enabled: true } } } });
    try {
      const res = await fetch(`${ro.url}/v2/ro/blobs/uploads/`, { method: 'POST' });
      assert.equal(res.status, 405);
      assert.equal((await fetch(`${ro.url}/v2/`)).status, 200);
    } finally {
      await ro.stop();
    }
  });
});

describe('registry shutdown', () => {
  it('finishes an upload in flight before closing, and refuses new connections', async () => {
    const r = await startTestRegistry();
    const data = randomBytes(400_000);
    const digest = sha256(data);
    const res = await fetch(`${r.url}/v2/shut/blobs/uploads/`, { method: 'POST' });
    const loc = res.headers.get('location')!;
    const status = new Promise<number>((resolve, reject) => {
      const req = http.request(
        `${r.url}${loc}?digest=${digest}`,
        { method: 'PUT', headers: { 'Content-Length': String(data.length) } },
        (m) => {
          m.resume();
          resolve(m.statusCode!);
        },
      );
      req.on('error', reject);
      req.write(data.subarray(0, 100_000));
      setTimeout(() => req.end(data.subarray(100_000)), 300);
    });
    await new Promise((res) => setTimeout(res, 100));
    const closed = r.close();
    assert.equal(await status, 201, 'the upload in flight completed');
    await closed;
    await assert.rejects(fetch(`${r.url}/v2/`));
    // The data is there for the next start.
    const again = await startTestRegistry({}, r.root);
    try {
      const blob = await fetch(`${again.url}/v2/shut/blobs/${digest}`);
      assert.equal(sha256(Buffer.from(await blob.arrayBuffer())), digest);
    } finally {
      await again.stop();
      await r.stop().catch(() => undefined);
      const { rm } = await import('node:fs/promises');
      await rm(r.root, { recursive: true, force: true });
    }
  });
});

describe('registry rate limit', () => {
  it('answers 429 TOOMANYREQUESTS with Retry-After past the configured rate', async () => {
    const r = await startTestRegistry({ http: { addr: '127.0.0.1:0', ratelimit: { rate: 1, burst: 3 } } });
    try {
      const statuses: number[] = [];
      let retryAfter: string | null = null;
      for (let i = 0; i < 5; i++) {
        const res = await fetch(`${r.url}/v2/`);
        statuses.push(res.status);
        if (res.status === 429) {
          retryAfter = res.headers.get('retry-after');
          assert.equal(await errCode(res), 'TOOMANYREQUESTS');
        } else await res.arrayBuffer();
      }
      assert.deepEqual(statuses.slice(0, 3), [200, 200, 200]);
      assert.equal(statuses[4], 429);
      assert.equal(retryAfter, '1');
    } finally {
      await r.stop();
    }
  });
});

describe('registry listings at scale', () => {
  it('pages through thousands of repositories and tags from the index, quickly', async () => {
    const r = await startTestRegistry();
    try {
      const content = Buffer.from(
        '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}',
      );
      const put = (repo: string, tag: string) =>
        r.store.index.manifests.put(repo, {
          digest: sha256(content) as never,
          mediaType: OCI_MANIFEST,
          content,
          blobs: [],
          children: [],
          tag,
        });
      const repos = Array.from({ length: 3000 }, (_, i) => `scale/r${String(i).padStart(5, '0')}`);
      for (const repo of repos) await put(repo, 'latest');
      const tags = Array.from({ length: 3000 }, (_, i) => `v${String(i).padStart(5, '0')}`);
      for (const t of tags) await put('scale/many-tags', t);

      const walk = async (first: string, key: 'repositories' | 'tags') => {
        const seen: string[] = [];
        let next: string | undefined = first;
        let pages = 0;
        const started = Date.now();
        while (next && pages < 100) {
          const res: Response = await fetch(`${r.url}${next}`);
          seen.push(...((await res.json()) as Record<string, string[]>)[key]!);
          next = /<([^>]+)>; rel="next"/.exec(res.headers.get('link') ?? '')?.[1];
          pages++;
        }
        return { seen, pages, ms: Date.now() - started };
      };
      const cat = await walk('/v2/_catalog?n=500', 'repositories');
      assert.equal(cat.pages, 7);
      assert.deepEqual(cat.seen, [...repos, 'scale/many-tags'].sort());
      const tl = await walk('/v2/scale/many-tags/tags/list?n=500', 'tags');
      assert.equal(tl.pages, 6);
      assert.deepEqual(tl.seen, tags);
      assert.ok(cat.ms < 2000 && tl.ms < 2000, `catalog ${cat.ms} ms, tags ${tl.ms} ms`);
    } finally {
      await r.stop();
    }
  });
});
