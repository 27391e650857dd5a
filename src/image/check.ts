/**
 * `system check`: the image store against the disk. Every blob is re-hashed; every record must have its blob or
 * snapshot; blobs and snapshots that no record owns are orphans; leftovers of killed processes are stale.
 * `repair` removes orphans and stale leftovers (never anything a record or a live lease still needs).
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Digest } from '../digest/index.js';
import { isErrno } from '../errors/index.js';
import { pidAlive } from '../util/index.js';
import { DISPOSABLE_SNAPSHOT_LABEL, type Snapshotter } from '../snapshot/index.js';
import type { ContentStore } from '../content/index.js';
import type { MetaDb } from '../meta/index.js';
import type { ImageRecords } from './records.js';

export interface CheckProblem {
  kind: 'corrupt' | 'missing' | 'orphan' | 'stale' | 'database';
  what: string;
  /** Whether `--repair` fixed it. */
  repaired?: boolean;
}

export interface CheckReport {
  blobsChecked: number;
  layersChecked: number;
  imagesChecked: number;
  problems: CheckProblem[];
}

/**
 * Extra owners of content and snapshots outside the image tables (containers, the build cache): the engine passes
 * them in so that check never calls their data orphans.
 */
export interface CheckOwners {
  content?: () => Set<string>;
  snapshots?: () => Set<string>;
}

/** What the check reads: the image records and the stores below them, which the engine holds. */
export interface ImageStoreParts {
  db: MetaDb;
  content: ContentStore;
  snapshots: Snapshotter;
  records: ImageRecords;
}

export async function checkImageStore(
  stores: ImageStoreParts,
  opts: { root: string; repair?: boolean; owners?: CheckOwners },
): Promise<CheckReport> {
  const problems: CheckProblem[] = [];
  const repair = opts.repair ?? false;
  const report: CheckReport = { blobsChecked: 0, layersChecked: 0, imagesChecked: 0, problems };

  const integrity = stores.db.sql.pragma('integrity_check') as Array<{ integrity_check: string }>;
  for (const r of integrity)
    if (r.integrity_check !== 'ok') problems.push({ kind: 'database', what: r.integrity_check });
  const fk = stores.db.sql.pragma('foreign_key_check') as Array<Record<string, unknown>>;
  for (const r of fk)
    problems.push({ kind: 'database', what: `foreign key violation in ${String(r.table)} row ${String(r.rowid)}` });

  // Live leases (a load or pull in progress) protect what they wrote; leases of dead processes are dropped.
  for (const l of stores.records.leases.all()) {
    if (!pidAlive(l.pid)) {
      problems.push({ kind: 'stale', what: `lease ${l.id} of exited process ${l.pid}`, repaired: repair });
      if (repair) stores.db.immediate(() => stores.records.leases.delete(l.id));
    }
  }
  const leasedContent = stores.records.leases.refs('content');
  const leasedSnapshots = stores.records.leases.refs('snapshot');

  // What the records say must exist.
  const neededBlobs = new Map<string, string>();
  const images = stores.records.images.all();
  for (const img of images) neededBlobs.set(img.id, `config of image ${img.id}`);
  for (const d of stores.records.manifests.allDigests()) neededBlobs.set(d, `manifest ${d}`);
  const layers = stores.records.layers.all();
  for (const l of layers) {
    if (l.tarsplit) neededBlobs.set(l.tarsplit, `tar-split of layer ${l.chainId}`);
    if (l.tarBlob) neededBlobs.set(l.tarBlob, `tar of layer ${l.chainId}`);
  }
  for (const d of opts.owners?.content?.() ?? []) neededBlobs.set(d, `blob ${d}`);

  const present = new Set<string>();
  for await (const b of stores.content.walk()) {
    report.blobsChecked++;
    present.add(b.digest);
    const owner = neededBlobs.get(b.digest);
    if (!(await stores.content.verify(b.digest))) {
      problems.push({
        kind: 'corrupt',
        what: `blob ${b.digest}${owner ? ` (${owner})` : ''} does not match its digest`,
        repaired: repair,
      });
      if (repair) await stores.content.delete(b.digest as Digest).catch(() => {});
      continue;
    }
    if (!owner && !leasedContent.has(b.digest)) {
      problems.push({
        kind: 'orphan',
        what: `blob ${b.digest} (${b.size} bytes) belongs to no image or layer`,
        repaired: repair,
      });
      if (repair) await stores.content.delete(b.digest as Digest).catch(() => {});
    }
  }
  for (const [d, owner] of neededBlobs)
    if (!present.has(d)) problems.push({ kind: 'missing', what: `${owner} is missing from the content store` });

  // Layers against snapshots.
  const layerIds = new Set(layers.map((l) => l.chainId as string));
  for (const l of layers) {
    report.layersChecked++;
    const st = await stores.snapshots.stat(l.chainId);
    if (st?.kind !== 'committed')
      problems.push({ kind: 'missing', what: `layer ${l.chainId} has no committed snapshot` });
  }
  const otherSnapshots = opts.owners?.snapshots?.() ?? new Set<string>();
  for await (const s of stores.snapshots.walk()) {
    if (s.kind === 'committed') {
      const derived =
        s.labels[DISPOSABLE_SNAPSHOT_LABEL] !== undefined && (s.parent === undefined || layerIds.has(s.parent));
      if (!layerIds.has(s.key) && !leasedSnapshots.has(s.key) && !otherSnapshots.has(s.key) && !derived) {
        problems.push({ kind: 'orphan', what: `snapshot ${s.key} belongs to no layer`, repaired: repair });
        if (repair) await stores.snapshots.remove(s.key).catch(() => {});
      }
      continue;
    }
    if (otherSnapshots.has(s.key)) continue;
    // Extraction snapshots carry the PID of the process that made them: gone means killed mid-apply.
    const pid = Number(s.labels['wharf.pid']);
    if (s.key.startsWith('extract-') && !pidAlive(pid)) {
      problems.push({
        kind: 'stale',
        what: `unfinished layer extraction ${s.key.split(' ')[0]} of exited process ${pid}`,
        repaired: repair,
      });
      if (repair) await stores.snapshots.remove(s.key).catch(() => {});
    } else if (!s.key.startsWith('extract-')) {
      problems.push({ kind: 'orphan', what: `${s.kind} snapshot ${s.key} belongs to nothing`, repaired: repair });
      if (repair) await stores.snapshots.remove(s.key).catch(() => {});
    }
  }
  if (repair) await stores.snapshots.sweep();

  for (const img of images) {
    report.imagesChecked++;
    const chain = stores.records.images.chain(img.id);
    if (chain.some((c) => !layerIds.has(c)))
      problems.push({ kind: 'missing', what: `image ${img.id} refers to a missing layer` });
  }

  // Partial writes and staging dirs of killed processes.
  if (repair) {
    const n = await stores.content.sweepIngests(0);
    if (n) problems.push({ kind: 'stale', what: `${n} unfinished blob writes`, repaired: true });
  }
  const tmp = path.join(opts.root, 'tmp');
  try {
    for (const n of await fsp.readdir(tmp)) {
      const pid = Number(/^[a-z]+-(\d+)-/.exec(n)?.[1]);
      if (pidAlive(pid)) continue;
      problems.push({ kind: 'stale', what: `staging directory tmp/${n} of exited process`, repaired: repair });
      if (repair) await fsp.rm(path.join(tmp, n), { recursive: true, force: true });
    }
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
  }
  return report;
}
