import type { Digest } from '../../digest/index.js';

/** A manifest as the registry keeps it: the exact bytes pushed plus what the API needs without re-parsing. */
export interface ManifestRecord {
  repo: string;
  digest: Digest;
  mediaType: string;
  size: number;
  content: Buffer;
  artifactType?: string;
  subject?: Digest;
  annotations?: Record<string, string>;
  createdAt: Date;
}

export interface ManifestPut {
  digest: Digest;
  mediaType: string;
  content: Buffer;
  artifactType?: string;
  subject?: Digest;
  annotations?: Record<string, string>;
  /** Config and layers: each must already be linked to the repository. */
  blobs: Digest[];
  /** Index children: each must already be a manifest of the repository. */
  children: Digest[];
  tag?: string;
}

export interface Page {
  n?: number;
  last?: string;
}

export interface UploadRecord {
  id: string;
  repo: string;
  startedAt: Date;
  updatedAt: Date;
  /**
   * The sha256 digest of the session's first `size` bytes, recorded by the process that received them once they were
   * durable, so that the request finishing the upload in another process (a cluster worker, or after a restart) need
   * not read the data again. Valid only while the data is exactly `size` bytes long (sessions only grow).
   */
  hashed?: { size: number; digest: Digest };
}

export interface GcOptions {
  /** Also remove manifests that no tag reaches (through index children and referrers). */
  deleteUntagged: boolean;
  dryRun: boolean;
  now: Date;
  /** Manifests pushed less than this long ago are kept even when untagged: a multi-arch push uploads children first. */
  manifestGraceMs: number;
}

export interface GcCollected {
  manifests: Array<{ repo: string; digest: Digest; size: number }>;
  /** Blobs that lost their index row and are now reserved for deletion (`gc_deleting`) unless this was a dry run. */
  blobs: Array<{ digest: Digest; size: number }>;
}

/** A deletion reservation older than this belongs to a GC that died; the next GC or commit may clear it. */
export const GC_RESERVATION_STALE_MS = 10 * 60_000;

/** Repositories (distribution's catalog and repository deletion). */
export interface RepositoryIndex {
  /** Repositories that hold at least one manifest (so emptied ones leave the catalog), sorted, after `last`, at most `n`. */
  list(page: Page): Promise<string[]>;
  /** Those of `list` whose name contains `term` (ASCII case-insensitively), sorted, at most `limit`. */
  search(term: string, limit: number): Promise<string[]>;
  /** Known: something was pushed to it and it was not deleted as a whole (its tag list is then 200, maybe empty). */
  exists(repo: string): Promise<boolean>;
  /** Removes every tag, manifest, link and upload of a repository; undefined when it did not exist. */
  delete(repo: string): Promise<{ manifests: number; tags: number } | undefined>;
}

/** Blobs the registry stores (one global store) and their links to repositories. */
export interface BlobIndex {
  stat(d: Digest): Promise<{ size: number } | undefined>;
  /** The blob, when it is linked to `repo` (what a pull through that repository may read). */
  linked(repo: string, d: Digest): Promise<{ size: number } | undefined>;
  /** Repositories linking the blob, sorted, at most `limit`. */
  reposLinking(d: Digest, limit: number): Promise<string[]>;
  /**
   * Takes a lease, for `repo`, on a blob about to be moved into the store. Waits while a GC is deleting the same digest
   * (its reservation, unless older than GC_RESERVATION_STALE_MS), so a GC never removes bytes an upload has just put in
   * place. The lease ends when it expires or when a manifest of `repo` that refers to the blob is put.
   */
  beginCommit(repo: string, d: Digest, leaseId: string, expiresAt: Date): Promise<void>;
  /** Records the blob and links it to the repository (after its bytes are in place). */
  finishCommit(repo: string, d: Digest, size: number): Promise<void>;
  /** Links a known blob to a repository under a lease (cross-repository mount); false when the blob is unknown. */
  link(repo: string, d: Digest, leaseId: string, expiresAt: Date): Promise<boolean>;
  unlink(repo: string, d: Digest): Promise<boolean>;
  all(): Promise<Array<{ digest: Digest; size: number }>>;
}

export interface ManifestIndex {
  /**
   * Throws FAILED_PRECONDITION with `details.missing` when a referenced blob or child is not in the repository. In the
   * same transaction, ends the repository's leases on the blobs the manifest refers to (see src/registry/gc.ts).
   */
  put(repo: string, m: ManifestPut): Promise<void>;
  get(repo: string, d: Digest): Promise<ManifestRecord | undefined>;
  /** Removes the manifest and every tag pointing at it. */
  delete(repo: string, d: Digest): Promise<boolean>;
  /** Manifests of the repository whose subject is `subject`, oldest first, optionally of one artifactType. */
  referrers(repo: string, subject: Digest, artifactType?: string): Promise<ManifestRecord[]>;
}

