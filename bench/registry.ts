/**
 * Registry benchmark: wharf's registry side by side with distribution's `docker-registry`, in one run.
 *   node --import tsx bench/registry.ts [--seconds 10] [--image-mb 500] [--blob-mb 64] [--workers auto|N] [--json]
 * Rows: blob GET MB/s and manifest GET requests/s at 1 and 64 connections; `skopeo copy` push and pull of a
 * five-layer image. Both servers run as separate processes on loopback with the same kind of data directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { run } from '../src/util/index.js';
import { writeOciLayout } from '../test/integration/registry/oci-layout.js';

const args = process.argv.slice(2);
const opt = (name: string, def: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const SECONDS = opt('seconds', 10);
const IMAGE_MB = opt('image-mb', 500);
const BLOB_MB = opt('blob-mb', 64);
const JSON_OUT = args.includes('--json');
// distribution uses every core; so does wharf with one worker process per core (http.workers: auto).
const WORKERS = args.includes('--workers') ? args[args.indexOf('--workers') + 1]! : 'auto';

interface Server {
  name: string;
  url: string;
  child: ChildProcess;
}

async function freePort(): Promise<number> {
  const srv = http.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

async function waitUp(url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`${url}: server exited (${child.exitCode})`);
    const ok = await fetch(`${url}/v2/`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up`);
}

async function startWharf(dir: string): Promise<Server> {
  const port = await freePort();
  const cfg = path.join(dir, 'wharf.yml');
  await fsp.writeFile(
    cfg,
    `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/wharf\nhttp:\n  addr: 127.0.0.1:${port}\n  workers: ${WORKERS}\nlog:\n  accesslog:\n    disabled: true\n`,
  );
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.resolve('test/integration/registry/registry-main.ts'), cfg],
    { stdio: 'ignore' },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitUp(url, child);
  return { name: 'wharf', url, child };
}

async function startDistribution(dir: string): Promise<Server> {
  const port = await freePort();
  const cfg = path.join(dir, 'distribution.yml');
  await fsp.writeFile(
    cfg,
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/distribution\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n`,
  );
  const child = spawn('docker-registry', ['serve', cfg], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  await waitUp(url, child);
  return { name: 'distribution', url, child };
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function pushBlob(url: string, repo: string, data: Buffer): Promise<string> {
  const d = sha(data);
  const res = await fetch(`${url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  const loc = new URL(res.headers.get('location')!, url);
  loc.searchParams.set('digest', d);
  const put = await fetch(loc, { method: 'PUT', body: data, headers: { 'Content-Type': 'application/octet-stream' } });
  if (put.status !== 201) throw new Error(`push blob: ${put.status}`);
  return d;
}

async function seed(url: string): Promise<{ blob: string; manifest: string }> {
  const blob = await pushBlob(url, 'bench/app', randomBytes(BLOB_MB * 1024 * 1024));
  const cfg = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
  const cfgD = await pushBlob(url, 'bench/app', cfg);
  const m = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: cfgD, size: cfg.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: blob, size: BLOB_MB * 1024 * 1024 }],
    }),
  );
  const res = await fetch(`${url}/v2/bench/app/manifests/latest`, {
    method: 'PUT',
    body: m,
    headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
  });
  if (res.status !== 201) throw new Error(`push manifest: ${res.status}`);
  return { blob, manifest: 'latest' };
}

/** `conns` keep-alive connections issuing GETs back to back for SECONDS; returns requests and bytes. */
async function load(
  url: string,
  p: string,
  conns: number,
  headers: Record<string, string> = {},
): Promise<{ reqs: number; bytes: number; secs: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: conns });
  const deadline = Date.now() + SECONDS * 1000;
  const started = Date.now();
  let reqs = 0;
  let bytes = 0;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      http
        .get(`${url}${p}`, { agent, headers }, (res) => {
          if (res.statusCode !== 200) reject(new Error(`${p}: ${res.statusCode}`));
          res.on('data', (c: Buffer) => (bytes += c.length));
          res.on('end', () => {
            reqs++;
            resolve();
          });
        })
        .on('error', reject);
    });
  await Promise.all(
    Array.from({ length: conns }, async () => {
      while (Date.now() < deadline) await one();
    }),
  );
  agent.destroy();
  return { reqs, bytes, secs: (Date.now() - started) / 1000 };
}

