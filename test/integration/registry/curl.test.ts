import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { run } from '../../../src/util/index.js';
import { OCI_MANIFEST, pushImage, sha256, startTestRegistry, type TestRegistry } from './helpers.js';

/** curl with headers on stdout (-i style, parsed), exactly as an operator would type it. */
async function curl(args: string[]): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const r = await run('curl', ['-sS', '-D', '-', ...args], { signal: AbortSignal.timeout(30_000) });
  const sep = r.stdout.indexOf('\r\n\r\n');
  const head = r.stdout.slice(0, sep).split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of head.slice(1)) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status: Number(head[0]!.split(' ')[1]), headers, body: r.stdout.slice(sep + 4) };
}

describe('registry with curl', () => {
  let r: TestRegistry;
  let tmp: string;
  before(async () => {
    tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-reg-curl-'));
    r = await startTestRegistry();
  });
  after(async () => {
    await r.stop();
    await fsp.rm(tmp, { recursive: true, force: true });
  });

  it('uploads in chunks with PATCH and Content-Range, then reads ranges back', async () => {
    const data = randomBytes(90_000);
    const digest = sha256(data);
    const parts = [data.subarray(0, 30_000), data.subarray(30_000, 60_000), data.subarray(60_000)];
    for (const [i, p] of parts.entries()) await fsp.writeFile(path.join(tmp, `part${i}`), p);
    let res = await curl(['-X', 'POST', `${r.url}/v2/curl/app/blobs/uploads/`]);
    assert.equal(res.status, 202);
    let loc = res.headers.location!;
    let offset = 0;
    for (const [i, p] of parts.slice(0, 2).entries()) {
      res = await curl([
        '-X',
        'PATCH',
        '-H',
        'Content-Type: application/octet-stream',
        '-H',
        `Content-Range: ${offset}-${offset + p.length - 1}`,
        '--data-binary',
        `@${path.join(tmp, `part${i}`)}`,
        `${r.url}${loc}`,
      ]);
      assert.equal(res.status, 202);
      offset += p.length;
      assert.equal(res.headers.range, `0-${offset - 1}`);
      loc = res.headers.location!;
    }
    res = await curl([
      '-X',
      'PATCH',
      '-H',
      'Content-Range: 0-29999',
      '--data-binary',
      `@${path.join(tmp, 'part0')}`,
      `${r.url}${loc}`,
    ]);
    assert.equal(res.status, 416, 'a replayed chunk is out of order');
    res = await curl([
      '-X',
      'PUT',
      '-H',
      'Content-Type: application/octet-stream',
      '--data-binary',
      `@${path.join(tmp, 'part2')}`,
      `${r.url}${loc}?digest=${digest}`,
    ]);
    assert.equal(res.status, 201);
    assert.equal(res.headers['docker-content-digest'], digest);
    const out = path.join(tmp, 'range.bin');
    res = await curl(['-r', '1000-1999', '-o', out, `${r.url}/v2/curl/app/blobs/${digest}`]);
    assert.equal(res.status, 206);
    assert.deepEqual(await fsp.readFile(out), data.subarray(1000, 2000));
  });

  it('follows Link pagination, deletes one tag, and lists referrers', async () => {
    const img = await pushImage(r.url, 'curl/tags', 'a');
    const mf = path.join(tmp, 'manifest.json');
    await fsp.writeFile(mf, img.manifest);
    for (const t of ['b', 'c', 'd', 'e']) {
      const res = await curl([
        '-X',
        'PUT',
        '-H',
        `Content-Type: ${OCI_MANIFEST}`,
        '--data-binary',
        `@${mf}`,
        `${r.url}/v2/curl/tags/manifests/${t}`,
      ]);
      assert.equal(res.status, 201);
    }
    const seen: string[] = [];
    let next: string | undefined = '/v2/curl/tags/tags/list?n=2';
    for (let i = 0; next && i < 10; i++) {
      const res = await curl([`${r.url}${next}`]);
      seen.push(...(JSON.parse(res.body) as { tags: string[] }).tags);
      next = /<([^>]+)>/.exec(res.headers.link ?? '')?.[1];
    }
    assert.deepEqual(seen, ['a', 'b', 'c', 'd', 'e']);
    let res = await curl(['-X', 'DELETE', `${r.url}/v2/curl/tags/manifests/c`]);
    assert.equal(res.status, 202);
    res = await curl([`${r.url}/v2/curl/tags/tags/list`]);
    assert.deepEqual((JSON.parse(res.body) as { tags: string[] }).tags, ['a', 'b', 'd', 'e']);

    const sig = await pushImage(r.url, 'curl/tags', undefined, {
      extra: {
        artifactType: 'application/vnd.example.signature',
        subject: { mediaType: OCI_MANIFEST, digest: img.digest, size: img.manifest.length },
      },
    });
    res = await curl([`${r.url}/v2/curl/tags/referrers/${img.digest}?artifactType=application/vnd.example.signature`]);
    assert.equal(res.status, 200);
    assert.equal(res.headers['oci-filters-applied'], 'artifactType');
    const idx = JSON.parse(res.body) as { manifests: Array<{ digest: string; artifactType: string }> };
    assert.deepEqual(
      idx.manifests.map((m) => [m.digest, m.artifactType]),
      [[sig.digest, 'application/vnd.example.signature']],
    );
  });
});
