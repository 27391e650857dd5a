import { WharfError } from '../../errors/index.js';
import type { Digest } from '../../digest/index.js';
import {
  GC_RESERVATION_STALE_MS,
  type BlobIndex,
  type GcIndex,
  type LeaseIndex,
  type ManifestIndex,
  type ManifestPut,
  type ManifestRecord,
  type Page,
  type RegistryIndex,
  type RepositoryIndex,
  type TagIndex,
  type UploadIndex,
  type UploadRecord,
} from './index.js';
import { Memory, copyRecord, paged, sorted, type State, type StoredManifest } from './memory-state.js';
import { MemoryGc } from './memory-gc.js';
import { leaseWhenGcAllows } from './commit-wait.js';

class MemoryRepositories implements RepositoryIndex {
  constructor(private readonly m: Memory) {}

  list(page: Page): Promise<string[]> {
    return this.m.run(() => paged(this.m.catalog(), page));
  }

  search(term: string, limit: number): Promise<string[]> {
    // SQL LIKE's matching: ASCII letters compare case-insensitively.
    const fold = (x: string) => x.replace(/[A-Z]/g, (ch) => ch.toLowerCase());
    return this.m.run(() =>
      this.m
        .catalog()
        .filter((r) => fold(r).includes(fold(term)))
        .slice(0, limit),
    );
  }

  exists(repo: string): Promise<boolean> {
    return this.m.run((s) => s.repos.has(repo));
  }

  delete(repo: string): Promise<{ manifests: number; tags: number } | undefined> {
    return this.m.run((s) => {
      const exists = s.repos.has(repo);
      const manifests = s.manifests.get(repo)?.size ?? 0;
      const tags = s.tags.get(repo)?.size ?? 0;
      const links = s.links.get(repo)?.size ?? 0;
      let uploads = 0;
      for (const [id, u] of s.uploads) if (u.repo === repo && s.uploads.delete(id)) uploads++;
      s.manifests.delete(repo);
      s.tags.delete(repo);
      s.links.delete(repo);
      s.repos.delete(repo);
      if (!exists && manifests === 0 && links === 0 && uploads === 0) return undefined;
      return { manifests, tags };
    });
  }
}

class MemoryBlobs implements BlobIndex {
  constructor(private readonly m: Memory) {}

  stat(d: Digest): Promise<{ size: number } | undefined> {
    return this.m.run((s) => {
      const b = s.blobs.get(d);
      return b ? { size: b.size } : undefined;
    });
  }

  linked(repo: string, d: Digest): Promise<{ size: number } | undefined> {
    return this.m.run((s) => {
      const b = s.links.get(repo)?.has(d) ? s.blobs.get(d) : undefined;
      return b ? { size: b.size } : undefined;
    });
  }

  reposLinking(d: Digest, limit: number): Promise<string[]> {
    return this.m.run((s) => sorted([...s.links].filter(([, ds]) => ds.has(d)).map(([r]) => r)).slice(0, limit));
  }

  async beginCommit(repo: string, d: Digest, leaseId: string, expiresAt: Date): Promise<void> {
    const tryLease = (s: State): boolean => {
      const since = s.deleting.get(d);
      if (since !== undefined) {
        if (Date.now() - since < GC_RESERVATION_STALE_MS) return false;
        s.deleting.delete(d);
      }
      this.m.lease(leaseId, repo, expiresAt, d);
      return true;
    };
    await leaseWhenGcAllows(d, () => this.m.run(tryLease));
  }

  finishCommit(repo: string, d: Digest, size: number): Promise<void> {
    return this.m.run((s) => {
      if (!s.blobs.has(d)) s.blobs.set(d, { size, createdAt: Date.now() });
      this.m.link(repo, d);
      this.m.addRepo(repo, Date.now());
    });
  }

  link(repo: string, d: Digest, leaseId: string, expiresAt: Date): Promise<boolean> {
    return this.m.run((s) => {
      if (!s.blobs.has(d)) return false;
      this.m.lease(leaseId, repo, expiresAt, d);
      this.m.link(repo, d);
      this.m.addRepo(repo, Date.now());
      return true;
    });
  }

  unlink(repo: string, d: Digest): Promise<boolean> {
    return this.m.run((s) => s.links.get(repo)?.delete(d) ?? false);
  }

  all(): Promise<Array<{ digest: Digest; size: number }>> {
    return this.m.run((s) => [...s.blobs].map(([digest, b]) => ({ digest, size: b.size })));
  }
}

class MemoryManifests implements ManifestIndex {
  constructor(private readonly m: Memory) {}

