/**
 * The registry past one machine (issue 18): one wharf replica on PostgreSQL + Ceph RGW against the same on SQLite +
 * filesystem, against distribution on the same RGW bucket with its S3 driver, and two replicas against one:
 *   node --import tsx bench/registry-scale.ts [--seconds 3] [--rounds 3] [--small-kb 1024] [--large-mb 64] [--rgw-nodelay]
 * PostgreSQL (scripts/postgres.sh) and Ceph with its gateway (scripts/ceph-rgw.sh) start once; every server starts
 * once and stays up; then, round after round, each row is measured on each server in turn (interleaved, so the
 * machine's other load hits all alike) and the medians are printed as markdown tables.
 *
 * Servers: wharf on SQLite + filesystem; wharf on PostgreSQL + RGW streaming blobs itself (storage.redirect.disable)
 * and with its default 307 to a presigned URL; distribution (`docker-registry`) on the same bucket, both ways; two
 * wharf replicas (streamed) on 127.0.0.2 and 127.0.0.3 sharing the database and the bucket with the one replica, the
 * load spread over both. `--rgw-nodelay`: the gateway with `tcp_nodelay=1` (see startCephRgw). Everything runs on this machine: the database, the gateway and its OSD compete with the
 * registries for the same cores, so a second replica cannot add CPU that is not there.
 */
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { run } from '../src/util/index.js';
import {
  OCI_MANIFEST,
  curlLoad,
  httpLoad,
  median,
  numberOption,
  pushBlob,
  pushImage,
  s3Section,
  startCephRgw,
  startPostgres,
  startServer,
  stopChild,
  type Server,
  type Service,
} from './registry-common.js';

const SECONDS = numberOption('seconds', 3);
const ROUNDS = numberOption('rounds', 3);
const SMALL_KB = numberOption('small-kb', 1024);
const LARGE_MB = numberOption('large-mb', 64);
const RGW_NODELAY = process.argv.includes('--rgw-nodelay');
const REPO = 'bench/scale';

/** One column of the table: one server, or several replicas taking the load together. */
interface Target {
  name: string;
  urls: string[];
  /** Digests of the small and the large blob as this target's store holds them. */
  small: string;
  large: string;
}

interface Row {
  name: string;
  unit: 'req/s' | 'MB/s';
  measure(t: Target): Promise<number>;
}

const servers: Server[] = [];
const services: Service[] = [];
let tmp: string | undefined;

let stopping: Promise<void> | undefined;

/**
 * Stops every server by its child process, then the database and Ceph by the PIDs their scripts recorded, then
 * removes the directory. Once: a SIGINT and main's `finally` both call it, and a second run that removed the
 * directory while the first still read PID files from it would leave daemons running.
 */
function cleanup(): Promise<void> {
  stopping ??= (async () => {
    await Promise.all(servers.splice(0).map((s) => stopChild(s.child)));
    await Promise.all(services.splice(0).map((s) => s.stop().catch(() => undefined)));
    if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
  })();
  return stopping;
}

async function start(...args: Parameters<typeof startServer>): Promise<Server> {
  const s = await startServer(...args);
  servers.push(s);
  return s;
}

async function setUp(dir: string): Promise<Target[]> {
  // Their stops go on the list before they start: a SIGINT during the ~20 s of Ceph's start still stops whatever has
  // recorded its PID by then (both scripts' `stop DIR` read the PID files and tolerate a half-started DIR).
  for (const [script, sub] of [
    ['scripts/postgres.sh', 'pg'],
    ['scripts/ceph-rgw.sh', 'ceph'],
  ] as const)
    services.push({
      stop: () => run('bash', [path.resolve(script), 'stop', path.join(dir, sub)]).then(() => undefined),
    });
  const [pgR, cephR] = await Promise.allSettled([
    startPostgres(path.join(dir, 'pg')),
    startCephRgw(path.join(dir, 'ceph'), { nodelay: RGW_NODELAY }),
  ]);
  if (pgR.status === 'rejected') throw pgR.reason;
  if (cephR.status === 'rejected') throw cephR.reason;
  const pg = pgR.value;
  const ceph = cephR.value;
  process.stderr.write(`PostgreSQL up; Ceph RGW up in ${ceph.seconds.toFixed(1)} s\n`);

  const database = { dsn: pg.dsn, pool: 16 };
  const wharfS3 = (redirect: boolean) => ({
    s3: s3Section('wharf', ceph.env, 'wharf'),
    ...(redirect ? {} : { redirect: { disable: true } }),
  });
  const distS3 = (redirect: boolean) => ({
    s3: s3Section('distribution', ceph.env, 'distribution'),
    ...(redirect ? {} : { redirect: { disable: true } }),
  });
  // The first PostgreSQL server applies the migrations alone; the rest start together.
  const fs = await start('wharf', dir, { filesystem: { rootdirectory: path.join(dir, 'fs') } });
  const streamed = await start('wharf', dir, wharfS3(false), { database });
  const [redirect, distStreamed, distRedirect, r2, r3] = await Promise.all([
    start('wharf', dir, wharfS3(true), { database }),
    start('distribution', dir, distS3(false)),
    start('distribution', dir, distS3(true)),
    start('wharf', dir, wharfS3(false), { database, host: '127.0.0.2' }),
    start('wharf', dir, wharfS3(false), { database, host: '127.0.0.3' }),
  ]);

  // One push per store: the wharf servers on PostgreSQL + RGW share one index and one bucket prefix, as replicas do.
  const smallLayer = randomBytes(SMALL_KB * 1024);
  const largeBlob = randomBytes(LARGE_MB * 1024 * 1024);
  const seed = async (url: string) => ({
    small: await pushImage(url, REPO, 'latest', smallLayer),
    large: await pushBlob(url, REPO, largeBlob),
  });
  const [fsD, pgD, distD] = await Promise.all([seed(fs.url), seed(streamed.url), seed(distStreamed.url)]);
  return [
    { name: 'wharf, SQLite + filesystem', urls: [fs.url], ...fsD },
    { name: 'wharf, PostgreSQL + RGW, streamed', urls: [streamed.url], ...pgD },
    { name: 'wharf, PostgreSQL + RGW, redirect', urls: [redirect.url], ...pgD },
    { name: 'distribution, RGW, streamed', urls: [distStreamed.url], ...distD },
    { name: 'distribution, RGW, redirect', urls: [distRedirect.url], ...distD },
    { name: 'two wharf replicas, streamed', urls: [r2.url, r3.url], ...pgD },
  ];
}

