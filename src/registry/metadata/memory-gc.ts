import type { Digest } from '../../digest/index.js';
import type { GcIndex, GcManifest, GcReference, GcTransaction } from './index.js';
import type { Memory } from './memory-state.js';

/** The GC's queries and changes; run only inside MemoryGc.transaction. */
class MemoryGcTransaction implements GcTransaction {
  constructor(private readonly m: Memory) {}

  async tagged(): Promise<Array<{ repo: string; digest: Digest }>> {
    return [...this.m.s.tags].flatMap(([repo, tags]) => [...tags.values()].map((digest) => ({ repo, digest })));
  }

  async manifests(): Promise<GcManifest[]> {
    return [...this.m.s.manifests.values()].flatMap((byDigest) =>
      [...byDigest.values()].map(({ record: r }) => ({
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
    for (const [repo, byDigest] of this.m.s.manifests) {
      for (const [parent, x] of byDigest) {
        for (const child of x.blobs) out.push({ repo, parent, child, kind: 'blob' });
        for (const child of x.children) out.push({ repo, parent, child, kind: 'manifest' });
      }
    }
    return out;
  }

  async blobs(): Promise<Array<{ digest: Digest; size: number }>> {
    return [...this.m.s.blobs].map(([digest, b]) => ({ digest, size: b.size }));
  }

  async leasedBlobs(now: Date): Promise<Array<{ digest: Digest; expiresAt: Date }>> {
    return [...this.m.leasedBlobs(now)].map(([digest, at]) => ({ digest, expiresAt: new Date(at) }));
  }

  async deleteManifests(refs: Array<{ repo: string; digest: Digest }>): Promise<void> {
    for (const x of refs) this.m.dropManifest(x.repo, x.digest);
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
    for (const [d, since] of this.m.s.deleting)
      if (since < before.getTime() && since !== keep.getTime()) this.m.s.deleting.delete(d);
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

export class MemoryGc implements GcIndex {
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
