import type { Digest } from '../../digest/index.js';
import type { GcIndex, GcManifest, GcReference, GcTransaction } from './index.js';
import type { PostgresConnection, Query } from './postgres-db.js';

/** Removes a manifest with its tags and references; true when it existed. Inside the caller's transaction. */
export async function dropManifest(q: Query, repo: string, d: string): Promise<boolean> {
  await q('DELETE FROM tags WHERE repo = $1 AND digest = $2', [repo, d]);
  await q('DELETE FROM manifest_refs WHERE repo = $1 AND parent = $2', [repo, d]);
  return (await q('DELETE FROM manifests WHERE repo = $1 AND digest = $2', [repo, d])).rowCount > 0;
}

/** Drops leases that expired at or before `now`; returns how many. Inside the caller's transaction. */
export async function pruneLeases(q: Query, now: Date): Promise<number> {
  await q('DELETE FROM lease_blobs WHERE lease_id IN (SELECT id FROM leases WHERE expires_at <= $1)', [now.getTime()]);
  return (await q('DELETE FROM leases WHERE expires_at <= $1', [now.getTime()])).rowCount;
}

/** The GC's queries and changes, on the connection of PostgresGcIndex.transaction (the GC lock held exclusive). */
class PostgresGcTransaction implements GcTransaction {
  constructor(private readonly q: Query) {}

  async tagged(): Promise<Array<{ repo: string; digest: Digest }>> {
    return (await this.q<{ repo: string; digest: Digest }>('SELECT repo, digest FROM tags')).rows;
  }

  async manifests(): Promise<GcManifest[]> {
    const rows = (
      await this.q<{ repo: string; digest: Digest; size: number; created_at: number; subject: Digest | null }>(
        'SELECT repo, digest, size, created_at, subject FROM manifests',
      )
    ).rows;
    return rows.map((r) => ({
      repo: r.repo,
      digest: r.digest,
      size: r.size,
      createdAt: new Date(r.created_at),
      ...(r.subject !== null ? { subject: r.subject } : {}),
    }));
  }

  async references(): Promise<GcReference[]> {
    return (await this.q<GcReference>('SELECT repo, parent, child, kind FROM manifest_refs')).rows;
  }

  async blobs(): Promise<Array<{ digest: Digest; size: number }>> {
    return (await this.q<{ digest: Digest; size: number }>('SELECT digest, size FROM blobs')).rows;
  }

  async leasedBlobs(now: Date): Promise<Array<{ digest: Digest; expiresAt: Date }>> {
    const sql = `SELECT lb.digest, MAX(l.expires_at) AS expires_at FROM lease_blobs lb JOIN leases l ON l.id = lb.lease_id
                 WHERE l.expires_at > $1 GROUP BY lb.digest`;
    const rows = (await this.q<{ digest: Digest; expires_at: number }>(sql, [now.getTime()])).rows;
    return rows.map((r) => ({ digest: r.digest, expiresAt: new Date(r.expires_at) }));
  }

  async deleteManifests(refs: Array<{ repo: string; digest: Digest }>): Promise<void> {
    for (const m of refs) await dropManifest(this.q, m.repo, m.digest);
  }

  async deleteBlobs(digests: Digest[]): Promise<void> {
    if (digests.length === 0) return;
    await this.q('DELETE FROM blobs WHERE digest = ANY($1::text[])', [digests]);
    await this.q('DELETE FROM repo_blobs WHERE digest = ANY($1::text[])', [digests]);
  }

  async reserve(digests: Digest[], since: Date, replace: boolean): Promise<Digest[]> {
    if (digests.length === 0) return [];
    const conflict = replace ? 'DO UPDATE SET since = excluded.since' : 'DO NOTHING';
    const r = await this.q<{ digest: Digest }>(
      `INSERT INTO gc_deleting (digest, since) SELECT d, $2 FROM unnest($1::text[]) AS t(d)
       ON CONFLICT (digest) ${conflict} RETURNING digest`,
      [digests, since.getTime()],
    );
    const reserved = new Set(r.rows.map((x) => x.digest));
    return digests.filter((d) => reserved.has(d));
  }

  pruneLeases(now: Date): Promise<number> {
    return pruneLeases(this.q, now);
  }

  async dropStaleReservations(before: Date, keep: Date): Promise<void> {
    await this.q('DELETE FROM gc_deleting WHERE since < $1 AND since <> $2', [before.getTime(), keep.getTime()]);
  }

  async forgetEmptyRepositories(): Promise<void> {
    await this.q(
      `DELETE FROM repositories WHERE NOT EXISTS (SELECT 1 FROM manifests m WHERE m.repo = repositories.name)
         AND NOT EXISTS (SELECT 1 FROM repo_blobs l WHERE l.repo = repositories.name)
         AND NOT EXISTS (SELECT 1 FROM uploads u WHERE u.repo = repositories.name)`,
    );
  }
}

export class PostgresGcIndex implements GcIndex {
  constructor(private readonly c: PostgresConnection) {}

  /** One transaction holding the GC lock exclusive: every replica's writers wait for it, readers do not. */
  transaction<T>(fn: (tx: GcTransaction) => Promise<T>): Promise<T> {
    return this.c.tx((q) => fn(new PostgresGcTransaction(q)), true);
  }

  release(digests: Digest[]): Promise<void> {
    return this.c.tx(async (q) => {
      if (digests.length > 0) await q('DELETE FROM gc_deleting WHERE digest = ANY($1::text[])', [digests]);
    });
  }
}