/** Tags are set by ManifestIndex.put (ManifestPut.tag). */
export interface TagIndex {
  resolve(repo: string, tag: string): Promise<Digest | undefined>;
  /** Removes one tag; the manifest and its other tags stay. */
  delete(repo: string, tag: string): Promise<boolean>;
  list(repo: string, page: Page): Promise<string[]>;
  /** The tags pointing at a manifest, sorted. */
  of(repo: string, d: Digest): Promise<string[]>;
}

export interface UploadIndex {
  create(u: { id: string; repo: string; startedAt: Date }): Promise<void>;
  get(id: string): Promise<UploadRecord | undefined>;
  /** Records activity; with `hashed`, also what the session's bytes hash to so far (see UploadRecord.hashed). */
  touch(id: string, at: Date, hashed?: { size: number; digest: Digest }): Promise<void>;
  delete(id: string): Promise<void>;
  /** Sessions idle since before `updatedBefore`, least recently active first. */
  idleSince(updatedBefore: Date): Promise<UploadRecord[]>;
}

/**
 * Leases keep blobs alive while a client has yet to push the manifest that refers to them (see BlobIndex). A lease
 * belongs to one repository; a manifest put there ends its hold on the blobs that manifest refers to.
 */
export interface LeaseIndex {
  delete(id: string): Promise<void>;
  /** Drops leases that expired at or before `now`; returns how many. */
  prune(now: Date): Promise<number>;
}

/** A manifest as the garbage collector sees it: no bytes, only what reachability needs. */
export interface GcManifest {
  repo: string;
  digest: Digest;
  size: number;
  createdAt: Date;
  subject?: Digest;
}

export interface GcReference {
  repo: string;
  parent: Digest;
  child: Digest;
  /** A config or layer blob, or an index child manifest. */
  kind: 'blob' | 'manifest';
}

/**
 * Plain queries and changes, inside one exclusive write transaction, for the garbage collector (src/registry/gc.ts
 * decides what is garbage; a backend only answers and applies). Nothing else writes the index meanwhile.
 */
export interface GcTransaction {
  /** Every tag's target. */
  tagged(): Promise<Array<{ repo: string; digest: Digest }>>;
  manifests(): Promise<GcManifest[]>;
  references(): Promise<GcReference[]>;
  blobs(): Promise<Array<{ digest: Digest; size: number }>>;
  /** Blobs under a lease that expires after `now`, each with the latest expiry of its leases. */
  leasedBlobs(now: Date): Promise<Array<{ digest: Digest; expiresAt: Date }>>;
  /** Removes manifests with their tags and references. */
  deleteManifests(refs: Array<{ repo: string; digest: Digest }>): Promise<void>;
  /** Removes blob rows and their repository links (the bytes are the caller's). */
  deleteBlobs(digests: Digest[]): Promise<void>;
  /**
   * Reserves digests for deletion at `since` (see BlobIndex.beginCommit); with `replace` false a digest already reserved
   * is left alone. Returns the digests this call reserved.
   */
  reserve(digests: Digest[], since: Date, replace: boolean): Promise<Digest[]>;
  pruneLeases(now: Date): Promise<number>;
  /** Ends reservations made before `before`, except those made exactly at `keep` (this GC's own). */
  dropStaleReservations(before: Date, keep: Date): Promise<void>;
  /** Forgets repositories left with no manifest, link or upload. */
  forgetEmptyRepositories(): Promise<void>;
}

export interface GcIndex {
  /** Runs `fn` in one exclusive write transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: GcTransaction) => Promise<T>): Promise<T>;
  /** Ends the deletion reservation of digests once their bytes are gone. */
  release(digests: Digest[]): Promise<void>;
}

/**
 * Registry metadata, split as distribution splits its services. Every multi-step change is one transaction, so several
 * processes (a server and `registry gc`) can share a backend. The bytes of blobs live in a BlobDriver; manifests
 * (≤ 4 MiB) live here. Backends: SQLite (metadata/sqlite.ts), PostgreSQL (metadata/postgres.ts, shared by replicas) and in memory
 * (metadata/memory.ts), one shared suite.
 */
export interface RegistryIndex {
  readonly repositories: RepositoryIndex;
  readonly blobs: BlobIndex;
  readonly manifests: ManifestIndex;
  readonly tags: TagIndex;
  readonly uploads: UploadIndex;
  readonly leases: LeaseIndex;
  readonly gc: GcIndex;
  /** Resolves when the backend answers a trivial query (readiness, /debug/health); throws UNAVAILABLE when it cannot. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
