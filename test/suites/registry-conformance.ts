/**
 * The OCI distribution-spec conformance workflows (pull, push, content discovery, content management), request for
 * request as the official suite (opencontainers/distribution-spec/conformance) sends them, with its expectations. Run
 * against a registry on SQLite (test/unit/registry/conformance.test.ts) and on PostgreSQL
 * (test/integration/registry/postgres-index.test.ts).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sha256, OCI_INDEX, OCI_MANIFEST } from '../integration/registry/helpers.js';

/** A registry the suite talks to over HTTP, fresh (empty), stopped by the suite. */
export interface ConformanceTarget {
  url: string;
  stop(): Promise<void>;
}

const NAME = 'conformance/test';
const config = Buffer.from(
  '\n{\n    "architecture": "amd64",\n    "os": "linux",\n    "rootfs": {\n        "diff_ids": [],\n        "type": "layers"\n    }\n}\n',
);
const manifest = Buffer.from(
  `{ "mediaType": "application/vnd.oci.image.manifest.v1+json", "config":  { "digest": "${sha256(config)}", "mediaType": "application/vnd.oci.image.config.v1+json", "size": ${config.length} }, "layers": [], "schemaVersion": 2 }`,
);
const blobA = Buffer.from('NBA Jam on my NBA toast');
const blobB = Buffer.from('Hello, how are you today?');
const empty = Buffer.from('{}');
const emptyDesc = { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(empty), size: 2 };
const TYPE_A = 'application/vnd.nhl.peanut.butter.bagel';
const TYPE_B = 'application/vnd.nba.strawberry.jam.croissant';

