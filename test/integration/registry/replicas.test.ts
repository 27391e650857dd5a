/**
 * Three `wharf registry serve` replicas on 127.0.0.2–127.0.0.4 sharing one PostgreSQL index and one blob directory,
 * with no sticky sessions: pushes and pulls through different replicas, an upload whose requests go to different
 * replicas, GC on one while the others take pushes, the database restarted under load, and a replica killed mid-upload.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import * as http from 'node:http';
import { run } from '../../../src/util/index.js';
import { postgresMissing, startPostgres, type TestPostgres } from '../../helpers/postgres.js';
import { serveRegistry, type ServedRegistry } from '../../helpers/registry-serve.js';
import { pushImage, sha256 } from './helpers.js';
import { writeOciLayout } from './oci-layout.js';

const skopeo = (args: string[]) => run('skopeo', args, { signal: AbortSignal.timeout(120_000) });
const ADDRS = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];

describe('registry replicas on one PostgreSQL', { skip: postgresMissing() ?? false }, () => {
  let db: TestPostgres;
  let tmp: string;
  let config: string;
  const replicas: ServedRegistry[] = [];
  const url = (i: number) => `http://${replicas[i]!.host}`;

  const startReplica = (i: number) => serveRegistry(tmp, 60_000, { addr: `${ADDRS[i]}:0`, config });

  before(async () => {
    db = await startPostgres();
    tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-replicas-'));
    config = path.join(tmp, 'registry.yml');
    await fsp.writeFile(
      config,
      [
        'version: 0.1',
        'storage:',
        '  filesystem:',
        `    rootdirectory: ${tmp}/blobs`,
        '  maintenance:',
        '    uploadpurging:',
        '      enabled: false',
        'database:',
        `  dsn: ${db.dsn}`,
        '  pool: 4',
        '  statementtimeout: 10s',
        '',
      ].join('\n'),
    );
    // One at a time: the first applies the migrations, the others find them applied (they would wait on its lock).
    for (let i = 0; i < ADDRS.length; i++) replicas.push(await startReplica(i));
  });

  after(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await db?.stop();
    if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
  });

  it('takes a skopeo push through one replica and serves the pull through another', async () => {
    const src = await writeOciLayout(path.join(tmp, 'src'), 'v1', [{ arch: 'amd64', layerSizes: [300_000] }]);
    const through = (i: number) => `docker://${replicas[i]!.host}/team/app:v1`;
    await skopeo(['copy', '--dest-tls-verify=false', `oci:${src.dir}:v1`, through(0)]);
    const out = path.join(tmp, 'out');
    await skopeo(['copy', '--src-tls-verify=false', through(1), `oci:${out}:v1`]);
    const inspect = JSON.parse((await skopeo(['inspect', '--tls-verify=false', through(2)])).stdout) as {
      Digest: string;
    };
    assert.equal(inspect.Digest, src.digest, 'the third replica serves the same manifest at once');
    const blobs = async (d: string) => (await fsp.readdir(path.join(d, 'blobs', 'sha256'))).sort();
    assert.deepEqual(await blobs(out), await blobs(src.dir));
  });

  it('completes a chunked upload whose requests go to three replicas, with the right digest', async () => {
    const data = randomBytes(3 * 256 * 1024 + 17);
    const chunks = [data.subarray(0, 256 * 1024), data.subarray(256 * 1024, 700_000), data.subarray(700_000)];
    const start = await fetch(`${url(0)}/v2/chunky/blobs/uploads/`, { method: 'POST' });
    assert.equal(start.status, 202);
    const location = start.headers.get('location')!;
    const pathOf = (loc: string) => new URL(loc, 'http://x').pathname + new URL(loc, 'http://x').search;
    let loc = pathOf(location);
    let offset = 0;
    for (const [i, chunk] of chunks.entries()) {
      const res = await fetch(`${url(i % 3)}${loc}`, {
        method: 'PATCH',
        body: chunk,
        headers: {
          'Content-Type': 'application/octet-stream',
          'Content-Range': `${offset}-${offset + chunk.length - 1}`,
        },
      });
      assert.equal(res.status, 202, await res.text());
      offset += chunk.length;
      assert.equal(res.headers.get('range'), `0-${offset - 1}`);
      loc = pathOf(res.headers.get('location')!);
    }
    const status = await fetch(`${url(2)}${loc}`);
    assert.equal(status.status, 204);
    assert.equal(status.headers.get('range'), `0-${data.length - 1}`);
    const digest = sha256(data);
    const sep = loc.includes('?') ? '&' : '?';
    const done = await fetch(`${url(1)}${loc}${sep}digest=${digest}`, { method: 'PUT' });
    assert.equal(done.status, 201, await done.text());
    const back = await fetch(`${url(0)}/v2/chunky/blobs/${digest}`);
    assert.equal(sha256(Buffer.from(await back.arrayBuffer())), digest);
  });

  it('runs GC on one replica while the other two take pushes, and loses nothing pushed or being uploaded', async () => {
    // An upload in progress, its bytes in place but not finished: GC must keep the session and its data.
    const pending = randomBytes(100_000);
    const start = await fetch(`${url(1)}/v2/gc/pending/blobs/uploads/`, { method: 'POST' });
    const loc = new URL(start.headers.get('location')!, 'http://x');
    const patch = await fetch(`${url(1)}${loc.pathname}`, { method: 'PATCH', body: pending });
    assert.equal(patch.status, 202);

    const pushes = Array.from({ length: 8 }, (_, i) =>
      pushImage(url(1 + (i % 2)), `gc/app${i % 3}`, `t${i}`, { layers: [randomBytes(40_000), randomBytes(10_000)] }),
    );
    const gcs: Array<Promise<Response>> = [];
    // Collections on two replicas at once: they take turns through the database's lock.
    for (let i = 0; i < 3; i++) gcs.push(fetch(`${url(i % 2)}/wharf/v1/gc?delete-untagged=true`, { method: 'POST' }));
    const [images, gcResults] = await Promise.all([Promise.all(pushes), Promise.all(gcs)]);
    for (const r of gcResults) assert.equal(r.status, 200, await r.text());
    const gcAgain = await fetch(`${url(0)}/wharf/v1/gc?delete-untagged=true`, { method: 'POST' });
    assert.equal(gcAgain.status, 200);

    for (const [i, img] of images.entries()) {
      const via = url(i % 3);
      const m = await fetch(`${via}/v2/gc/app${i % 3}/manifests/t${i}`, {
        headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' },
      });
      assert.equal(m.status, 200, `manifest t${i}`);
      assert.equal(sha256(Buffer.from(await m.arrayBuffer())), img.digest);
      for (const b of [img.config, ...img.layers]) {
        const res = await fetch(`${via}/v2/gc/app${i % 3}/blobs/${b.digest}`);
        assert.equal(res.status, 200, `blob ${b.digest} of t${i}`);
        assert.equal(sha256(Buffer.from(await res.arrayBuffer())), b.digest);
      }
    }
    const digest = sha256(pending);
    const done = await fetch(`${url(2)}${loc.pathname}?digest=${digest}`, { method: 'PUT' });
    assert.equal(done.status, 201, 'the upload in progress survived the collections');
  });

  it('answers 503 with Retry-After while PostgreSQL is down, then recovers, with no half-written manifest or tag', async () => {
    const pushed: Array<{ repo: string; tag: string; digest: string }> = [];
    let stop = false;
    const statuses = new Map<number, number>();
    // Load through two replicas while the database goes away and comes back: each push either completes or fails.
    const load = async (i: number) => {
      for (let n = 0; n < 200 && !stop; n++) {
        const repo = `load/r${i}`;
        const tag = `n${n}`;
        try {
          const img = await pushImage(url(i), repo, tag, { layers: [randomBytes(2000)] });
          pushed.push({ repo, tag, digest: img.digest });
        } catch {
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    };
    const loads = [load(1), load(2)];
    await new Promise((r) => setTimeout(r, 300));
    await run('bash', [path.resolve('scripts/postgres.sh'), 'stop', db.dir]);
    try {
      const res = await fetch(`${url(0)}/v2/load/r1/tags/list`);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('retry-after'), '5');
      const cfg = Buffer.from('{}');
      const manifest = {
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(cfg), size: cfg.length },
        layers: [],
      };
      const put = await fetch(`${url(0)}/v2/load/r1/manifests/down`, {
        method: 'PUT',
        body: JSON.stringify(manifest),
        headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
      });
      assert.equal(put.status, 503, await put.text());
      assert.equal(put.headers.get('retry-after'), '5');
      const health = await fetch(`${url(0)}/debug/health`);
      assert.equal(health.status, 503);
      assert.match(await health.text(), /database_postgres/);
    } finally {
      await db.restart();
    }
    // Back: within a bounded number of tries (pooled connections that died with the server are replaced).
    let healthy = false;
    for (let i = 0; i < 50 && !healthy; i++) {
      healthy = (await fetch(`${url(0)}/debug/health`)).status === 200;
      if (!healthy) await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(healthy, 'health recovers once the database is back');
    stop = true;
    await Promise.all(loads);
    const after = await pushImage(url(0), 'load/r0', 'after', { layers: [randomBytes(1000)] });
    assert.ok(after.digest.startsWith('sha256:'));
    // Every push that succeeded is whole; every tag that exists names a manifest that exists.
    for (const p of pushed) {
      const m = await fetch(`${url(0)}/v2/${p.repo}/manifests/${p.tag}`, {
        headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' },
      });
      assert.equal(m.status, 200, `${p.repo}:${p.tag}`);
      assert.equal(sha256(Buffer.from(await m.arrayBuffer())), p.digest);
    }
    for (const repo of ['load/r1', 'load/r2']) {
      const tags = ((await (await fetch(`${url(0)}/v2/${repo}/tags/list`)).json()) as { tags: string[] | null }).tags;
      for (const tag of tags ?? []) {
        const m = await fetch(`${url(0)}/v2/${repo}/manifests/${tag}`, { method: 'HEAD' });
        assert.equal(m.status, 200, `tag ${repo}:${tag} names a manifest`);
      }
    }
    for (const [i, r] of replicas.entries())
      assert.ok(
        (await fetch(`${url(i)}/debug/health`).then((x) => x.status, String)) === 200,
        `replica ${i} lived through the outage:\n${r.stderr().slice(-3000)}`,
      );
    const metrics = await (await fetch(`${url(0)}/metrics`)).text();
    assert.match(metrics, /wharf_registry_http_requests_total\{route="tags",method="GET",status="503"\} [1-9]/);
    assert.match(metrics, /wharf_registry_database_query_duration_seconds_count\{outcome="ok"\} [1-9]/);
  });

  it('lets a client whose replica was SIGKILLed mid-upload continue on another', async () => {
    const data = randomBytes(3 * 1024 * 1024);
    const first = data.subarray(0, 1024 * 1024);
    const start = await fetch(`${url(2)}/v2/crash/app/blobs/uploads/`, { method: 'POST' });
    const loc = new URL(start.headers.get('location')!, 'http://x').pathname;
    assert.equal((await fetch(`${url(2)}${loc}`, { method: 'PATCH', body: first })).status, 202);
    // The second chunk streams in; the replica dies while receiving it.
    const body = new PassThrough();
    const [host, port] = replicas[2]!.host.split(':') as [string, string];
    const req = http.request({ host, port: Number(port), method: 'PATCH', path: loc });
    req.on('error', () => undefined);
    body.pipe(req);
    body.write(data.subarray(first.length, first.length + 512 * 1024));
    await new Promise((r) => setTimeout(r, 200));
    await replicas[2]!.kill();
    body.destroy();
    // Another replica knows the session and how far it got; the client resumes from there.
    const status = await fetch(`${url(0)}${loc}`);
    assert.equal(status.status, 204);
    const have = Number(status.headers.get('range')!.split('-')[1]) + 1;
    assert.ok(have >= first.length && have <= data.length, `resumes at ${have}`);
    const rest = data.subarray(have);
    const res = await fetch(`${url(1)}${loc}`, {
      method: 'PATCH',
      body: rest,
      headers: { 'Content-Range': `${have}-${data.length - 1}` },
    });
    assert.equal(res.status, 202, await res.text());
    const digest = sha256(data);
    const done = await fetch(`${url(0)}${loc}?digest=${digest}`, { method: 'PUT' });
    assert.equal(done.status, 201, await done.text());
    const back = await fetch(`${url(1)}/v2/crash/app/blobs/${digest}`);
    assert.equal(sha256(Buffer.from(await back.arrayBuffer())), digest);
    replicas[2] = await startReplica(2);
  });
});
