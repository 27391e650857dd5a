import { mapLimit } from '../util/index.js';
import type { Digest } from '../digest/index.js';
import type { RegistryStore } from './store.js';
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
  /** Everything reclaimed (or reclaimable, in a dry run): blobs + manifests + upload data. */
  bytesFreed: number;
  durationMs: number;
}

const DELETE_CONCURRENCY = 16;

/**
 * Mark and sweep while serving: the index transaction decides (tags → manifests → index children → referrers →
 * blobs, plus every leased blob) and reserves what it will delete; only then are bytes removed. An upload that
 * commits the same digest meanwhile waits for the reservation to end, so it never loses its bytes.
 */
export async function collectGarbage(store: RegistryStore, opts: GcRunOptions, now = new Date()): Promise<GcReport> {
  const started = Date.now();
  const { index, driver } = store;
  const collected = opts.uploadsOnly
    ? { manifests: [], blobs: [] }
    : await index.gcCollect({
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
      await index.gcFinish(digests);
    }
  }

  // Files no row knows about: never visible to clients, but they take space.
  const known = new Set((await index.allBlobs()).map((b) => b.digest as string));
  const removed = new Set(collected.blobs.map((b) => b.digest as string));
  const strays: Digest[] = [];
  if (!opts.uploadsOnly) for await (const p of driver.list(BLOBS_PREFIX)) {
    const d = digestOfBlobPath(p);
    if (d !== undefined && !known.has(d) && !removed.has(d)) strays.push(d as Digest);
  }
  let orphanBytes = 0;
  let orphanFiles = 0;
  if (strays.length > 0) {
    const claimed = opts.dryRun ? strays : await index.gcClaimOrphans(strays, now);
    const sizes = await mapLimit(claimed, DELETE_CONCURRENCY, async (d) => (await driver.stat(blobPath(d)))?.size ?? 0);
    orphanBytes = sizes.reduce((a, b) => a + b, 0);
    orphanFiles = claimed.length;
    if (!opts.dryRun && claimed.length > 0) {
      try {
        await mapLimit(claimed, DELETE_CONCURRENCY, (d) => driver.delete(blobPath(d)));
      } finally {
        await index.gcFinish(claimed);
      }
    }
  }

  let uploadsPurged = 0;
  let uploadBytes = 0;
  if (opts.uploadPurgeAgeMs !== undefined) {
    const cutoff = new Date(now.getTime() - opts.uploadPurgeAgeMs);
    const stale = await index.listUploads(cutoff);
    const known = new Set<string>();
    for (const u of stale) {
      known.add(u.id);
      uploadBytes += opts.dryRun ? ((await driver.stat(`${UPLOADS_PREFIX}/${u.id}`))?.size ?? 0) : await store.purgeUpload(u.id);
      uploadsPurged++;
    }
    // Data files whose session row never got written (a crash in between) are purged by age too.
    for await (const p of driver.list(UPLOADS_PREFIX)) {
      const id = p.slice(UPLOADS_PREFIX.length + 1);
      if (known.has(id) || (await index.getUpload(id))) continue;
      const st = await driver.stat(p);
      if (!st || st.modified > cutoff) continue;
      uploadBytes += st.size;
      uploadsPurged++;
      if (!opts.dryRun) await driver.delete(p);
    }
  }

  if (!opts.dryRun) await index.pruneLeases(now);

  const bytesFreed =
    collected.blobs.reduce((a, b) => a + b.size, 0) + collected.manifests.reduce((a, m) => a + m.size, 0) + orphanBytes + uploadBytes;
  return {
    dryRun: opts.dryRun,
    manifests: collected.manifests,
    blobs: collected.blobs,
    orphanFiles,
    uploadsPurged,
    uploadBytes,
    bytesFreed,
    durationMs: Date.now() - started,
  };
}
