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
import { PostgresConnection, type PostgresIndexOptions, type Query } from './postgres-db.js';
import { PostgresGcIndex, dropManifest, pruneLeases } from './postgres-gc.js';
import { manifestRecord, uploadRecord, type ManifestRow, type UploadRow } from './sqlite-db.js';
import { leaseWhenGcAllows } from './commit-wait.js';

const INSERT_REPO = 'INSERT INTO repositories (name, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING';
const INSERT_LEASE =
  'INSERT INTO leases (id, expires_at, repo) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at, repo = excluded.repo';
const INSERT_LEASE_BLOB = 'INSERT INTO lease_blobs (lease_id, digest) VALUES ($1, $2) ON CONFLICT DO NOTHING';
const INSERT_LINK = 'INSERT INTO repo_blobs (repo, digest) VALUES ($1, $2) ON CONFLICT DO NOTHING';
const STAT_BLOB = 'SELECT size FROM blobs WHERE digest = $1';
const REPO_EXISTS = 'SELECT 1 FROM repositories WHERE name = $1';
/** Page sizes: no `n` is every row (LIMIT NULL is no limit in PostgreSQL). */
const limitOf = (p: Page) => p.n ?? null;
const names = (rows: Array<{ name: string }>) => rows.map((r) => r.name);

class PostgresRepositories implements RepositoryIndex {
  constructor(private readonly c: PostgresConnection) {}

  async list(page: Page): Promise<string[]> {
    const sql =
      'SELECT name FROM repositories r WHERE name > $1 AND EXISTS (SELECT 1 FROM manifests m WHERE m.repo = r.name) ORDER BY name LIMIT $2';
    return names((await this.c.q<{ name: string }>(sql, [page.last ?? '', limitOf(page)])).rows);
  }

