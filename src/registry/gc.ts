import { mapLimit } from '../util/index.js';
import type { Digest } from '../digest/index.js';
import type { RegistryStore } from './store.js';
import {
  GC_RESERVATION_STALE_MS,
  type GcCollected,
  type GcIndex,
  type GcManifest,
  type GcOptions,
  type GcReference,
} from './metadata/index.js';
import { BLOBS_PREFIX, UPLOADS_PREFIX, blobPath, digestOfBlobPath } from './storage/paths.js';

export interface GcRunOptions {
  dryRun: boolean;
  /** Remove manifests that no tag reaches (following index children and referrers), then what only they used. */
  deleteUntagged: boolean;
  /** Upload sessions idle longer than this are purged; undefined leaves uploads alone. */
  uploadPurgeAgeMs?: number;
  /** Only purge stale uploads; leave manifests and blobs alone (the server's periodic maintenance). */
  uploadsOnly?: boolean;
}

export interface GcReport {
  dryRun: boolean;
  manifests: Array<{ repo: string; digest: Digest; size: number }>;
  blobs: Array<{ digest: Digest; size: number }>;
  /** Blob files that no index row knows (a crash between moving and recording). */
  orphanFiles: number;
  uploadsPurged: number;
  uploadBytes: number;
  /** What stays and why (absent for an uploads-only purge). */
  kept?: GcKept;
  /** Upload sessions left alone because they were active within the purge age (or no purge age was given). */
  uploadsKept: { count: number; bytes: number };
  /** The purge age that applied, when uploads were considered. */
  uploadPurgeAgeMs?: number;
  /** Everything reclaimed (or reclaimable, in a dry run): blobs + manifests + upload data. */
  bytesFreed: number;
  durationMs: number;
}

const DELETE_CONCURRENCY = 16;

/** What marking reads from the index: the manifest graph, the blobs and which of them are leased (until when). */
export interface GcGraph {
  tagged: Array<{ repo: string; digest: Digest }>;
  manifests: GcManifest[];
  references: GcReference[];
  blobs: Array<{ digest: Digest; size: number }>;
  leased: Array<{ digest: Digest; expiresAt: Date }>;
}

/** What survives a collection and why: each blob is counted under the first reason that keeps it. */
export interface GcKept {
  /** Manifests that a tag reaches (directly, as an index child or as a referrer). */
  taggedManifests: number;
  /** Other manifests that stay: all of them without `deleteUntagged`, else those within the grace period. */
  untaggedManifests: number;
  /** Blobs a tag-reachable manifest refers to. */
  taggedBlobs: { count: number; bytes: number };
  /** Blobs only untagged manifests refer to. */
  untaggedBlobs: { count: number; bytes: number };
  /** Blobs no manifest refers to, kept by an upload or mount lease; `expiresAt` is the last of those leases' ends. */
  leasedBlobs: { count: number; bytes: number; expiresAt?: Date };
}

const key = (repo: string, digest: string) => `${repo}\n${digest}`;
const byRepoDigest = (a: { repo: string; digest: string }, b: { repo: string; digest: string }) =>
  a.repo < b.repo ? -1 : a.repo > b.repo ? 1 : a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0;

/** The manifests reachable from `roots` through index children and referrers (whose subject is reachable). */
function reachable(g: GcGraph, roots: Iterable<{ repo: string; digest: string }>): Set<string> {
  const children = new Map<string, string[]>();
  for (const r of g.references) {
    if (r.kind !== 'manifest') continue;
    const k = key(r.repo, r.parent);
    const list = children.get(k);
    if (list) list.push(r.child);
    else children.set(k, [r.child]);
  }
  const referrers = new Map<string, string[]>();
  for (const m of g.manifests) {
    if (m.subject === undefined) continue;
    const k = key(m.repo, m.subject);
    const list = referrers.get(k);
    if (list) list.push(m.digest);
    else referrers.set(k, [m.digest]);
  }
  const live = new Set<string>();
  const queue: Array<{ repo: string; digest: string }> = [];
  const mark = (repo: string, digest: string) => {
    const k = key(repo, digest);
    if (live.has(k)) return;
    live.add(k);
    queue.push({ repo, digest });
  };
  for (const r of roots) mark(r.repo, r.digest);
  for (let next = queue.pop(); next; next = queue.pop()) {
    const k = key(next.repo, next.digest);
    for (const c of children.get(k) ?? []) mark(next.repo, c);
    for (const r of referrers.get(k) ?? []) mark(next.repo, r);
  }
  return live;
}

