/**
 * Blob GETs through an S3 store against the filesystem:
 *   node --import tsx bench/registry-s3.ts [--seconds 8] [--blob-mb 64]
 * Starts a single-node Ceph with its RADOS Gateway (scripts/ceph-rgw.sh), then, one after another, wharf's registry
 * on the filesystem, on the gateway streaming the bodies itself (storage.redirect.disable), and on the gateway with
 * 307 redirects to presigned URLs; and distribution (`docker-registry`, its S3 driver) on the same bucket both ways.
 * curl is the client (`-L` follows the redirects), one and eight connections. All on one machine: the gateway, the
 * OSD and the registries share its cores, so this measures what a registry adds in front of the store, not the store.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { createHash, randomBytes } from 'node:crypto';
import YAML from 'yaml';
import { run } from '../src/util/index.js';

const execFileP = promisify(execFile);
const args = process.argv.slice(2);
const opt = (name: string, def: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const SECONDS = opt('seconds', 8);
const BLOB_MB = opt('blob-mb', 64);

async function freePort(): Promise<number> {
  const srv = http.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

async function waitUp(url: string, child: ChildProcess): Promise<void> {
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

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
}

type Env = Record<string, string>;

async function startServer(
  kind: 'wharf' | 'distribution',
  dir: string,
  storage: Record<string, unknown>,
): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const cfg = path.join(dir, `${kind}-${port}.yml`);
  const doc =
    kind === 'wharf'
      ? { version: 0.1, storage, http: { addr: `127.0.0.1:${port}` }, log: { accesslog: { disabled: true } } }
      : {
          version: 0.1,
          storage,
          http: { addr: `127.0.0.1:${port}` },
          log: { level: 'error', accesslog: { disabled: true } },
        };
  await fsp.writeFile(cfg, YAML.stringify(doc));
  // registry-main keeps the index under its working directory: one per server.
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
  const url = `http://127.0.0.1:${port}`;
  await waitUp(url, child).catch((err: Error) => {
    throw new Error(`${kind}: ${err.message}\n${stderr}`);
  });
  return { url, child };
}

async function pushBlob(url: string, data: Buffer): Promise<string> {
  const d = `sha256:${createHash('sha256').update(data).digest('hex')}`;
  const res = await fetch(`${url}/v2/bench/s3/blobs/uploads/`, { method: 'POST' });
  const loc = new URL(res.headers.get('location')!, url);
  loc.searchParams.set('digest', d);
  const put = await fetch(loc, { method: 'PUT', body: data, headers: { 'Content-Type': 'application/octet-stream' } });
  if (put.status !== 201) throw new Error(`push blob: ${put.status} ${await put.text()}`);
  return d;
}

/** MB/s of blob GETs by curl over `conns` parallel transfers for SECONDS. */
async function curlLoad(url: string, conns: number): Promise<number> {
  const deadline = Date.now() + SECONDS * 1000;
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
      ...Array.from({ length: conns * 2 }, () => ['-o', '/dev/null', url]).flat(),
    ]);
    bytes += r.stdout
      .split('\n')
      .filter(Boolean)
      .reduce((a, l) => a + Number(l), 0);
  }
  return bytes / 1024 / 1024 / ((Date.now() - started) / 1000);
}

async function main(): Promise<void> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-bench-s3-'));
  const script = path.resolve('scripts/ceph-rgw.sh');
  const t0 = Date.now();
  const out = (await execFileP(script, ['start', path.join(dir, 'ceph')], { timeout: 300_000 })).stdout;
  const cephSecs = (Date.now() - t0) / 1000;
  const env: Env = Object.fromEntries(
    out
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  const s3 = (root: string) => ({
    region: env.S3_REGION,
    regionendpoint: env.S3_ENDPOINT,
    bucket: env.S3_BUCKET,
    accesskey: env.S3_ACCESS_KEY,
    secretkey: env.S3_SECRET_KEY,
    rootdirectory: `/${root}`,
    secure: false,
    v4auth: true,
  });
  const wharfS3 = (root: string) => {
    const { v4auth: _, ...rest } = s3(root);
    return rest;
  };
  const cases: Array<{ name: string; kind: 'wharf' | 'distribution'; storage: Record<string, unknown> }> = [
    { name: 'wharf, filesystem', kind: 'wharf', storage: { filesystem: { rootdirectory: path.join(dir, 'fs') } } },
    { name: 'wharf, S3 streamed', kind: 'wharf', storage: { s3: wharfS3('w1'), redirect: { disable: true } } },
    { name: 'wharf, S3 redirect', kind: 'wharf', storage: { s3: wharfS3('w2') } },
    { name: 'distribution, S3 streamed', kind: 'distribution', storage: { s3: s3('d1'), redirect: { disable: true } } },
    { name: 'distribution, S3 redirect', kind: 'distribution', storage: { s3: s3('d2') } },
  ];
  const rows: string[] = [];
  const data = randomBytes(BLOB_MB * 1024 * 1024);
  try {
    for (const c of cases) {
      const s = await startServer(c.kind, dir, c.storage);
      try {
        const d = await pushBlob(s.url, data);
        const url = `${s.url}/v2/bench/s3/blobs/${d}`;
        const one = await curlLoad(url, 1);
        const eight = await curlLoad(url, 8);
        rows.push(`| ${c.name} | ${one.toFixed(1)} | ${eight.toFixed(1)} |`);
      } finally {
        await stopChild(s.child);
      }
    }
  } finally {
    await execFileP(script, ['stop', path.join(dir, 'ceph')]).catch(() => undefined);
    await fsp.rm(dir, { recursive: true, force: true });
  }
  process.stdout.write(`Ceph start: ${cephSecs.toFixed(1)} s; blob ${BLOB_MB} MiB, ${SECONDS} s per cell\n\n`);
  process.stdout.write('| server, storage | blob GET 1 conn MB/s | blob GET 8 conn MB/s |\n|---|---|---|\n');
  for (const r of rows) process.stdout.write(`${r}\n`);
}

await main();
