/**
 * What the registry benches share: a free port, starting wharf's registry (test/integration/registry/registry-main.ts)
 * or distribution (`docker-registry`) from a config document and stopping it by its child process, pushing a blob or a
 * one-layer image, and the two load generators (Node keep-alive GETs counted in requests a second, curl transfers
 * counted in MB/s). Each load generator takes a list of URLs and spreads its connections over them round robin, so the
 * same code measures one replica and several.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import YAML from 'yaml';
import { run } from '../src/util/index.js';

export async function freePort(host = '127.0.0.1'): Promise<number> {
  const srv = http.createServer();
  await new Promise<void>((r) => srv.listen(0, host, () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

export async function waitUp(url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`${url}: server exited (${child.exitCode})`);
    if (
      await fetch(`${url}/v2/`).then(
        (r) => r.status === 200,
        () => false,
      )
    )
      return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up`);
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
}

export interface Server {
  url: string;
  child: ChildProcess;
}

export interface ServerOptions {
  /** wharf only: the index in PostgreSQL (`database.dsn`, `pool`...); without it, SQLite in the server's own cwd. */
  database?: Record<string, unknown>;
  /** wharf only: `http.workers` (default: one process). */
  workers?: number;
  /** Loopback address to listen on (default 127.0.0.1); replicas take 127.0.0.2, 127.0.0.3... */
  host?: string;
}

/** One server process from a config document written into `dir`; `opts` adds database, http.workers, address. */
export async function startServer(
  kind: 'wharf' | 'distribution',
  dir: string,
  storage: Record<string, unknown>,
  opts: ServerOptions = {},
): Promise<Server> {
  const host = opts.host ?? '127.0.0.1';
  const port = await freePort(host);
  const cfg = path.join(dir, `${kind}-${host}-${port}.yml`);
  const doc: Record<string, unknown> =
    kind === 'wharf'
      ? {
          version: 0.1,
          storage,
          http: { addr: `${host}:${port}`, ...(opts.workers ? { workers: opts.workers } : {}) },
          log: { accesslog: { disabled: true } },
          ...(opts.database ? { database: opts.database } : {}),
        }
      : {
          version: 0.1,
          storage,
          http: { addr: `${host}:${port}` },
          log: { level: 'error', accesslog: { disabled: true } },
        };
  await fsp.writeFile(cfg, YAML.stringify(doc));
  // registry-main keeps the SQLite index under its working directory: one per server.
  const cwd = await fsp.mkdtemp(path.join(dir, `${kind}-`));
  const child =
    kind === 'wharf'
      ? spawn(
          process.execPath,
          ['--import', import.meta.resolve('tsx'), path.resolve('test/integration/registry/registry-main.ts'), cfg],
          {
            stdio: ['ignore', 'ignore', 'pipe'],
            cwd,
            env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
          },
        )
      : // distribution's AWS SDK (Go, v1) panics at start when AWS_CA_BUNDLE is set and the endpoint is plain http.
        spawn('docker-registry', ['serve', cfg], {
          stdio: ['ignore', 'ignore', 'pipe'],
          env: Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'AWS_CA_BUNDLE')),
        });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (t: string) => (stderr = (stderr + t).slice(-4000)));
  const url = `http://${host}:${port}`;
  await waitUp(url, child).catch((err: Error) => {
    child.kill('SIGKILL');
    throw new Error(`${kind}: ${err.message}\n${stderr}`);
  });
  return { url, child };
}