/**
 * Marking, apart from any backend. Live manifests (only with `deleteUntagged`; otherwise all are): tagged ones and
 * those pushed within the grace period, then, until nothing changes, the index children of live manifests and the
 * referrers whose subject is live. Live blobs: those a surviving manifest refers to, and every leased one.
 *
 * Why a lease can simply be "live": a lease says "a client put this blob here and has yet to push the manifest that
 * uses it". It therefore ends, in the transaction of the manifest PUT (ManifestIndex.put), as soon as a manifest of
 * the lease's repository refers to the blob; from then on only references keep the blob, so deleting that manifest
 * makes the blob collectable at once. Only the leases of that repository end: another client may be uploading the
 * same digest to another repository, and its lease must keep protecting the bytes until its own manifest arrives.
 * The alternative rule "leased AND referenced by no manifest" is wrong both ways: it keeps a blob whose manifest was
 * pushed and then deleted (the lease outlives its purpose), and it would drop the protection of another repository's
 * in-flight upload whenever some manifest elsewhere refers to the digest and is then deleted. What remains: two
 * uploads of one digest into one repository share one end (the first manifest that uses it), like a client that
 * skipped the upload because HEAD found the blob; a GC between that manifest's deletion and the second manifest's PUT
 * can then remove the blob, and that client's PUT fails with MANIFEST_BLOB_UNKNOWN and it pushes again.
 */
export function markGarbage(
  g: GcGraph,
  opts: Pick<GcOptions, 'deleteUntagged' | 'now' | 'manifestGraceMs'>,
): GcCollected & { kept: GcKept } {
  const dead: GcCollected['manifests'] = [];
  const deadKeys = new Set<string>();
  const fromTags = reachable(g, g.tagged);
  if (opts.deleteUntagged) {
    const graceEnd = opts.now.getTime() - opts.manifestGraceMs;
    const young = g.manifests.filter((m) => m.createdAt.getTime() > graceEnd);
    const live = reachable(g, [...g.tagged, ...young]);
    for (const m of g.manifests) {
      if (live.has(key(m.repo, m.digest))) continue;
      dead.push({ repo: m.repo, digest: m.digest, size: m.size });
      deadKeys.add(key(m.repo, m.digest));
    }
    dead.sort(byRepoDigest);
  }
  const taggedRefs = new Set<string>();
  const untaggedRefs = new Set<string>();
  for (const r of g.references) {
    if (r.kind !== 'blob' || deadKeys.has(key(r.repo, r.parent))) continue;
    (fromTags.has(key(r.repo, r.parent)) ? taggedRefs : untaggedRefs).add(r.child);
  }
  const leases = new Map<string, Date>(g.leased.map((l) => [l.digest, l.expiresAt]));
  const kept: GcKept = {
    taggedManifests: g.manifests.filter((m) => fromTags.has(key(m.repo, m.digest))).length,
    untaggedManifests: g.manifests.filter((m) => !fromTags.has(key(m.repo, m.digest))).length - dead.length,
    taggedBlobs: { count: 0, bytes: 0 },
    untaggedBlobs: { count: 0, bytes: 0 },
    leasedBlobs: { count: 0, bytes: 0 },
  };
  const blobs: GcCollected['blobs'] = [];
  for (const b of g.blobs) {
    const leasedUntil = leases.get(b.digest);
    const bucket = taggedRefs.has(b.digest)
      ? kept.taggedBlobs
      : untaggedRefs.has(b.digest)
        ? kept.untaggedBlobs
        : leasedUntil !== undefined
          ? kept.leasedBlobs
          : undefined;
    if (!bucket) {
      blobs.push(b);
      continue;
    }
    bucket.count++;
    bucket.bytes += b.size;
    if (bucket === kept.leasedBlobs && leasedUntil !== undefined) {
      const last = kept.leasedBlobs.expiresAt;
      if (last === undefined || leasedUntil > last) kept.leasedBlobs.expiresAt = leasedUntil;
    }
  }
  blobs.sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  return { manifests: dead, blobs, kept };
}

/**
 * Marks and (unless dry) sweeps the index in one exclusive transaction: dead manifests go, dead blobs lose their rows
 * and are reserved for deletion (so a commit of the same digest waits until the bytes are gone, see gcFinish), expired
 * leases and stale reservations of a GC that died are dropped, and emptied repositories forgotten.
 */
export async function collectIndex(gc: GcIndex, opts: GcOptions): Promise<GcCollected & { kept: GcKept }> {
  return gc.transaction(async (tx) => {
    const graph: GcGraph = {
      tagged: await tx.tagged(),
      manifests: await tx.manifests(),
      references: await tx.references(),
      blobs: await tx.blobs(),
      leased: await tx.leasedBlobs(opts.now),
    };
    const collected = markGarbage(graph, opts);
    if (!opts.dryRun) {
      await tx.deleteManifests(collected.manifests);
      const digests = collected.blobs.map((b) => b.digest);
      await tx.deleteBlobs(digests);
      await tx.reserve(digests, opts.now, true);
      await tx.pruneLeases(opts.now);
      await tx.dropStaleReservations(new Date(opts.now.getTime() - GC_RESERVATION_STALE_MS), opts.now);
      await tx.forgetEmptyRepositories();
    }
    return collected;
  });
}

/** Reserves, for deletion, blobs present in storage but unknown to the index and unleased (a crash between move and record). */
export async function claimOrphans(gc: GcIndex, digests: Digest[], now: Date): Promise<Digest[]> {
  return gc.transaction(async (tx) => {
    const known = new Set<string>((await tx.blobs()).map((b) => b.digest));
    const leased = new Set<string>((await tx.leasedBlobs(now)).map((l) => l.digest));
    const unclaimed = digests.filter((d) => !known.has(d) && !leased.has(d));
    return tx.reserve(unclaimed, now, false);
  });
}

