/**
 * Three `wharf registry serve` replicas on 127.0.0.2–127.0.0.4 sharing one PostgreSQL index and one Ceph RGW bucket:
 * skopeo through one and another, a chunked upload whose PATCHes (crossing multipart part boundaries) go to different
 * replicas, and a replica SIGKILLed while it was sending a part, the client continuing on another.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as http from 'node:http';
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import YAML from 'yaml';
import { run } from '../../../src/util/index.js';
import { cephAvailable, startCephRgw, type CephRgw } from '../../helpers/ceph.js';
import { postgresMissing, startPostgres, type TestPostgres } from '../../helpers/postgres.js';
import { serveRegistry, type ServedRegistry } from '../../helpers/registry-serve.js';
import { sha256 } from './helpers.js';
import { writeOciLayout } from './oci-layout.js';

const MiB = 1024 * 1024;
const skopeo = (args: string[]) => run('skopeo', args, { signal: AbortSignal.timeout(180_000) });
const ADDRS = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
const pathOf = (loc: string) => {
  const u = new URL(loc, 'http://x');
  return u.pathname + u.search;
};

describe('registry replicas on PostgreSQL and Ceph RGW', { skip: postgresMissing() ?? false }, () => {
  let db: TestPostgres;
  let rgw: CephRgw;
  let tmp: string;
  let config: string;
  const replicas: ServedRegistry[] = [];
  const url = (i: number) => `http://${replicas[i]!.host}`;
  const startReplica = (i: number) => serveRegistry(tmp, 60_000, { addr: `${ADDRS[i]}:0`, config });

  before(async () => {
    if (!cephAvailable()) throw new Error('Ceph (ceph-mon, ceph-osd, ceph-mgr, radosgw) is not installed');
    [db, rgw] = await Promise.all([startPostgres(), startCephRgw()]);
    tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-replicas-s3-'));
    config = path.join(tmp, 'registry.yml');
    const doc = {
      version: 0.1,
      storage: { s3: rgw.storageSection(), maintenance: { uploadpurging: { enabled: false } } },
      database: { dsn: db.dsn, pool: 4, statementtimeout: '10s' },
    };
    await fsp.writeFile(config, YAML.stringify(doc));
    // One at a time: the first applies the migrations.
    for (let i = 0; i < ADDRS.length; i++) replicas.push(await startReplica(i));
  });

  after(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await Promise.all([db?.stop(), rgw?.stop()]);
    if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
  });

  it('takes a skopeo push through one replica and serves the pull through another', async () => {
    const src = await writeOciLayout(path.join(tmp, 'src'), 'v1', [{ arch: 'amd64', layerSizes: [200_000, 7 * MiB] }]);
    await skopeo(['copy', '--dest-tls-verify=false', `oci:${src.dir}:v1`, `docker://${replicas[0]!.host}/team/app:v1`]);
    const out = path.join(tmp, 'out');
    await skopeo(['copy', '--src-tls-verify=false', `docker://${replicas[1]!.host}/team/app:v1`, `oci:${out}:v1`]);
    const blobs = async (d: string) => (await fsp.readdir(path.join(d, 'blobs', 'sha256'))).sort();
    assert.deepEqual(await blobs(out), await blobs(src.dir));
  });

  it('completes a chunked upload whose PATCHes go to three replicas, across part boundaries', async () => {
    const sizes = [3 * MiB + 1, 4 * MiB + 3, 2 * MiB + 5, 6 * MiB + 7];
    const data = randomBytes(sizes.reduce((a, b) => a + b, 0));
    const start = await fetch(`${url(0)}/v2/chunky/blobs/uploads/`, { method: 'POST' });
    assert.equal(start.status, 202);
    let loc = pathOf(start.headers.get('location')!);
    let offset = 0;
    for (const [i, size] of sizes.entries()) {
      const res = await fetch(`${url((i + 1) % 3)}${loc}`, {
        method: 'PATCH',
        body: data.subarray(offset, offset + size),
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${offset}-${offset + size - 1}` },
      });
      assert.equal(res.status, 202, await res.text());
      offset += size;
      assert.equal(res.headers.get('range'), `0-${offset - 1}`);
      loc = pathOf(res.headers.get('location')!);
    }
    const digest = sha256(data);
    const sep = loc.includes('?') ? '&' : '?';
    const done = await fetch(`${url(2)}${loc}${sep}digest=${digest}`, { method: 'PUT' });
    assert.equal(done.status, 201, await done.text());
    const back = await fetch(`${url(0)}/v2/chunky/blobs/${digest}`); // a 307 to the gateway, followed
    assert.ok(Buffer.from(await back.arrayBuffer()).equals(data));
  });

  it('lets a client whose replica was SIGKILLed while sending a part continue on another', async () => {
    const data = randomBytes(12 * MiB + 11);
    const first = data.subarray(0, 3 * MiB);
    const start = await fetch(`${url(2)}/v2/crash/app/blobs/uploads/`, { method: 'POST' });
    const loc = new URL(start.headers.get('location')!, 'http://x').pathname;
    assert.equal((await fetch(`${url(2)}${loc}`, { method: 'PATCH', body: first })).status, 202);
    // The next chunk streams in past a part boundary (5 MiB): the replica has begun the multipart upload when it dies.
    const body = new PassThrough();
    const [host, port] = replicas[2]!.host.split(':') as [string, string];
    const req = http.request({ host, port: Number(port), method: 'PATCH', path: loc });
    req.on('error', () => undefined);
    body.pipe(req);
    body.write(data.subarray(first.length, first.length + 4 * MiB));
    await new Promise((r) => setTimeout(r, 1500));
    await replicas[2]!.kill();
    body.destroy();
    const status = await fetch(`${url(0)}${loc}`);
    assert.equal(status.status, 204);
    const have = Number(status.headers.get('range')!.split('-')[1]) + 1;
    assert.equal(have, first.length, 'what the dead request received was never recorded');
    const res = await fetch(`${url(1)}${loc}`, {
      method: 'PATCH',
      body: data.subarray(have),
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
