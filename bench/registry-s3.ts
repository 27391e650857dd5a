/**
 * Blob GETs through an S3 store against the filesystem:
 *   node --import tsx bench/registry-s3.ts [--seconds 8] [--blob-mb 64] [--rgw-nodelay]
 * Starts a single-node Ceph with its RADOS Gateway (scripts/ceph-rgw.sh), then, one after another, wharf's registry
 * on the filesystem, on the gateway streaming the bodies itself (storage.redirect.disable), and on the gateway with
 * 307 redirects to presigned URLs; and distribution (`docker-registry`, its S3 driver) on the same bucket both ways.
 * curl is the client (`-L` follows the redirects), one and eight connections. All on one machine: the gateway, the
 * OSD and the registries share its cores, so this measures what a registry adds in front of the store, not the store.
 * `--rgw-nodelay`: the gateway with beast's `tcp_nodelay=1` (see startCephRgw in registry-common.ts).
 */
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  curlLoad,
  numberOption,
  pushBlob,
  s3Section,
  startCephRgw,
  startServer,
  stopChild,
} from './registry-common.js';

const SECONDS = numberOption('seconds', 8);
const BLOB_MB = numberOption('blob-mb', 64);

async function main(): Promise<void> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-bench-s3-'));
  const ceph = await startCephRgw(path.join(dir, 'ceph'), { nodelay: process.argv.includes('--rgw-nodelay') });
  const { env } = ceph;
  const cases: Array<{ name: string; kind: 'wharf' | 'distribution'; storage: Record<string, unknown> }> = [
    { name: 'wharf, filesystem', kind: 'wharf', storage: { filesystem: { rootdirectory: path.join(dir, 'fs') } } },
    {
      name: 'wharf, S3 streamed',
      kind: 'wharf',
      storage: { s3: s3Section('wharf', env, 'w1'), redirect: { disable: true } },
    },
    { name: 'wharf, S3 redirect', kind: 'wharf', storage: { s3: s3Section('wharf', env, 'w2') } },
    {
      name: 'distribution, S3 streamed',
      kind: 'distribution',
      storage: { s3: s3Section('distribution', env, 'd1'), redirect: { disable: true } },
    },
    { name: 'distribution, S3 redirect', kind: 'distribution', storage: { s3: s3Section('distribution', env, 'd2') } },
  ];
  const rows: string[] = [];
  const data = randomBytes(BLOB_MB * 1024 * 1024);
  try {
    for (const c of cases) {
      const s = await startServer(c.kind, dir, c.storage);
      try {
        const d = await pushBlob(s.url, 'bench/s3', data);
        const url = `${s.url}/v2/bench/s3/blobs/${d}`;
        const one = await curlLoad([url], 1, SECONDS);
        const eight = await curlLoad([url], 8, SECONDS);
        rows.push(`| ${c.name} | ${one.toFixed(1)} | ${eight.toFixed(1)} |`);
      } finally {
        await stopChild(s.child);
      }
    }
  } finally {
    await ceph.stop().catch(() => undefined);
    await fsp.rm(dir, { recursive: true, force: true });
  }
  process.stdout.write(`Ceph start: ${ceph.seconds.toFixed(1)} s; blob ${BLOB_MB} MiB, ${SECONDS} s per cell\n\n`);
  process.stdout.write('| server, storage | blob GET 1 conn MB/s | blob GET 8 conn MB/s |\n|---|---|---|\n');
  for (const r of rows) process.stdout.write(`${r}\n`);
}

await main();
