import { setTimeout as sleep } from 'node:timers/promises';
import { WharfError } from '../../errors/index.js';
import type { Digest } from '../../digest/index.js';
import {
  GC_RESERVATION_STALE_MS,
  type BlobIndex,
  type GcIndex,
  type GcManifest,
  type GcReference,
  type GcTransaction,
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

/** How long a blob commit waits for a GC that is deleting the same digest before giving up. */
const GC_WAIT_MS = 60_000;

/** A stored manifest with the references it was pushed with. Immutable: replaced, never edited. */
interface StoredManifest {
  record: ManifestRecord;
  blobs: ReadonlySet<Digest>;
  children: ReadonlySet<Digest>;
}

/** Everything the index knows; leaf records are immutable, so a copy of the maps is a snapshot. */
interface State {
  repos: Map<string, number>;
  blobs: Map<Digest, { size: number; createdAt: number }>;
  /** repo → linked digests. */
  links: Map<string, Set<Digest>>;
  manifests: Map<string, Map<Digest, StoredManifest>>;
  tags: Map<string, Map<string, Digest>>;
  uploads: Map<string, UploadRecord>;
  leases: Map<string, { expiresAt: number; blobs: Set<Digest> }>;
  /** Deletion reservations of the GC: digest → since. */
  deleting: Map<Digest, number>;
}

function emptyState(): State {
  return { repos: new Map(), blobs: new Map(), links: new Map(), manifests: new Map(), tags: new Map(), uploads: new Map(), leases: new Map(), deleting: new Map() };
}

function copyState(s: State): State {
  const nested = <K, V>(m: Map<string, Map<K, V>>) => new Map([...m].map(([k, v]) => [k, new Map(v)]));
  return {
    repos: new Map(s.repos),
    blobs: new Map(s.blobs),
    links: new Map([...s.links].map(([k, v]) => [k, new Set(v)])),
    manifests: nested(s.manifests),
    tags: nested(s.tags),
    uploads: new Map(s.uploads),
    leases: new Map([...s.leases].map(([k, v]) => [k, { expiresAt: v.expiresAt, blobs: new Set(v.blobs) }])),
    deleting: new Map(s.deleting),
  };
}

const sorted = (xs: Iterable<string>) => [...xs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
const paged = (names: string[], p: Page) => {
  const after = names.filter((n) => n > (p.last ?? ''));
  return p.n === undefined ? after : after.slice(0, p.n);
};
const copyRecord = (r: ManifestRecord): ManifestRecord => ({ ...r, content: Buffer.from(r.content), createdAt: new Date(r.createdAt) });

/**
 * The shared state and its rules: the parts below are views on it. All changes are synchronous, so each is atomic;
 * the GC transaction spans awaits, and the parts' calls wait for it to end (as SQLite callers wait for its lock).
 */
class Memory {
  s = emptyState();
  #exclusive: Promise<void> | undefined;

  async run<T>(fn: (s: State) => T): Promise<T> {
    while (this.#exclusive) await this.#exclusive;
    return fn(this.s);
  }

  /** Runs `fn` alone; its changes are undone when it throws. */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.#exclusive) await this.#exclusive;
    let end!: () => void;
    this.#exclusive = new Promise<void>((resolve) => (end = resolve));
    const before = copyState(this.s);
    try {
      return await fn();
    } catch (err) {
      this.s = before;
      throw err;
    } finally {
      this.#exclusive = undefined;
      end();
    }
  }

  link(repo: string, d: Digest): void {
    const set = this.s.links.get(repo) ?? new Set<Digest>();
    set.add(d);
    this.s.links.set(repo, set);
  }

  addRepo(repo: string, at: number): void {
    if (!this.s.repos.has(repo)) this.s.repos.set(repo, at);
  }

  lease(id: string, expiresAt: Date, d: Digest): void {
    const l = this.s.leases.get(id) ?? { expiresAt: 0, blobs: new Set<Digest>() };
    l.expiresAt = expiresAt.getTime();
    l.blobs.add(d);
    this.s.leases.set(id, l);
  }

  hasManifest(repo: string, d: Digest): boolean {
    return this.s.manifests.get(repo)?.has(d) ?? false;
  }

  dropManifest(repo: string, d: Digest): boolean {
    const tags = this.s.tags.get(repo);
    if (tags) for (const [name, target] of tags) if (target === d) tags.delete(name);
    return this.s.manifests.get(repo)?.delete(d) ?? false;
  }

  pruneLeases(now: Date): number {
    let n = 0;
    for (const [id, l] of this.s.leases) {
      if (l.expiresAt > now.getTime()) continue;
      this.s.leases.delete(id);
      n++;
    }
    return n;
  }

  leasedBlobs(now: Date): Set<Digest> {
    const out = new Set<Digest>();
    for (const l of this.s.leases.values()) if (l.expiresAt > now.getTime()) for (const d of l.blobs) out.add(d);
    return out;
  }

  /** Repositories in the catalog: those holding at least one manifest. */
  catalog(): string[] {
    return sorted([...this.s.repos.keys()].filter((r) => (this.s.manifests.get(r)?.size ?? 0) > 0));
  }
}

class MemoryRepositories implements RepositoryIndex {
  constructor(private readonly m: Memory) {}

  list(page: Page): Promise<string[]> {
    return this.m.run(() => paged(this.m.catalog(), page));
  }

  search(term: string, limit: number): Promise<string[]> {
    // SQL LIKE's matching: ASCII letters compare case-insensitively.
    const fold = (x: string) => x.replace(/[A-Z]/g, (ch) => ch.toLowerCase());
    return this.m.run(() => this.m.catalog().filter((r) => fold(r).includes(fold(term))).slice(0, limit));
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

  async beginCommit(d: Digest, leaseId: string, expiresAt: Date): Promise<void> {
    const deadline = Date.now() + GC_WAIT_MS;
    const tryLease = (s: State): boolean => {
      const since = s.deleting.get(d);
      if (since !== undefined) {
        if (Date.now() - since < GC_RESERVATION_STALE_MS) return false;
        s.deleting.delete(d);
      }
      this.m.lease(leaseId, expiresAt, d);
      return true;
    };
    for (;;) {
      if (await this.m.run(tryLease)) return;
      if (Date.now() > deadline) throw new WharfError('UNAVAILABLE', `blob ${d} is being garbage-collected; retry the upload`);
      await sleep(25);
    }
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
      this.m.lease(leaseId, expiresAt, d);
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
        throw new WharfError('FAILED_PRECONDITION', `manifest ${p.digest} refers to ${missing.length} unknown blob(s) or manifest(s) in ${repo}`, {
          details: { missing },
        });
      }
      const now = Date.now();
      const ms = s.manifests.get(repo) ?? new Map<Digest, StoredManifest>();
      s.manifests.set(repo, ms);
      // A manifest pushed again keeps its record (and age); its references are those of the latest push.
      const record: ManifestRecord = ms.get(p.digest)?.record ?? {
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
      ms.set(p.digest, { record, blobs: new Set(p.blobs), children: new Set(p.children) });
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
        .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0))
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
      s.uploads.set(u.id, { id: u.id, repo: u.repo, startedAt: new Date(u.startedAt), updatedAt: new Date(u.startedAt) });
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

/** The GC's queries and changes; run only inside MemoryGc.transaction. */
class MemoryGcTransaction implements GcTransaction {
  constructor(private readonly m: Memory) {}

  async tagged(): Promise<Array<{ repo: string; digest: Digest }>> {
    return [...this.m.s.tags].flatMap(([repo, tags]) => [...tags.values()].map((digest) => ({ repo, digest })));
  }

  async manifests(): Promise<GcManifest[]> {
    return [...this.m.s.manifests.values()].flatMap((ms) =>
      [...ms.values()].map(({ record: r }) => ({
        repo: r.repo,
        digest: r.digest,
        size: r.size,
        createdAt: new Date(r.createdAt),
        ...(r.subject !== undefined ? { subject: r.subject } : {}),
      })),
    );
  }

  async references(): Promise<GcReference[]> {
    const out: GcReference[] = [];
    for (const [repo, ms] of this.m.s.manifests) {
      for (const [parent, x] of ms) {
        for (const child of x.blobs) out.push({ repo, parent, child, kind: 'blob' });
        for (const child of x.children) out.push({ repo, parent, child, kind: 'manifest' });
      }
    }
    return out;
  }

  async blobs(): Promise<Array<{ digest: Digest; size: number }>> {
    return [...this.m.s.blobs].map(([digest, b]) => ({ digest, size: b.size }));
  }

  async leasedBlobs(now: Date): Promise<Digest[]> {
    return [...this.m.leasedBlobs(now)];
  }

  async deleteManifests(ms: Array<{ repo: string; digest: Digest }>): Promise<void> {
    for (const x of ms) this.m.dropManifest(x.repo, x.digest);
  }

  async deleteBlobs(digests: Digest[]): Promise<void> {
    for (const d of digests) {
      this.m.s.blobs.delete(d);
      for (const set of this.m.s.links.values()) set.delete(d);
    }
  }

  async reserve(digests: Digest[], since: Date, replace: boolean): Promise<Digest[]> {
    const out: Digest[] = [];
    for (const d of digests) {
      if (!replace && this.m.s.deleting.has(d)) continue;
      this.m.s.deleting.set(d, since.getTime());
      out.push(d);
    }
    return out;
  }

  async pruneLeases(now: Date): Promise<number> {
    return this.m.pruneLeases(now);
  }

  async dropStaleReservations(before: Date, keep: Date): Promise<void> {
    for (const [d, since] of this.m.s.deleting) if (since < before.getTime() && since !== keep.getTime()) this.m.s.deleting.delete(d);
  }

  async forgetEmptyRepositories(): Promise<void> {
    const s = this.m.s;
    const used = new Set<string>([...s.uploads.values()].map((u) => u.repo));
    for (const repo of s.repos.keys()) {
      if ((s.manifests.get(repo)?.size ?? 0) > 0 || (s.links.get(repo)?.size ?? 0) > 0 || used.has(repo)) continue;
      s.repos.delete(repo);
    }
  }
}

class MemoryGc implements GcIndex {
  readonly #tx: MemoryGcTransaction;

  constructor(private readonly m: Memory) {
    this.#tx = new MemoryGcTransaction(m);
  }

  transaction<T>(fn: (tx: GcTransaction) => Promise<T>): Promise<T> {
    return this.m.exclusive(() => fn(this.#tx));
  }

  release(digests: Digest[]): Promise<void> {
    return this.m.run((s) => {
      for (const d of digests) s.deleting.delete(d);
    });
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

  async close(): Promise<void> {}
}
