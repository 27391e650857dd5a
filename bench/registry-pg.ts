/**
 * The registry's index on PostgreSQL against SQLite, one server process each, same filesystem blob store:
 *   node --import tsx bench/registry-pg.ts [--seconds 5] [--blob-kb 1024] [--json]
 * Rows: manifest GET by tag (the index answers everything) and blob GET (one index read, then the bytes) in requests a
 * second, at 1 and 16 keep-alive connections. PostgreSQL is a private cluster from scripts/postgres.sh (fsync on, as in
 * production; reads do not fsync anyway), on the same machine, over TCP loopback.
 */
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  OCI_MANIFEST,
  httpLoad,
  numberOption,
  pushImage,
  startPostgres,
  startServer,
  stopChild,
  type Server,
} from './registry-common.js';

const SECONDS = numberOption('seconds', 5);
const BLOB_KB = numberOption('blob-kb', 1024);
const JSON_OUT = process.argv.includes('--json');

async function main(): Promise<void> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-bench-pg-'));
  const pg = await startPostgres(path.join(dir, 'pg'));
  const servers: Array<Server & { name: string }> = [];
  try {
    const fs = (name: string) => ({ filesystem: { rootdirectory: path.join(dir, name) } });
    servers.push({ name: 'sqlite', ...(await startServer('wharf', dir, fs('sqlite'), { workers: 1 })) });
    servers.push({
      name: 'postgres',
      ...(await startServer('wharf', dir, fs('postgres'), { workers: 1, database: { dsn: pg.dsn, pool: 16 } })),
    });
    const rows: Array<{ row: string; values: number[] }> = [];
    const layer = randomBytes(BLOB_KB * 1024);
    const blobs = await Promise.all(servers.map((s) => pushImage(s.url, 'bench/app', 'latest', layer)));
    const accept = { Accept: OCI_MANIFEST };
    for (const conns of [1, 16]) {
      const m: number[] = [];
      const b: number[] = [];
      // The servers take turns, so the machine's other load hits both alike.
      for (const s of servers)
        m.push(await httpLoad([s.url], '/v2/bench/app/manifests/latest', conns, SECONDS, accept));
      for (const [i, s] of servers.entries())
        b.push(await httpLoad([s.url], `/v2/bench/app/blobs/${blobs[i]}`, conns, SECONDS));
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
    for (const s of servers) await stopChild(s.child);
    await pg.stop().catch(() => undefined);
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

await main();