/** Blob rows use curl as the client: a Node client would eat the CPU the servers compete for on small machines. */
async function curlLoad(url: string, p: string, conns: number): Promise<{ bytes: number; secs: number }> {
  const deadline = Date.now() + SECONDS * 1000;
  const started = Date.now();
  let bytes = 0;
  while (Date.now() < deadline) {
    const urls = Array.from({ length: conns * 2 }, () => `${url}${p}`);
    const r = await run('curl', [
      '-s',
      '--parallel',
      '--parallel-max',
      String(conns),
      '-w',
      '%{size_download}\\n',
      ...urls.flatMap((u) => ['-o', '/dev/null', u]),
    ]);
    bytes += r.stdout
      .split('\n')
      .filter(Boolean)
      .reduce((a, l) => a + Number(l), 0);
  }
  return { bytes, secs: (Date.now() - started) / 1000 };
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = Date.now();
  await fn();
  return (Date.now() - t) / 1000;
}

async function main(): Promise<void> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-bench-registry-'));
  const servers: Server[] = [];
  const rows: Array<{ row: string; unit: string; wharf: number; distribution: number }> = [];
  try {
    servers.push(await startWharf(dir), await startDistribution(dir));
    const seeded = await Promise.all(servers.map((s) => seed(s.url)));
    const accept = { Accept: 'application/vnd.oci.image.manifest.v1+json' };
    for (const conns of [1, 64]) {
      const res: number[] = [];
      for (const [i, s] of servers.entries()) {
        const r = await curlLoad(s.url, `/v2/bench/app/blobs/${seeded[i]!.blob}`, conns);
        res.push(r.bytes / 1024 / 1024 / r.secs);
      }
      rows.push({ row: `blob GET, ${conns} conn`, unit: 'MB/s', wharf: res[0]!, distribution: res[1]! });
      const mres: number[] = [];
      for (const s of servers) {
        const r = await load(s.url, '/v2/bench/app/manifests/latest', conns, accept);
        mres.push(r.reqs / r.secs);
      }
      rows.push({ row: `manifest GET, ${conns} conn`, unit: 'req/s', wharf: mres[0]!, distribution: mres[1]! });
    }
    const layerMb = Math.max(1, Math.floor(IMAGE_MB / 5));
    // Fresh layers per round (so nothing is mounted from an earlier push), servers alternating, median of 3 rounds.
    const push: number[][] = servers.map(() => []);
    const pull: number[][] = servers.map(() => []);
    for (let round = 0; round < 3; round++) {
      const layout = await writeOciLayout(path.join(dir, `layout${round}`), 'v1', [
        { arch: 'amd64', layerSizes: Array(5).fill(layerMb * 1024 * 1024) },
      ]);
      const order = round % 2 === 0 ? servers : [...servers].reverse();
      for (const s of order) {
        const i = servers.indexOf(s);
        const host = s.url.replace('http://', '');
        push[i]!.push(
          await timed(() =>
            run('skopeo', [
              'copy',
              '--dest-tls-verify=false',
              `oci:${layout.dir}:v1`,
              `docker://${host}/bench/big${round}:v1`,
            ]),
          ),
        );
        const out = path.join(dir, `pull-${s.name}`);
        pull[i]!.push(
          await timed(() =>
            run('skopeo', ['copy', '--src-tls-verify=false', `docker://${host}/bench/big${round}:v1`, `oci:${out}:v1`]),
          ),
        );
        await fsp.rm(out, { recursive: true, force: true });
      }
      await fsp.rm(layout.dir, { recursive: true, force: true });
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    rows.push({
      row: `skopeo push ${layerMb * 5} MB, 5 layers (median of 3)`,
      unit: 's',
      wharf: median(push[0]!),
      distribution: median(push[1]!),
    });
    rows.push({
      row: `skopeo pull ${layerMb * 5} MB, 5 layers (median of 3)`,
      unit: 's',
      wharf: median(pull[0]!),
      distribution: median(pull[1]!),
    });
  } finally {
    for (const s of servers) s.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    await fsp.rm(dir, { recursive: true, force: true });
  }
  if (JSON_OUT) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  process.stdout.write(
    '| row | unit | wharf | distribution | wharf/distribution (higher is better) |\n|---|---|---|---|---|\n',
  );
  for (const r of rows) {
    const ratio = r.unit === 's' ? r.distribution / r.wharf : r.wharf / r.distribution;
    process.stdout.write(
      `| ${r.row} | ${r.unit} | ${r.wharf.toFixed(1)} | ${r.distribution.toFixed(1)} | ${ratio.toFixed(2)} |\n`,
    );
  }
}

await main();