function rows(): Row[] {
  const manifest = (conns: number): Row => ({
    name: `manifest GET by tag, ${conns} conn.`,
    unit: 'req/s',
    measure: (t) => httpLoad(t.urls, `/v2/${REPO}/manifests/latest`, conns, SECONDS, { Accept: OCI_MANIFEST }),
  });
  const small = (conns: number): Row => ({
    name: `blob GET ${SMALL_KB} KiB, ${conns} conn.`,
    unit: 'req/s',
    measure: (t) => httpLoad(t.urls, `/v2/${REPO}/blobs/${t.small}`, conns, SECONDS),
  });
  const large = (conns: number): Row => ({
    name: `blob GET ${LARGE_MB} MiB, ${conns} conn.`,
    unit: 'MB/s',
    measure: (t) =>
      curlLoad(
        t.urls.map((u) => `${u}/v2/${REPO}/blobs/${t.large}`),
        conns,
        SECONDS,
      ),
  });
  return [manifest(1), manifest(16), small(1), small(16), large(1), large(8)];
}

const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
const ratio = (a: number, b: number) => (a / b).toFixed(2);

async function main(): Promise<void> {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-bench-scale-'));
  const targets = await setUp(tmp);
  const table = rows();
  // samples[row][target] = one value per round
  const samples = table.map(() => targets.map(() => [] as number[]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [ri, row] of table.entries()) {
      // Rotate who goes first, so no server always runs right after the same neighbour.
      for (let k = 0; k < targets.length; k++) {
        if (stopping !== undefined) throw new Error('interrupted');
        const ti = (k + round) % targets.length;
        const v = await row.measure(targets[ti]!);
        samples[ri]![ti]!.push(v);
        // Every sample on stderr: the spread behind a median, and what a surprising one ran next to.
        process.stderr.write(`${row.name} | ${targets[ti]!.name} | ${fmt(v)} ${row.unit}\n`);
      }
    }
    process.stderr.write(`round ${round + 1}/${ROUNDS} done\n`);
  }
  const med = samples.map((r) => r.map(median));
  const out = process.stdout;
  out.write(
    `Medians of ${ROUNDS} rounds, ${SECONDS} s per cell; higher is better; RGW tcp_nodelay ${RGW_NODELAY ? 'on' : 'off (default)'}.\n\n`,
  );
  out.write(
    `| row | unit | ${targets.map((t) => t.name).join(' | ')} |\n|---|---|${targets.map(() => '---|').join('')}\n`,
  );
  for (const [ri, row] of table.entries())
    out.write(`| ${row.name} | ${row.unit} | ${med[ri]!.map(fmt).join(' | ')} |\n`);
  const [fs, streamed, redirect, distStreamed, distRedirect, two] = [0, 1, 2, 3, 4, 5];
  out.write(
    '\n| row | PG + RGW streamed / SQLite + fs | PG + RGW redirect / SQLite + fs | wharf / distribution, streamed | wharf / distribution, redirect | two replicas / one (streamed) |\n|---|---|---|---|---|---|\n',
  );
  for (const [ri, row] of table.entries()) {
    const m = med[ri]!;
    out.write(
      `| ${row.name} | ${ratio(m[streamed]!, m[fs]!)} | ${ratio(m[redirect]!, m[fs]!)} | ${ratio(m[streamed]!, m[distStreamed]!)} | ${ratio(m[redirect]!, m[distRedirect]!)} | ${ratio(m[two]!, m[streamed]!)} |\n`,
    );
  }
}

for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(sig, () => {
    process.stderr.write(`${sig}: stopping everything\n`);
    void cleanup().finally(() => process.exit(130));
  });
try {
  await main();
} finally {
  await cleanup();
}