export const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A monolithic upload in two requests (POST, then PUT with the digest): what distribution and wharf both take. */
export async function pushBlob(url: string, repo: string, data: Buffer): Promise<string> {
  const d = sha256(data);
  const res = await fetch(`${url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  const loc = new URL(res.headers.get('location')!, url);
  loc.searchParams.set('digest', d);
  const put = await fetch(loc, { method: 'PUT', body: data, headers: { 'Content-Type': 'application/octet-stream' } });
  if (put.status !== 201) throw new Error(`push blob: ${put.status} ${await put.text()}`);
  return d;
}

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/** Pushes a config, the layer and a manifest tagged `tag`; returns the layer's digest. */
export async function pushImage(url: string, repo: string, tag: string, layer: Buffer): Promise<string> {
  const blob = await pushBlob(url, repo, layer);
  const cfg = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
  const cfgD = await pushBlob(url, repo, cfg);
  const m = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: cfgD, size: cfg.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: blob, size: layer.length }],
  });
  const res = await fetch(`${url}/v2/${repo}/manifests/${tag}`, {
    method: 'PUT',
    body: m,
    headers: { 'Content-Type': OCI_MANIFEST },
  });
  if (res.status !== 201) throw new Error(`push manifest: ${res.status} ${await res.text()}`);
  return blob;
}

/**
 * `conns` keep-alive connections issuing GETs of `p` back to back for `seconds`, connection i on urls[i % n];
 * requests a second over all of them. A redirect (a blob on S3 with presigned URLs) is followed, like `curl -L` or a
 * container engine, on a keep-alive pool of its own, and the pair counts as one request.
 */
export async function httpLoad(
  urls: string[],
  p: string,
  conns: number,
  seconds: number,
  headers: Record<string, string> = {},
): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: conns });
  const redirected = new http.Agent({ keepAlive: true, maxSockets: conns });
  const deadline = Date.now() + seconds * 1000;
  const started = Date.now();
  let reqs = 0;
  const get = (url: string, a: http.Agent, hops: number): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      http
        .get(url, { agent: a, headers }, (res) => {
          const loc = res.headers.location;
          res.resume();
          if (res.statusCode! >= 300 && res.statusCode! < 400 && loc && hops > 0) {
            res.on('end', () => get(new URL(loc, url).href, redirected, hops - 1).then(resolve, reject));
            return;
          }
          if (res.statusCode !== 200) reject(new Error(`${url}: ${res.statusCode}`));
          res.on('end', resolve);
        })
        .on('error', reject);
    });
  await Promise.all(
    Array.from({ length: conns }, async (_, i) => {
      while (Date.now() < deadline) {
        await get(`${urls[i % urls.length]!}${p}`, agent, 3);
        reqs++;
      }
    }),
  );
  agent.destroy();
  redirected.destroy();
  return reqs / ((Date.now() - started) / 1000);
}

/**
 * MB/s of GETs by curl (`-L` follows redirects) for `seconds`: rounds of 2 × `conns` transfers, `conns` at a time,
 * transfer i from urls[i % n].
 */
export async function curlLoad(urls: string[], conns: number, seconds: number): Promise<number> {
  const deadline = Date.now() + seconds * 1000;
  const started = Date.now();
  let bytes = 0;
  while (Date.now() < deadline) {
    const r = await run('curl', [
      '-sfL',
      '--parallel',
      '--parallel-max',
      String(conns),
      '-w',
      '%{size_download}\\n',
      ...Array.from({ length: conns * 2 }, (_, i) => ['-o', '/dev/null', urls[i % urls.length]!]).flat(),
    ]);
    bytes += r.stdout
      .split('\n')
      .filter(Boolean)
      .reduce((a, l) => a + Number(l), 0);
  }
  return bytes / 1024 / 1024 / ((Date.now() - started) / 1000);
}

/** The `KEY=value` lines scripts/ceph-rgw.sh prints, as an object. */
export function parseEnvLines(out: string): Record<string, string> {
  return Object.fromEntries(
    out
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

/** `--name N` from the command line, else `def`. */
export function numberOption(name: string, def: number, args = process.argv.slice(2)): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export interface Service {
  /** Stops it by the PIDs its script recorded under its directory. */
  stop(): Promise<void>;
}

/** A private PostgreSQL 15 cluster in `dir` (scripts/postgres.sh), fsync on as in production. */
export async function startPostgres(dir: string): Promise<Service & { dsn: string }> {
  const script = path.resolve('scripts/postgres.sh');
  const dsn = (await run('bash', [script, 'start', dir])).stdout.trim().split('\n').pop()!;
  return { dsn, stop: () => run('bash', [script, 'stop', dir]).then(() => undefined) };
}

/**
 * A single-node Ceph with its RADOS Gateway in `dir` (scripts/ceph-rgw.sh); `seconds` is how long it took to start.
 * `nodelay`: the gateway's beast frontend with `tcp_nodelay=1` (Ceph's default is 0, Nagle on), by running a copy of
 * the script with that one option added: distribution's Go S3 client then stops waiting ~40 ms (a delayed ACK) on
 * each S3 request, which made its manifest GET ~200 ms here (4 S3 requests).
 */
export async function startCephRgw(
  dir: string,
  opts: { nodelay?: boolean } = {},
): Promise<Service & { env: Record<string, string>; seconds: number }> {
  let script = path.resolve('scripts/ceph-rgw.sh');
  if (opts.nodelay) {
    const text = await fsp.readFile(script, 'utf8');
    const patched = text.replace(/^(rgw_frontends = beast .*)$/m, '$1 tcp_nodelay=1');
    if (patched === text) throw new Error(`${script}: no rgw_frontends line to add tcp_nodelay=1 to`);
    script = `${dir}.ceph-rgw-nodelay.sh`;
    await fsp.writeFile(script, patched);
  }
  const t0 = Date.now();
  const out = await run('bash', [script, 'start', dir], { signal: AbortSignal.timeout(300_000) });
  return {
    env: parseEnvLines(out.stdout),
    seconds: (Date.now() - t0) / 1000,
    stop: () => run('bash', [script, 'stop', dir]).then(() => undefined),
  };
}

/**
 * A `storage.s3` section for the gateway under `/root`. Distribution 2.8 wants `v4auth: true` for RGW; wharf only
 * speaks v4 and refuses keys it does not know, so it does not get it.
 */
export function s3Section(kind: 'wharf' | 'distribution', env: Record<string, string>, root: string) {
  return {
    region: env.S3_REGION,
    regionendpoint: env.S3_ENDPOINT,
    bucket: env.S3_BUCKET,
    accesskey: env.S3_ACCESS_KEY,
    secretkey: env.S3_SECRET_KEY,
    rootdirectory: `/${root}`,
    secure: false,
    ...(kind === 'distribution' ? { v4auth: true } : {}),
  };
}