  put(repo: string, p: ManifestPut): Promise<void> {
    return this.m.run((s) => {
      const missing: string[] = [];
      for (const b of new Set(p.blobs)) if (!s.links.get(repo)?.has(b) && !this.m.hasManifest(repo, b)) missing.push(b);
      for (const c of new Set(p.children)) if (!this.m.hasManifest(repo, c)) missing.push(c);
      if (missing.length > 0) {
        throw new WharfError(
          'FAILED_PRECONDITION',
          `manifest ${p.digest} refers to ${missing.length} unknown blob(s) or manifest(s) in ${repo}`,
          {
            details: { missing },
          },
        );
      }
      const now = Date.now();
      const byDigest = s.manifests.get(repo) ?? new Map<Digest, StoredManifest>();
      s.manifests.set(repo, byDigest);
      // A manifest pushed again keeps its record (and age); its references are those of the latest push.
      const record: ManifestRecord = byDigest.get(p.digest)?.record ?? {
        repo,
        digest: p.digest,
        mediaType: p.mediaType,
        size: p.content.length,
        content: Buffer.from(p.content),
        ...(p.artifactType !== undefined ? { artifactType: p.artifactType } : {}),
        ...(p.subject !== undefined ? { subject: p.subject } : {}),
        ...(p.annotations ? { annotations: { ...p.annotations } } : {}),
        createdAt: new Date(now),
      };
      byDigest.set(p.digest, { record, blobs: new Set(p.blobs), children: new Set(p.children) });
      this.m.endLeasesFor(repo, p.blobs);
      this.m.addRepo(repo, now);
      if (p.tag !== undefined) {
        const tags = s.tags.get(repo) ?? new Map<string, Digest>();
        tags.set(p.tag, p.digest);
        s.tags.set(repo, tags);
      }
    });
  }

  get(repo: string, d: Digest): Promise<ManifestRecord | undefined> {
    return this.m.run((s) => {
      const r = s.manifests.get(repo)?.get(d)?.record;
      return r ? copyRecord(r) : undefined;
    });
  }

  delete(repo: string, d: Digest): Promise<boolean> {
    return this.m.run(() => this.m.dropManifest(repo, d));
  }

  referrers(repo: string, subject: Digest, artifactType?: string): Promise<ManifestRecord[]> {
    return this.m.run((s) =>
      [...(s.manifests.get(repo)?.values() ?? [])]
        .map((x) => x.record)
        .filter((r) => r.subject === subject && (artifactType === undefined || r.artifactType === artifactType))
        .sort(
          (a, b) =>
            a.createdAt.getTime() - b.createdAt.getTime() || (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0),
        )
        .map(copyRecord),
    );
  }
}

class MemoryTags implements TagIndex {
  constructor(private readonly m: Memory) {}

  resolve(repo: string, tag: string): Promise<Digest | undefined> {
    return this.m.run((s) => s.tags.get(repo)?.get(tag));
  }

  delete(repo: string, tag: string): Promise<boolean> {
    return this.m.run((s) => s.tags.get(repo)?.delete(tag) ?? false);
  }

  list(repo: string, page: Page): Promise<string[]> {
    return this.m.run((s) => paged(sorted(s.tags.get(repo)?.keys() ?? []), page));
  }

  of(repo: string, d: Digest): Promise<string[]> {
    return this.m.run((s) => sorted([...(s.tags.get(repo) ?? [])].filter(([, t]) => t === d).map(([name]) => name)));
  }
}

class MemoryUploads implements UploadIndex {
  constructor(private readonly m: Memory) {}

  create(u: { id: string; repo: string; startedAt: Date }): Promise<void> {
    return this.m.run((s) => {
      if (s.uploads.has(u.id)) throw new WharfError('ALREADY_EXISTS', `upload ${u.id} already exists`);
      s.uploads.set(u.id, {
        id: u.id,
        repo: u.repo,
        startedAt: new Date(u.startedAt),
        updatedAt: new Date(u.startedAt),
      });
    });
  }

  get(id: string): Promise<UploadRecord | undefined> {
    return this.m.run((s) => {
      const u = s.uploads.get(id);
      return u ? { ...u } : undefined;
    });
  }

  touch(id: string, at: Date, hashed?: { size: number; digest: Digest }): Promise<void> {
    return this.m.run((s) => {
      const u = s.uploads.get(id);
      if (u) s.uploads.set(id, { ...u, updatedAt: new Date(at), ...(hashed ? { hashed: { ...hashed } } : {}) });
    });
  }

  delete(id: string): Promise<void> {
    return this.m.run((s) => void s.uploads.delete(id));
  }

  idleSince(updatedBefore: Date): Promise<UploadRecord[]> {
    return this.m.run((s) =>
      [...s.uploads.values()]
        .filter((u) => u.updatedAt.getTime() < updatedBefore.getTime())
        .sort((a, b) => a.updatedAt.getTime() - b.updatedAt.getTime())
        .map((u) => ({ ...u })),
    );
  }
}

class MemoryLeases implements LeaseIndex {
  constructor(private readonly m: Memory) {}

  delete(id: string): Promise<void> {
    return this.m.run((s) => void s.leases.delete(id));
  }

  prune(now: Date): Promise<number> {
    return this.m.run(() => this.m.pruneLeases(now));
  }
}

/**
 * RegistryIndex in memory: the reference semantics of the index (the shared suite runs against it and SQLite alike),
 * and a registry that keeps no metadata across restarts. One process only.
 */
export class MemoryRegistryIndex implements RegistryIndex {
  readonly repositories: RepositoryIndex;
  readonly blobs: BlobIndex;
  readonly manifests: ManifestIndex;
  readonly tags: TagIndex;
  readonly uploads: UploadIndex;
  readonly leases: LeaseIndex;
  readonly gc: GcIndex;

  constructor() {
    const m = new Memory();
    this.repositories = new MemoryRepositories(m);
    this.blobs = new MemoryBlobs(m);
    this.manifests = new MemoryManifests(m);
    this.tags = new MemoryTags(m);
    this.uploads = new MemoryUploads(m);
    this.leases = new MemoryLeases(m);
    this.gc = new MemoryGc(m);
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}
}