/**
 * Mark and sweep while serving: the index transaction decides (tags → manifests → index children → referrers →
 * blobs, plus every leased blob) and reserves what it will delete; only then are bytes removed. An upload that
 * commits the same digest meanwhile waits for the reservation to end, so it never loses its bytes.
 */
export async function collectGarbage(store: RegistryStore, opts: GcRunOptions, now = new Date()): Promise<GcReport> {
  // On a full disk too: GC is how space is won back (RegistryStore.freeing; a second run redoes what is left).
  return store.freeing(() => collect(store, opts, now));
}

async function collect(store: RegistryStore, opts: GcRunOptions, now: Date): Promise<GcReport> {
  const started = Date.now();
  const { index, driver } = store;
  const collected: GcCollected & { kept?: GcKept } = opts.uploadsOnly
    ? { manifests: [], blobs: [] }
    : await collectIndex(index.gc, {
        deleteUntagged: opts.deleteUntagged,
        dryRun: opts.dryRun,
        now,
        manifestGraceMs: store.options.blobLeaseMs,
      });

  if (!opts.dryRun && collected.blobs.length > 0) {
    const digests = collected.blobs.map((b) => b.digest);
    try {
      await mapLimit(digests, DELETE_CONCURRENCY, (d) => driver.delete(blobPath(d)));
    } finally {
      await index.gc.release(digests);
    }
  }

  // Files no row knows about: never visible to clients, but they take space.
  const known = new Set((await index.blobs.all()).map((b) => b.digest as string));
  const removed = new Set(collected.blobs.map((b) => b.digest as string));
  const strays: Digest[] = [];
  if (!opts.uploadsOnly)
    for await (const p of driver.list(BLOBS_PREFIX)) {
      const d = digestOfBlobPath(p);
      if (d !== undefined && !known.has(d) && !removed.has(d)) strays.push(d as Digest);
    }
  let orphanBytes = 0;
  let orphanFiles = 0;
  if (strays.length > 0) {
    const claimed = opts.dryRun ? strays : await claimOrphans(index.gc, strays, now);
    const sizes = await mapLimit(claimed, DELETE_CONCURRENCY, async (d) => (await driver.stat(blobPath(d)))?.size ?? 0);
    orphanBytes = sizes.reduce((a, b) => a + b, 0);
    orphanFiles = claimed.length;
    if (!opts.dryRun && claimed.length > 0) {
      try {
        await mapLimit(claimed, DELETE_CONCURRENCY, (d) => driver.delete(blobPath(d)));
      } finally {
        await index.gc.release(claimed);
      }
    }
  }

  let uploadsPurged = 0;
  let uploadBytes = 0;
  const uploadsKept = { count: 0, bytes: 0 };
  // Without a purge age every session is kept; with one, the data files walked below are either purged or kept.
  const cutoff = new Date(now.getTime() - (opts.uploadPurgeAgeMs ?? 0));
  {
    const stale = opts.uploadPurgeAgeMs === undefined ? [] : await index.uploads.idleSince(cutoff);
    const known = new Set<string>();
    for (const u of stale) {
      known.add(u.id);
      uploadBytes += opts.dryRun
        ? ((await driver.stat(`${UPLOADS_PREFIX}/${u.id}`))?.size ?? 0)
        : await store.purgeUpload(u.id);
      uploadsPurged++;
    }
    // Data files whose session row never got written (a crash in between) are purged by age too; live sessions are
    // counted as kept.
    for await (const p of driver.list(UPLOADS_PREFIX)) {
      const id = p.slice(UPLOADS_PREFIX.length + 1);
      if (known.has(id)) continue;
      const session = await index.uploads.get(id);
      const st = await driver.stat(p);
      // A session that is not stale (or went idle since the query above: the next run purges it).
      if (session) {
        uploadsKept.count++;
        uploadsKept.bytes += st?.size ?? 0;
        continue;
      }
      if (!st) continue;
      if (opts.uploadPurgeAgeMs === undefined || st.modified > cutoff) {
        uploadsKept.count++;
        uploadsKept.bytes += st.size;
        continue;
      }
      uploadBytes += st.size;
      uploadsPurged++;
      if (!opts.dryRun) await driver.delete(p);
    }
  }

  if (!opts.dryRun) await index.leases.prune(now);

  const bytesFreed =
    collected.blobs.reduce((a, b) => a + b.size, 0) +
    collected.manifests.reduce((a, m) => a + m.size, 0) +
    orphanBytes +
    uploadBytes;
  return {
    dryRun: opts.dryRun,
    manifests: collected.manifests,
    blobs: collected.blobs,
    orphanFiles,
    uploadsPurged,
    uploadBytes,
    ...(collected.kept ? { kept: collected.kept } : {}),
    uploadsKept,
    ...(opts.uploadPurgeAgeMs !== undefined ? { uploadPurgeAgeMs: opts.uploadPurgeAgeMs } : {}),
    bytesFreed,
    durationMs: Date.now() - started,
  };
}
