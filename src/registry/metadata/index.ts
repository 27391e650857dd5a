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

/**
 * Registry metadata: repositories, tags, manifests, repository↔blob links, references, uploads, referrers, leases.
 * Every multi-step change is one transaction, so several processes (a server and `registry gc`) can share it.
 * The bytes of blobs live in a BlobDriver; manifests (≤ 4 MiB) live here.
 */
export interface RegistryIndex {
  close(): Promise<void>;

  /** Repositories that hold at least one manifest (so emptied ones leave the catalog), sorted, after `last`, at most `n`. */
  listRepositories(page: Page): Promise<string[]>;
  searchRepositories(term: string, limit: number): Promise<string[]>;
  /** Known: something was pushed to it and it was not deleted as a whole (its tag list is then 200, maybe empty). */
  repositoryExists(repo: string): Promise<boolean>;
  /** Removes every tag, manifest, link and upload of a repository; undefined when it did not exist. */
  deleteRepository(repo: string): Promise<{ manifests: number; tags: number } | undefined>;

  statBlob(d: Digest): Promise<{ size: number } | undefined>;
  linkedBlob(repo: string, d: Digest): Promise<{ size: number } | undefined>;
  reposLinkingBlob(d: Digest, limit: number): Promise<string[]>;
  /**
   * Takes a lease on a blob about to be moved into the store. Waits while a GC is deleting the same digest,
   * so a GC never removes bytes that an upload has just put in place.
   */
  beginBlobCommit(d: Digest, leaseId: string, expiresAt: Date): Promise<void>;
  /** Records the blob and links it to the repository (after its bytes are in place). */
  finishBlobCommit(repo: string, d: Digest, size: number): Promise<void>;
  /** Links a known blob to a repository under a lease (cross-repository mount); false when the blob is unknown. */
  linkBlob(repo: string, d: Digest, leaseId: string, expiresAt: Date): Promise<boolean>;
  unlinkBlob(repo: string, d: Digest): Promise<boolean>;
  deleteLease(id: string): Promise<void>;
  /** Drops leases that expired before `now`; returns how many. */
  pruneLeases(now: Date): Promise<number>;

  /** Throws FAILED_PRECONDITION with `details.missing` when a referenced blob or child is not in the repository. */
  putManifest(repo: string, m: ManifestPut): Promise<void>;
  getManifest(repo: string, d: Digest): Promise<ManifestRecord | undefined>;
  resolveTag(repo: string, tag: string): Promise<Digest | undefined>;
  /** Removes the manifest and every tag pointing at it. */
  deleteManifest(repo: string, d: Digest): Promise<boolean>;
  /** Removes one tag; the manifest and its other tags stay. */
  deleteTag(repo: string, tag: string): Promise<boolean>;
  listTags(repo: string, page: Page): Promise<string[]>;
  tagsOf(repo: string, d: Digest): Promise<string[]>;
  listReferrers(repo: string, subject: Digest, artifactType?: string): Promise<ManifestRecord[]>;

  createUpload(u: { id: string; repo: string; startedAt: Date }): Promise<void>;
  getUpload(id: string): Promise<UploadRecord | undefined>;
  /** Records activity; with `hashed`, also what the session's bytes hash to so far (see UploadRecord.hashed). */
  touchUpload(id: string, at: Date, hashed?: { size: number; digest: Digest }): Promise<void>;
  deleteUpload(id: string): Promise<void>;
  listUploads(updatedBefore: Date): Promise<UploadRecord[]>;

  /** Marks and (unless dry) removes, in one transaction, what nothing reaches; see GcOptions. */
  gcCollect(opts: GcOptions): Promise<GcCollected>;
  /** Reserves blobs present in storage but unknown to the index (a crash between move and record) for deletion. */
  gcClaimOrphans(digests: Digest[], now: Date): Promise<Digest[]>;
  /** Ends the deletion reservation once the bytes are gone. */
  gcFinish(digests: Digest[]): Promise<void>;
  allBlobs(): Promise<Array<{ digest: Digest; size: number }>>;
}
