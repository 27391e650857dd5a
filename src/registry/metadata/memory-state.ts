import type { Digest } from '../../digest/index.js';
import type { ManifestRecord, Page, UploadRecord } from './index.js';

/** A stored manifest with the references it was pushed with. Immutable: replaced, never edited. */
export interface StoredManifest {
  record: ManifestRecord;
  blobs: ReadonlySet<Digest>;
  children: ReadonlySet<Digest>;
}

/** Everything the index knows; leaf records are immutable, so a copy of the maps is a snapshot. */
export interface State {
  repos: Map<string, number>;
  blobs: Map<Digest, { size: number; createdAt: number }>;
  /** repo → linked digests. */
  links: Map<string, Set<Digest>>;
  manifests: Map<string, Map<Digest, StoredManifest>>;
  tags: Map<string, Map<string, Digest>>;
  uploads: Map<string, UploadRecord>;
  /** Lease id → its repository, expiry and the blobs it holds. */
  leases: Map<string, { repo: string; expiresAt: number; blobs: Set<Digest> }>;
  /** Deletion reservations of the GC: digest → since. */
  deleting: Map<Digest, number>;
}

function emptyState(): State {
  return {
    repos: new Map(),
    blobs: new Map(),
    links: new Map(),
    manifests: new Map(),
    tags: new Map(),
    uploads: new Map(),
    leases: new Map(),
    deleting: new Map(),
  };
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
    leases: new Map([...s.leases].map(([k, v]) => [k, { ...v, blobs: new Set(v.blobs) }])),
    deleting: new Map(s.deleting),
  };
}

export const sorted = (xs: Iterable<string>) => [...xs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
export const paged = (names: string[], p: Page) => {
  const after = names.filter((n) => n > (p.last ?? ''));
  return p.n === undefined ? after : after.slice(0, p.n);
};
export const copyRecord = (r: ManifestRecord): ManifestRecord => ({
  ...r,
  content: Buffer.from(r.content),
  createdAt: new Date(r.createdAt),
});

/**
 * The shared state and its rules: the parts below are views on it. All changes are synchronous, so each is atomic;
 * the GC transaction spans awaits, and the parts' calls wait for it to end (as SQLite callers wait for its lock).
 */
export class Memory {
  s = emptyState();
  #exclusive: Promise<void> | undefined;

  async run<T>(fn: (s: State) => T): Promise<T> {
    while (this.#exclusive !== undefined) await this.#exclusive;
    return fn(this.s);
  }

  /** Runs `fn` alone; its changes are undone when it throws. */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.#exclusive !== undefined) await this.#exclusive;
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

  lease(id: string, repo: string, expiresAt: Date, d: Digest): void {
    const l = this.s.leases.get(id) ?? { repo, expiresAt: 0, blobs: new Set<Digest>() };
    l.repo = repo;
    l.expiresAt = expiresAt.getTime();
    l.blobs.add(d);
    this.s.leases.set(id, l);
  }

  /** A manifest put in `repo` refers to `digests`: `repo`'s leases stop holding them (other repositories' stay). */
  endLeasesFor(repo: string, digests: Iterable<Digest>): void {
    const ds = [...digests];
    for (const [id, l] of this.s.leases) {
      if (l.repo !== repo) continue;
      for (const d of ds) l.blobs.delete(d);
      if (l.blobs.size === 0) this.s.leases.delete(id);
    }
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

  /** Blobs under an unexpired lease → the latest expiry (ms) among their leases. */
  leasedBlobs(now: Date): Map<Digest, number> {
    const out = new Map<Digest, number>();
    for (const l of this.s.leases.values()) {
      if (l.expiresAt <= now.getTime()) continue;
      for (const d of l.blobs) out.set(d, Math.max(out.get(d) ?? 0, l.expiresAt));
    }
    return out;
  }

  /** Repositories in the catalog: those holding at least one manifest. */
  catalog(): string[] {
    return sorted([...this.s.repos.keys()].filter((r) => (this.s.manifests.get(r)?.size ?? 0) > 0));
  }
}