export function runConformanceSuite(name: string, start: () => Promise<ConformanceTarget>): void {
  describe(`OCI distribution-spec conformance workflows: ${name}`, () => {
    let r: ConformanceTarget;
    let u: string;
    const req = (method: string, p: string, init: { body?: Buffer | string; headers?: Record<string, string> } = {}) =>
      fetch(new URL(p.replace('<name>', NAME), u), {
        method,
        ...(init.body !== undefined ? { body: init.body } : {}),
        headers: init.headers ?? {},
      });
    const errors = async (res: Response) => ((await res.json()) as { errors: Array<{ code: string }> }).errors;
    before(async () => {
      r = await start();
      u = r.url;
    });
    after(async () => r.stop());

    describe('push', () => {
      it('streamed: PATCH with blob in body → 202, PUT with digest → 201', async () => {
        let res = await req('POST', '/v2/<name>/blobs/uploads/');
        assert.ok(res.headers.get('location'));
        res = await req('PATCH', res.headers.get('location')!, {
          body: blobA,
          headers: { 'Content-Type': 'application/octet-stream' },
        });
        assert.equal(res.status, 202);
        res = await req('PUT', `${res.headers.get('location')!}?digest=${sha256(blobA)}`, {
          headers: { 'Content-Type': 'application/octet-stream' },
        });
        assert.equal(res.status, 201);
        assert.ok(res.headers.get('location'));
      });

      it('monolithic: GET of a nonexistent blob is 404; POST with digest → 201; POST → session, PUT → 201', async () => {
        let res = await req('GET', `/v2/<name>/blobs/${sha256('hello world')}`);
        assert.equal(res.status, 404);
        res = await req('POST', `/v2/<name>/blobs/uploads/?digest=${sha256(config)}`, {
          body: config,
          headers: { 'Content-Type': 'application/octet-stream' },
        });
        assert.equal(res.status, 201);
        assert.ok(res.headers.get('location'));
        assert.equal((await req('GET', `/v2/<name>/blobs/${sha256(config)}`)).status, 200);
        res = await req('POST', '/v2/<name>/blobs/uploads/');
        assert.equal(res.status, 202);
        res = await req('PUT', `${res.headers.get('location')!}?digest=${sha256(config)}`, {
          body: config,
          headers: { 'Content-Type': 'application/octet-stream' },
        });
        assert.equal(res.status, 201);
      });

      it('chunked: out-of-order first chunk → 416; in order → 202; PUT with the final chunk → 201', async () => {
        const c1 = blobB.subarray(0, 3);
        const c2 = blobB.subarray(3);
        let res = await req('POST', '/v2/<name>/blobs/uploads/', { headers: { 'Content-Length': '0' } });
        res = await req('PATCH', res.headers.get('location')!, {
          body: c2,
          headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `3-${blobB.length - 1}` },
        });
        assert.equal(res.status, 416);
        res = await req('POST', '/v2/<name>/blobs/uploads/', { headers: { 'Content-Length': '0' } });
        res = await req('PATCH', res.headers.get('location')!, {
          body: c1,
          headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': '0-2' },
        });
        assert.equal(res.status, 202);
        res = await req('PUT', `${res.headers.get('location')!}?digest=${sha256(blobB)}`, {
          body: c2,
          headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `3-${blobB.length - 1}` },
        });
        assert.equal(res.status, 201);
      });

      it('cross-mounts from another repository (201), and an unknown blob gets a session (202)', async () => {
        let res = await req('POST', `/v2/conformance/other/blobs/uploads/?mount=${sha256(blobA)}&from=${NAME}`);
        assert.equal(res.status, 201);
        assert.equal((await req('GET', `/v2/conformance/other/blobs/${sha256(blobA)}`)).status, 200);
        res = await req('POST', `/v2/conformance/other/blobs/uploads/?mount=${sha256('nope')}&from=${NAME}`);
        assert.equal(res.status, 202);
      });

      it('manifests: GET of .INVALID_MANIFEST_NAME is 404; PUT by 4 tags → 201; GET by digest → 200', async () => {
        assert.equal((await req('GET', '/v2/<name>/manifests/.INVALID_MANIFEST_NAME')).status, 404);
        for (let i = 0; i < 4; i++) {
          const res = await req('PUT', `/v2/<name>/manifests/test${i}`, {
            body: manifest,
            headers: { 'Content-Type': OCI_MANIFEST },
          });
          assert.equal(res.status, 201);
          assert.ok(res.headers.get('location'));
        }
        const res = await req('GET', `/v2/<name>/manifests/${sha256(manifest)}`, { headers: { Accept: OCI_MANIFEST } });
        assert.equal(res.status, 200);
      });

      it('error bodies carry spec codes', async () => {
        const res = await req('PUT', '/v2/<name>/manifests/sha256:totallywrong', {
          body: 'blablabla',
          headers: { 'Content-Type': OCI_MANIFEST },
        });
        assert.equal(res.status, 400);
        const codes = [
          'BLOB_UNKNOWN',
          'BLOB_UPLOAD_INVALID',
          'BLOB_UPLOAD_UNKNOWN',
          'DIGEST_INVALID',
          'MANIFEST_BLOB_UNKNOWN',
          'MANIFEST_INVALID',
          'MANIFEST_UNKNOWN',
          'NAME_INVALID',
          'NAME_UNKNOWN',
          'SIZE_INVALID',
          'UNAUTHORIZED',
          'DENIED',
          'UNSUPPORTED',
        ];
        assert.ok(codes.includes((await errors(res))[0]!.code));
      });
    });

    describe('pull', () => {
      it('HEAD and GET manifests by tag and digest, blobs by digest; nonexistent ones are 404', async () => {
        for (const ref of ['test0', sha256(manifest)]) {
          for (const m of ['HEAD', 'GET']) {
            const res = await req(m, `/v2/<name>/manifests/${ref}`, { headers: { Accept: OCI_MANIFEST } });
            assert.equal(res.status, 200);
            assert.equal(res.headers.get('docker-content-digest'), sha256(manifest));
          }
        }
        for (const m of ['HEAD', 'GET']) {
          assert.equal((await req(m, `/v2/<name>/blobs/${sha256(config)}`)).status, 200);
          assert.equal((await req(m, `/v2/<name>/manifests/nonexistent`)).status, 404);
          assert.equal((await req(m, `/v2/<name>/blobs/${sha256('nope')}`)).status, 404);
        }
      });
    });

    describe('content discovery', () => {
      let subject: Buffer;
      const refs: Record<string, string> = {};
      it('sets up referrers before and after their subject, and to a subject that never comes', async () => {
        for (const b of [empty, blobA, blobB]) {
          const res = await req('POST', `/v2/<name>/blobs/uploads/?digest=${sha256(b)}`, { body: b });
          assert.equal(res.status, 201);
        }
        const cfg4 = Buffer.from('{"architecture":"arm64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
        await req('POST', `/v2/<name>/blobs/uploads/?digest=${sha256(cfg4)}`, { body: cfg4 });
        subject = Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: OCI_MANIFEST,
            config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(cfg4), size: cfg4.length },
            layers: [
              { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(blobB), size: blobB.length },
            ],
          }),
        );
        const subjDesc = { mediaType: OCI_MANIFEST, digest: sha256(subject), size: subject.length };
        const missingSubject = { mediaType: OCI_MANIFEST, digest: sha256('never pushed'), size: 12 };
        const put = async (
          key: string,
          body: Record<string, unknown>,
          mediaType = OCI_MANIFEST,
          expectSubject = subjDesc.digest,
        ) => {
          const raw = Buffer.from(
            JSON.stringify({
              schemaVersion: 2,
              mediaType,
              ...body,
              annotations: { 'org.opencontainers.conformance.test': key },
            }),
          );
          const res = await req('PUT', `/v2/<name>/manifests/${sha256(raw)}`, {
            body: raw,
            headers: { 'Content-Type': mediaType },
          });
          assert.equal(res.status, 201, `${key}: ${await res.clone().text()}`);
          assert.equal(res.headers.get('oci-subject'), expectSubject);
          refs[key] = sha256(raw);
          return { mediaType, digest: sha256(raw), size: raw.length };
        };
        const a1 = await put('A-config', {
          config: { mediaType: TYPE_A, digest: sha256(blobA), size: blobA.length },
          layers: [emptyDesc],
          subject: subjDesc,
        });
        await put('A-layer', {
          artifactType: TYPE_B,
          config: emptyDesc,
          layers: [{ mediaType: 'application/octet-stream', digest: sha256(blobA), size: blobA.length }],
          subject: subjDesc,
        });
        await put(
          'index',
          { artifactType: 'application/vnd.food.stand', manifests: [a1], subject: subjDesc },
          OCI_INDEX,
        );
        const res = await req('PUT', '/v2/<name>/manifests/tagtest0', {
          body: subject,
          headers: { 'Content-Type': OCI_MANIFEST },
        });
        assert.equal(res.status, 201);
        await put('B-config', {
          config: { mediaType: TYPE_A, digest: sha256(blobB), size: blobB.length },
          layers: [emptyDesc],
          subject: subjDesc,
        });
        await put('B-layer', {
          artifactType: TYPE_B,
          config: emptyDesc,
          layers: [{ mediaType: 'application/octet-stream', digest: sha256(blobB), size: blobB.length }],
          subject: subjDesc,
        });
        await put(
          'C-missing-subject',
          { artifactType: TYPE_B, config: emptyDesc, layers: [emptyDesc], subject: missingSubject },
          OCI_MANIFEST,
          missingSubject.digest,
        );
      });

      it('lists tags, limited by n and started after last', async () => {
        let res = await req('GET', '/v2/<name>/tags/list');
        const all = ((await res.json()) as { tags: string[] }).tags;
        assert.deepEqual(all, ['tagtest0', 'test0', 'test1', 'test2', 'test3']);
        const n = Math.floor(all.length / 2);
        res = await req('GET', `/v2/<name>/tags/list?n=${n}`);
        const first = ((await res.json()) as { tags: string[] }).tags;
        assert.equal(first.length, n);
        res = await req('GET', `/v2/<name>/tags/list?n=${n}&last=${first[n - 1]}`);
        const next = ((await res.json()) as { tags: string[] }).tags;
        assert.ok(next.length <= n && !next.includes(first[n - 1]!));
      });

      it('answers referrers: empty for an unknown digest, all five with annotations, filtered by artifactType, and for a missing subject', async () => {
        let res = await req('GET', `/v2/<name>/referrers/${sha256('hello world')}`);
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('content-type'), OCI_INDEX);
        assert.equal(((await res.json()) as { manifests: unknown[] }).manifests.length, 0);
        res = await req('GET', `/v2/<name>/referrers/${sha256(subject)}`);
        const all = (await res.json()) as {
          manifests: Array<{ digest: string; artifactType?: string; annotations: Record<string, string> }>;
        };
        assert.equal(all.manifests.length, 5);
        for (const m of all.manifests)
          assert.equal(refs[m.annotations['org.opencontainers.conformance.test']!], m.digest);
        res = await req('GET', `/v2/<name>/referrers/${sha256(subject)}?artifactType=${encodeURIComponent(TYPE_A)}`);
        assert.equal(res.headers.get('oci-filters-applied'), 'artifactType');
        const filtered = (await res.json()) as typeof all;
        assert.deepEqual(filtered.manifests.map((m) => m.digest).sort(), [refs['A-config'], refs['B-config']].sort());
        res = await req('GET', `/v2/<name>/referrers/${sha256('never pushed')}`);
        assert.deepEqual(
          ((await res.json()) as typeof all).manifests.map((m) => m.digest),
          [refs['C-missing-subject']],
        );
      });
    });

    describe('content management', () => {
      it('deletes a tag (202), then the manifest by digest, and the tag list shrinks but still answers 200', async () => {
        let res = await req('GET', '/v2/<name>/tags/list');
        const before = ((await res.json()) as { tags: string[] }).tags.length;
        res = await req('DELETE', '/v2/<name>/manifests/test0');
        assert.equal(res.status, 202);
        res = await req('DELETE', `/v2/<name>/manifests/${sha256(manifest)}`);
        assert.ok([202, 404].includes(res.status));
        assert.equal((await req('GET', `/v2/<name>/manifests/${sha256(manifest)}`)).status, 404);
        res = await req('GET', '/v2/<name>/tags/list');
        assert.equal(res.status, 200);
        assert.ok(((await res.json()) as { tags: string[] }).tags.length < before);
      });

      it('deletes a blob (202) and then answers 404 for it', async () => {
        assert.equal((await req('DELETE', `/v2/<name>/blobs/${sha256(config)}`)).status, 202);
        assert.equal((await req('GET', `/v2/<name>/blobs/${sha256(config)}`)).status, 404);
      });

      it('keeps answering 200 with an empty list once every manifest of a repository is gone', async () => {
        let res = await req('GET', '/v2/<name>/tags/list');
        for (const t of ((await res.json()) as { tags: string[] }).tags)
          await req('DELETE', `/v2/<name>/manifests/${t}`);
        res = await req('GET', '/v2/<name>/tags/list');
        assert.equal(res.status, 200);
        assert.deepEqual(((await res.json()) as { tags: string[] }).tags, []);
      });
    });
  });
}
