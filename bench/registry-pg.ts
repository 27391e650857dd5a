/**
 * The registry's index on PostgreSQL against SQLite, one server process each, same filesystem blob store:
 *   node --import tsx bench/registry-pg.ts [--seconds 5] [--blob-kb 1024] [--json]
 * Rows: manifest GET by tag (the index answers everything) and blob GET (one index read, then the bytes) in requests a
 * second, at 1 and 16 keep-alive connections. PostgreSQL is a private cluster from scripts/postgres.sh (fsync on, as in
 * production; reads do not fsync anyway), on the same machine, over TCP loopback.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { run } from '../src/util/index.js';

const args = process.argv.slice(2);
const opt = (name: string, def: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const SECONDS = opt('seconds', 5);
const BLOB_KB = opt('blob-kb', 1024);
const JSON_OUT = args.includes('--json');

async function freePort(): Promise<number> {
  const srv = http.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

async function startWharf(dir: string, name: string, database: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const cfg = path.join(dir, `${name}.yml`);
  await fsp.writeFile(
    cfg,
    `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/${name}\nhttp:\n  addr: 127.0.0.1:${port}\n  workers: 1\nlog:\n  accesslog:\n    disabled: true\n${database}`,
  );
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.resolve('test/integration/registry/registry-main.ts'), cfg],
    { stdio: 'ignore' },
  );
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`${name}: server exited (${child.exitCode})`);
    if (
      await fetch(`${url}/v2/`).then(
        (r) => r.status === 200,
        () => false,
      )
    )
      return { url, child };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name} did not come up`);
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function pushBlob(url: string, data: Buffer): Promise<string> {
  const d = sha(data);
  const res = await fetch(`${url}/v2/bench/app/blobs/uploads/?digest=${d}`, { method: 'POST', body: data });
  if (res.status !== 201) throw new Error(`push blob: ${res.status}`);
  return d;
}

async function seed(url: string): Promise<string> {
  const blob = await pushBlob(url, randomBytes(BLOB_KB * 1024));
  const cfg = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
  const cfgD = await pushBlob(url, cfg);
  const m = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: cfgD, size: cfg.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: blob, size: BLOB_KB * 1024 }],
  });
  const res = await fetch(`${url}/v2/bench/app/manifests/latest`, {
    method: 'PUT',
    body: m,
    headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
  });
  if (res.status !== 201) throw new Error(`push manifest: ${res.status}`);
  return blob;
}

/** `conns` keep-alive connections issuing GETs back to back for SECONDS; requests a second. */
async function load(url: string, p: string, conns: number, headers: Record<string, string> = {}): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: conns });
  const deadline = Date.now() + SECONDS * 1000;
  const started = Date.now();
  let reqs = 0;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      http
        .get(`${url}${p}`, { agent, headers }, (res) => {
          if (res.statusCode !== 200) reject(new Error(`${p}: ${res.statusCode}`));
          res.resume();
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
  return reqs / ((Date.now() - started) / 1000);
}

async function main(): Promise<void> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-bench-pg-'));
  const pgDir = path.join(dir, 'pg');
  const script = path.resolve('scripts/postgres.sh');
  const dsn = (await run('bash', [script, 'start', pgDir])).stdout.trim().split('\n').pop()!;
  const servers: Array<{ name: string; url: string; child: ChildProcess }> = [];
  try {
    servers.push({ name: 'sqlite', ...(await startWharf(dir, 'sqlite', '')) });
    servers.push({
      name: 'postgres',
      ...(await startWharf(dir, 'postgres', `database:\n  dsn: ${dsn}\n  pool: 16\n`)),
    });
    const rows: Array<{ row: string; values: number[] }> = [];
    const blobs = await Promise.all(servers.map((s) => seed(s.url)));
    const accept = { Accept: 'application/vnd.oci.image.manifest.v1+json' };
    for (const conns of [1, 16]) {
      const m: number[] = [];
      const b: number[] = [];
      // The servers take turns, so the machine's other load hits both alike.
      for (const s of servers) m.push(await load(s.url, '/v2/bench/app/manifests/latest', conns, accept));
      for (const [i, s] of servers.entries()) b.push(await load(s.url, `/v2/bench/app/blobs/${blobs[i]}`, conns));
      rows.push({ row: `manifest GET by tag, ${conns} connection(s)`, values: m });
      rows.push({ row: `blob GET ${BLOB_KB} KiB, ${conns} connection(s)`, values: b });
    }
    if (JSON_OUT) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    else {
      process.stdout.write('| row | unit | SQLite | PostgreSQL | PostgreSQL / SQLite |\n|---|---|---|---|---|\n');
      for (const r of rows)
        process.stdout.write(
          `| ${r.row} | req/s | ${r.values[0]!.toFixed(0)} | ${r.values[1]!.toFixed(0)} | ${(r.values[1]! / r.values[0]!).toFixed(2)} |\n`,
        );
    }
  } finally {
    for (const s of servers) s.child.kill('SIGTERM');
    await run('bash', [script, 'stop', pgDir]).catch(() => undefined);
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

await main();
