import type { Digest } from '../../digest/index.js';
import type { GcIndex, GcManifest, GcReference, GcTransaction } from './index.js';
import { dropManifest, pruneLeases, type SqliteConnection } from './sqlite-db.js';

/** The GC's plain queries and changes; every call runs inside SqliteGcIndex.transaction's IMMEDIATE transaction. */
class SqliteGcTransaction implements GcTransaction {
  constructor(private readonly c: SqliteConnection) {}

  async tagged(): Promise<Array<{ repo: string; digest: Digest }>> {
    return this.c.st('SELECT repo, digest FROM tags').all() as Array<{ repo: string; digest: Digest }>;
  }

  async manifests(): Promise<GcManifest[]> {
    const rows = this.c.st('SELECT repo, digest, size, created_at, subject FROM manifests').all() as Array<{
      repo: string;
      digest: Digest;
      size: number;
      created_at: number;
      subject: Digest | null;
    }>;
    return rows.map((r) => ({
      repo: r.repo,
      digest: r.digest,
      size: r.size,
      createdAt: new Date(r.created_at),
      ...(r.subject !== null ? { subject: r.subject } : {}),
    }));
  }

  async references(): Promise<GcReference[]> {
    return this.c.st('SELECT repo, parent, child, kind FROM manifest_refs').all() as GcReference[];
  }

  async blobs(): Promise<Array<{ digest: Digest; size: number }>> {
    return this.c.st('SELECT digest, size FROM blobs').all() as Array<{ digest: Digest; size: number }>;
  }

  async leasedBlobs(now: Date): Promise<Array<{ digest: Digest; expiresAt: Date }>> {
    const sql = `SELECT lb.digest, MAX(l.expires_at) AS expires_at FROM lease_blobs lb JOIN leases l ON l.id = lb.lease_id
                 WHERE l.expires_at > ? GROUP BY lb.digest`;
    const rows = this.c.st(sql).all(now.getTime()) as Array<{ digest: Digest; expires_at: number }>;
    return rows.map((r) => ({ digest: r.digest, expiresAt: new Date(r.expires_at) }));
  }

  async deleteManifests(refs: Array<{ repo: string; digest: Digest }>): Promise<void> {
    for (const m of refs) dropManifest(this.c, m.repo, m.digest);
  }

  async deleteBlobs(digests: Digest[]): Promise<void> {
    for (const d of digests) {
      this.c.st('DELETE FROM blobs WHERE digest = ?').run(d);
      this.c.st('DELETE FROM repo_blobs WHERE digest = ?').run(d);
    }
  }

  async reserve(digests: Digest[], since: Date, replace: boolean): Promise<Digest[]> {
    const st = this.c.st(`INSERT OR ${replace ? 'REPLACE' : 'IGNORE'} INTO gc_deleting (digest, since) VALUES (?, ?)`);
    return digests.filter((d) => st.run(d, since.getTime()).changes > 0);
  }

  async pruneLeases(now: Date): Promise<number> {
    return pruneLeases(this.c, now);
  }

  async dropStaleReservations(before: Date, keep: Date): Promise<void> {
    this.c.st('DELETE FROM gc_deleting WHERE since < ? AND since <> ?').run(before.getTime(), keep.getTime());
  }

  async forgetEmptyRepositories(): Promise<void> {
    this.c
      .st(
        `DELETE FROM repositories WHERE NOT EXISTS (SELECT 1 FROM manifests m WHERE m.repo = repositories.name)
           AND NOT EXISTS (SELECT 1 FROM repo_blobs l WHERE l.repo = repositories.name)
           AND NOT EXISTS (SELECT 1 FROM uploads u WHERE u.repo = repositories.name)`,
      )
      .run();
  }
}

export class SqliteGcIndex implements GcIndex {
  readonly #tx: SqliteGcTransaction;

  constructor(private readonly c: SqliteConnection) {
    this.#tx = new SqliteGcTransaction(c);
  }

  transaction<T>(fn: (tx: GcTransaction) => Promise<T>): Promise<T> {
    return this.c.exclusive(() => fn(this.#tx));
  }

  release(digests: Digest[]): Promise<void> {
    return this.c.write(() => {
      for (const d of digests) this.c.st('DELETE FROM gc_deleting WHERE digest = ?').run(d);
    });
  }
}