  async search(term: string, limit: number): Promise<string[]> {
    // ILIKE on ASCII letters only, as SQLite's LIKE: lower-case both sides under the "C" collation.
    const sql = `SELECT name FROM repositories r WHERE lower(name) LIKE lower($1) ESCAPE '\\'
                 AND EXISTS (SELECT 1 FROM manifests m WHERE m.repo = r.name) ORDER BY name LIMIT $2`;
    const like = `%${term.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
    return names((await this.c.q<{ name: string }>(sql, [like, limit])).rows);
  }

  async exists(repo: string): Promise<boolean> {
    return (await this.c.q(REPO_EXISTS, [repo])).rowCount > 0;
  }

  delete(repo: string): Promise<{ manifests: number; tags: number } | undefined> {
    return this.c.tx(async (q) => {
      const exists = (await q(REPO_EXISTS, [repo])).rowCount > 0;
      const manifests = (await q('DELETE FROM manifests WHERE repo = $1', [repo])).rowCount;
      const tags = (await q('DELETE FROM tags WHERE repo = $1', [repo])).rowCount;
      await q('DELETE FROM manifest_refs WHERE repo = $1', [repo]);
      const links = (await q('DELETE FROM repo_blobs WHERE repo = $1', [repo])).rowCount;
      const uploads = (await q('DELETE FROM uploads WHERE repo = $1', [repo])).rowCount;
      await q('DELETE FROM repositories WHERE name = $1', [repo]);
      if (!exists && manifests === 0 && links === 0 && uploads === 0) return undefined;
      return { manifests, tags };
    });
  }
}

class PostgresBlobs implements BlobIndex {
  constructor(private readonly c: PostgresConnection) {}

  async stat(d: Digest): Promise<{ size: number } | undefined> {
    return (await this.c.q<{ size: number }>(STAT_BLOB, [d])).rows[0];
  }

  async linked(repo: string, d: Digest): Promise<{ size: number } | undefined> {
    const sql =
      'SELECT b.size FROM repo_blobs l JOIN blobs b ON b.digest = l.digest WHERE l.repo = $1 AND l.digest = $2';
    return (await this.c.q<{ size: number }>(sql, [repo, d])).rows[0];
  }

  async reposLinking(d: Digest, limit: number): Promise<string[]> {
    const sql = 'SELECT repo FROM repo_blobs WHERE digest = $1 ORDER BY repo LIMIT $2';
    return (await this.c.q<{ repo: string }>(sql, [d, limit])).rows.map((r) => r.repo);
  }

  async beginCommit(repo: string, d: Digest, leaseId: string, expiresAt: Date): Promise<void> {
    // Under the shared GC lock: a GC's reservation is either already visible here, or made after this lease is.
    const tryLease = () =>
      this.c.tx(async (q) => {
        const row = (await q<{ since: number }>('SELECT since FROM gc_deleting WHERE digest = $1', [d])).rows[0];
        if (row) {
          if (Date.now() - row.since < GC_RESERVATION_STALE_MS) return false;
          await q('DELETE FROM gc_deleting WHERE digest = $1', [d]);
        }
        await q(INSERT_LEASE, [leaseId, expiresAt.getTime(), repo]);
        await q(INSERT_LEASE_BLOB, [leaseId, d]);
        return true;
      });
    await leaseWhenGcAllows(d, tryLease);
  }

  finishCommit(repo: string, d: Digest, size: number): Promise<void> {
    return this.c.tx(async (q) => {
      await q('INSERT INTO blobs (digest, size, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [
        d,
        size,
        Date.now(),
      ]);
      await q(INSERT_LINK, [repo, d]);
      await q(INSERT_REPO, [repo, Date.now()]);
    });
  }

  link(repo: string, d: Digest, leaseId: string, expiresAt: Date): Promise<boolean> {
    return this.c.tx(async (q) => {
      // FOR SHARE: the row cannot be deleted (a blob DELETE elsewhere) before this link is committed.
      if ((await q(`${STAT_BLOB} FOR SHARE`, [d])).rowCount === 0) return false;
      await q(INSERT_LEASE, [leaseId, expiresAt.getTime(), repo]);
      await q(INSERT_LEASE_BLOB, [leaseId, d]);
      await q(INSERT_LINK, [repo, d]);
      await q(INSERT_REPO, [repo, Date.now()]);
      return true;
    });
  }

  async unlink(repo: string, d: Digest): Promise<boolean> {
    return this.c.tx(
      async (q) => (await q('DELETE FROM repo_blobs WHERE repo = $1 AND digest = $2', [repo, d])).rowCount > 0,
    );
  }

  async all(): Promise<Array<{ digest: Digest; size: number }>> {
    return (await this.c.q<{ digest: Digest; size: number }>('SELECT digest, size FROM blobs')).rows;
  }
}

/**
 * A manifest GET by tag is `tags.resolve` then `manifests.get` (src/registry/server/handlers/manifests.ts): two round
 * trips to the database. resolve reads the tag joined with its manifest in one query and hands the row over here;
 * the get that follows at once takes it instead of asking again. That answer is the one snapshot the join read, so it
 * is what the two reads would have returned at that moment. A row is handed over only briefly (HANDOFF_MS), once,
 * and only while this process has begun no write since (any local delete or GC makes the get ask the database); a
 * row nobody takes ages out, and the map stays small.
 */
class ManifestHandoff {
  static readonly HANDOFF_MS = 100;
  static readonly MAX = 256;
  readonly #rows = new Map<string, { row: ManifestRow; at: number; writes: number }>();

  constructor(private readonly c: PostgresConnection) {}

  give(row: ManifestRow): void {
    if (this.#rows.size >= ManifestHandoff.MAX) this.#rows.delete(this.#rows.keys().next().value!);
    this.#rows.set(`${row.repo}\n${row.digest}`, { row, at: performance.now(), writes: this.c.writes });
  }

  take(repo: string, d: Digest): ManifestRow | undefined {
    const key = `${repo}\n${d}`;
    const e = this.#rows.get(key);
    if (e === undefined) return undefined;
    this.#rows.delete(key);
    return e.writes === this.c.writes && performance.now() - e.at <= ManifestHandoff.HANDOFF_MS ? e.row : undefined;
  }
}

class PostgresManifests implements ManifestIndex {
  constructor(
    private readonly c: PostgresConnection,
    private readonly handoff: ManifestHandoff,
  ) {}

  put(repo: string, m: ManifestPut): Promise<void> {
    const blobs = [...new Set(m.blobs)];
    const children = [...new Set(m.children)];
    return this.c.tx(async (q) => {
      // FOR SHARE keeps what the manifest refers to from being unlinked or deleted until this transaction commits.
      const linked = await q<{ digest: string }>(
        'SELECT digest FROM repo_blobs WHERE repo = $1 AND digest = ANY($2::text[]) FOR SHARE',
        [repo, blobs],
      );
      const manifests = await q<{ digest: string }>(
        'SELECT digest FROM manifests WHERE repo = $1 AND digest = ANY($2::text[]) FOR SHARE',
        [repo, [...blobs, ...children]],
      );
      const haveBlob = new Set([...linked.rows, ...manifests.rows].map((r) => r.digest));
      const haveManifest = new Set(manifests.rows.map((r) => r.digest));
      const missing = [...blobs.filter((b) => !haveBlob.has(b)), ...children.filter((ch) => !haveManifest.has(ch))];
      if (missing.length > 0) {
        throw new WharfError(
          'FAILED_PRECONDITION',
          `manifest ${m.digest} refers to ${missing.length} unknown blob(s) or manifest(s) in ${repo}`,
          { details: { missing } },
        );
      }
      const now = Date.now();
      await q(
        `INSERT INTO manifests (repo, digest, media_type, size, content, artifact_type, subject, annotations, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (repo, digest) DO NOTHING`,
        [
          repo,
          m.digest,
          m.mediaType,
          m.content.length,
          m.content,
          m.artifactType ?? null,
          m.subject ?? null,
          m.annotations ? JSON.stringify(m.annotations) : null,
          now,
        ],
      );
      await q('DELETE FROM manifest_refs WHERE repo = $1 AND parent = $2', [repo, m.digest]);
      const kinds = [...blobs.map(() => 'blob'), ...children.map(() => 'manifest')];
      if (kinds.length > 0)
        await q(
          `INSERT INTO manifest_refs (repo, parent, child, kind)
           SELECT $1, $2, c, k FROM unnest($3::text[], $4::text[]) AS t(c, k) ON CONFLICT DO NOTHING`,
          [repo, m.digest, [...blobs, ...children], kinds],
        );
      await endLeasesFor(q, repo, blobs);
      await q(INSERT_REPO, [repo, now]);
      if (m.tag !== undefined)
        await q(
          `INSERT INTO tags (repo, name, digest, updated_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (repo, name) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at`,
          [repo, m.tag, m.digest, now],
        );
    });
  }

  async get(repo: string, d: Digest): Promise<ManifestRecord | undefined> {
    const row =
      this.handoff.take(repo, d) ??
      (await this.c.q<ManifestRow>('SELECT * FROM manifests WHERE repo = $1 AND digest = $2', [repo, d])).rows[0];
    return row ? manifestRecord(row) : undefined;
  }

  delete(repo: string, d: Digest): Promise<boolean> {
    return this.c.tx((q) => dropManifest(q, repo, d));
  }

  async referrers(repo: string, subject: Digest, artifactType?: string): Promise<ManifestRecord[]> {
    const sql = 'SELECT * FROM manifests WHERE repo = $1 AND subject = $2 ORDER BY created_at, digest';
    const rows = (await this.c.q<ManifestRow>(sql, [repo, subject])).rows.map(manifestRecord);
    return artifactType === undefined ? rows : rows.filter((r) => r.artifactType === artifactType);
  }
}

/** As the SQLite backend's endLeasesFor: ends `repo`'s leases' hold on `digests`, drops leases left holding nothing. */
async function endLeasesFor(q: Query, repo: string, digests: string[]): Promise<void> {
  if (digests.length === 0) return;
  const dropped = await q(
    'DELETE FROM lease_blobs WHERE digest = ANY($1::text[]) AND lease_id IN (SELECT id FROM leases WHERE repo = $2)',
    [digests, repo],
  );
  if (dropped.rowCount > 0)
    await q(
      'DELETE FROM leases WHERE repo = $1 AND NOT EXISTS (SELECT 1 FROM lease_blobs lb WHERE lb.lease_id = leases.id)',
      [repo],
    );
}

class PostgresTags implements TagIndex {
  constructor(
    private readonly c: PostgresConnection,
    private readonly handoff: ManifestHandoff,
  ) {}

  /** With the tag's manifest row, for the manifests.get that follows (ManifestHandoff). */
  async resolve(repo: string, tag: string): Promise<Digest | undefined> {
    const sql = `SELECT t.digest AS tag_digest, m.* FROM tags t
                 LEFT JOIN manifests m ON m.repo = t.repo AND m.digest = t.digest WHERE t.repo = $1 AND t.name = $2`;
    const r = (await this.c.q<ManifestRow & { tag_digest: Digest }>(sql, [repo, tag])).rows[0];
    if (r === undefined) return undefined;
    const { tag_digest, ...row } = r;
    if (row.digest !== null) this.handoff.give(row);
    return tag_digest;
  }

  delete(repo: string, tag: string): Promise<boolean> {
    return this.c.tx(
      async (q) => (await q('DELETE FROM tags WHERE repo = $1 AND name = $2', [repo, tag])).rowCount > 0,
    );
  }

  async list(repo: string, page: Page): Promise<string[]> {
    const sql = 'SELECT name FROM tags WHERE repo = $1 AND name > $2 ORDER BY name LIMIT $3';
    return names((await this.c.q<{ name: string }>(sql, [repo, page.last ?? '', limitOf(page)])).rows);
  }

  async of(repo: string, d: Digest): Promise<string[]> {
    const sql = 'SELECT name FROM tags WHERE repo = $1 AND digest = $2 ORDER BY name';
    return names((await this.c.q<{ name: string }>(sql, [repo, d])).rows);
  }
}

/** Upload sessions: every replica sees each one, so a session continues wherever the client's next request lands. */
class PostgresUploads implements UploadIndex {
  constructor(private readonly c: PostgresConnection) {}

  async create(u: { id: string; repo: string; startedAt: Date }): Promise<void> {
    const sql = 'INSERT INTO uploads (id, repo, started_at, updated_at) VALUES ($1, $2, $3, $3)';
    await this.c.q(sql, [u.id, u.repo, u.startedAt.getTime()]);
  }

  async get(id: string): Promise<UploadRecord | undefined> {
    const r = (await this.c.q<UploadRow>('SELECT * FROM uploads WHERE id = $1', [id])).rows[0];
    return r ? uploadRecord(r) : undefined;
  }

  async touch(id: string, at: Date, hashed?: { size: number; digest: Digest }): Promise<void> {
    if (hashed)
      await this.c.q('UPDATE uploads SET updated_at = $1, hashed_size = $2, hashed_digest = $3 WHERE id = $4', [
        at.getTime(),
        hashed.size,
        hashed.digest,
        id,
      ]);
    else await this.c.q('UPDATE uploads SET updated_at = $1 WHERE id = $2', [at.getTime(), id]);
  }

  async delete(id: string): Promise<void> {
    await this.c.q('DELETE FROM uploads WHERE id = $1', [id]);
  }

  async idleSince(updatedBefore: Date): Promise<UploadRecord[]> {
    const sql = 'SELECT * FROM uploads WHERE updated_at < $1 ORDER BY updated_at';
    return (await this.c.q<UploadRow>(sql, [updatedBefore.getTime()])).rows.map(uploadRecord);
  }
}

class PostgresLeases implements LeaseIndex {
  constructor(private readonly c: PostgresConnection) {}

  delete(id: string): Promise<void> {
    return this.c.tx(async (q) => {
      await q('DELETE FROM lease_blobs WHERE lease_id = $1', [id]);
      await q('DELETE FROM leases WHERE id = $1', [id]);
    });
  }

  prune(now: Date): Promise<number> {
    return this.c.tx((q) => pruneLeases(q, now));
  }
}

/**
 * RegistryIndex on PostgreSQL: any number of server replicas (and `registry gc` runs) share one database. Writes that
 * change several rows are one transaction each; every write holds the GC lock shared, the GC's index transaction holds
 * it exclusive (postgres-db.ts), which is the whole of the coordination between replicas.
 */
export class PostgresRegistryIndex implements RegistryIndex {
  readonly repositories: RepositoryIndex;
  readonly blobs: BlobIndex;
  readonly manifests: ManifestIndex;
  readonly tags: TagIndex;
  readonly uploads: UploadIndex;
  readonly leases: LeaseIndex;
  readonly gc: GcIndex;

  private constructor(readonly connection: PostgresConnection) {
    this.repositories = new PostgresRepositories(connection);
    this.blobs = new PostgresBlobs(connection);
    const handoff = new ManifestHandoff(connection);
    this.manifests = new PostgresManifests(connection, handoff);
    this.tags = new PostgresTags(connection, handoff);
    this.uploads = new PostgresUploads(connection);
    this.leases = new PostgresLeases(connection);
    this.gc = new PostgresGcIndex(connection);
  }

  /** Connects, then migrates the schema (or, with `migrate: false`, checks it is exactly this Wharf's). */
  static async open(opts: PostgresIndexOptions): Promise<PostgresRegistryIndex> {
    return new PostgresRegistryIndex(await PostgresConnection.open(opts));
  }

  async ping(): Promise<void> {
    await this.connection.q('SELECT 1');
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}
