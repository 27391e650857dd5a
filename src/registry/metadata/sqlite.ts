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
import {
  SqliteConnection,
  dropManifest,
  endLeasesFor,
  manifestRecord,
  pageLimit,
  pruneLeases,
  uploadRecord,
  type ManifestRow,
  type UploadRow,
} from './sqlite-db.js';
import { SqliteGcIndex } from './sqlite-gc.js';
import { leaseWhenGcAllows } from './commit-wait.js';

const INSERT_REPO = 'INSERT OR IGNORE INTO repositories (name, created_at) VALUES (?, ?)';
const INSERT_LEASE =
  'INSERT INTO leases (id, expires_at, repo) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at, repo = excluded.repo';
const INSERT_LEASE_BLOB = 'INSERT OR IGNORE INTO lease_blobs (lease_id, digest) VALUES (?, ?)';
const INSERT_LINK = 'INSERT OR IGNORE INTO repo_blobs (repo, digest) VALUES (?, ?)';
const STAT_BLOB = 'SELECT size FROM blobs WHERE digest = ?';
const HAS_MANIFEST = 'SELECT 1 FROM manifests WHERE repo = ? AND digest = ?';
const REPO_EXISTS = 'SELECT 1 FROM repositories WHERE name = ?';

class SqliteRepositories implements RepositoryIndex {
  constructor(private readonly c: SqliteConnection) {}

  list(page: Page): Promise<string[]> {
    const sql =
      'SELECT name FROM repositories r WHERE name > ? AND EXISTS (SELECT 1 FROM manifests m WHERE m.repo = r.name) ORDER BY name LIMIT ?';
    return this.c.run(() =>
      (this.c.st(sql).all(page.last ?? '', pageLimit(page)) as Array<{ name: string }>).map((r) => r.name),
    );
  }

  search(term: string, limit: number): Promise<string[]> {
    const sql =
      "SELECT name FROM repositories r WHERE name LIKE ? ESCAPE '\\' AND EXISTS (SELECT 1 FROM manifests m WHERE m.repo = r.name) ORDER BY name LIMIT ?";
    const like = `%${term.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
    return this.c.run(() => (this.c.st(sql).all(like, limit) as Array<{ name: string }>).map((r) => r.name));
  }

  exists(repo: string): Promise<boolean> {
    return this.c.run(() => this.c.st(REPO_EXISTS).get(repo) !== undefined);
  }

  delete(repo: string): Promise<{ manifests: number; tags: number } | undefined> {
    return this.c.write(() => {
      const exists = this.c.st(REPO_EXISTS).get(repo) !== undefined;
      const manifests = this.c.st('DELETE FROM manifests WHERE repo = ?').run(repo).changes;
      const tags = this.c.st('DELETE FROM tags WHERE repo = ?').run(repo).changes;
      this.c.st('DELETE FROM manifest_refs WHERE repo = ?').run(repo);
      const links = this.c.st('DELETE FROM repo_blobs WHERE repo = ?').run(repo).changes;
      const uploads = this.c.st('DELETE FROM uploads WHERE repo = ?').run(repo).changes;
      this.c.st('DELETE FROM repositories WHERE name = ?').run(repo);
      if (!exists && manifests === 0 && links === 0 && uploads === 0) return undefined;
      return { manifests, tags };
    });
  }
}

class SqliteBlobs implements BlobIndex {
  constructor(private readonly c: SqliteConnection) {}

  stat(d: Digest): Promise<{ size: number } | undefined> {
    return this.c.run(() => this.c.st(STAT_BLOB).get(d) as { size: number } | undefined);
  }

  linked(repo: string, d: Digest): Promise<{ size: number } | undefined> {
    const sql = 'SELECT b.size FROM repo_blobs l JOIN blobs b ON b.digest = l.digest WHERE l.repo = ? AND l.digest = ?';
    return this.c.run(() => this.c.st(sql).get(repo, d) as { size: number } | undefined);
  }

  reposLinking(d: Digest, limit: number): Promise<string[]> {
    const sql = 'SELECT repo FROM repo_blobs WHERE digest = ? ORDER BY repo LIMIT ?';
    return this.c.run(() => (this.c.st(sql).all(d, limit) as Array<{ repo: string }>).map((r) => r.repo));
  }

  async beginCommit(repo: string, d: Digest, leaseId: string, expiresAt: Date): Promise<void> {
    const tryLease = (): boolean => {
      const row = this.c.st('SELECT since FROM gc_deleting WHERE digest = ?').get(d) as { since: number } | undefined;
      if (row) {
        if (Date.now() - row.since < GC_RESERVATION_STALE_MS) return false;
        this.c.st('DELETE FROM gc_deleting WHERE digest = ?').run(d);
      }
      this.c.st(INSERT_LEASE).run(leaseId, expiresAt.getTime(), repo);
      this.c.st(INSERT_LEASE_BLOB).run(leaseId, d);
      return true;
    };
    await leaseWhenGcAllows(d, () => this.c.write(tryLease));
  }

  finishCommit(repo: string, d: Digest, size: number): Promise<void> {
    return this.c.write(() => {
      this.c.st('INSERT OR IGNORE INTO blobs (digest, size, created_at) VALUES (?, ?, ?)').run(d, size, Date.now());
      this.c.st(INSERT_LINK).run(repo, d);
      this.c.st(INSERT_REPO).run(repo, Date.now());
    });
  }

  link(repo: string, d: Digest, leaseId: string, expiresAt: Date): Promise<boolean> {
    return this.c.write((): boolean => {
      if (this.c.st(STAT_BLOB).get(d) === undefined) return false;
      this.c.st(INSERT_LEASE).run(leaseId, expiresAt.getTime(), repo);
      this.c.st(INSERT_LEASE_BLOB).run(leaseId, d);
      this.c.st(INSERT_LINK).run(repo, d);
      this.c.st(INSERT_REPO).run(repo, Date.now());
      return true;
    });
  }

  unlink(repo: string, d: Digest): Promise<boolean> {
    return this.c.run(() => this.c.st('DELETE FROM repo_blobs WHERE repo = ? AND digest = ?').run(repo, d).changes > 0);
  }

  all(): Promise<Array<{ digest: Digest; size: number }>> {
    return this.c.run(
      () => this.c.st('SELECT digest, size FROM blobs').all() as Array<{ digest: Digest; size: number }>,
    );
  }
}

class SqliteManifests implements ManifestIndex {
  constructor(private readonly c: SqliteConnection) {}

  put(repo: string, m: ManifestPut): Promise<void> {
    return this.c.write(() => {
      const missing: string[] = [];
      for (const b of new Set(m.blobs)) {
        const linked = this.c.st('SELECT 1 FROM repo_blobs WHERE repo = ? AND digest = ?').get(repo, b) !== undefined;
        if (!linked && this.c.st(HAS_MANIFEST).get(repo, b) === undefined) missing.push(b);
      }
      for (const ch of new Set(m.children)) if (this.c.st(HAS_MANIFEST).get(repo, ch) === undefined) missing.push(ch);
      if (missing.length > 0) {
        throw new WharfError(
          'FAILED_PRECONDITION',
          `manifest ${m.digest} refers to ${missing.length} unknown blob(s) or manifest(s) in ${repo}`,
          {
            details: { missing },
          },
        );
      }
      const now = Date.now();
      this.c
        .st(
          `INSERT INTO manifests (repo, digest, media_type, size, content, artifact_type, subject, annotations, created_at)
           VALUES (@repo, @digest, @mediaType, @size, @content, @artifactType, @subject, @annotations, @createdAt)
           ON CONFLICT (repo, digest) DO NOTHING`,
        )
        .run({
          repo,
          digest: m.digest,
          mediaType: m.mediaType,
          size: m.content.length,
          content: m.content,
          artifactType: m.artifactType ?? null,
          subject: m.subject ?? null,
          annotations: m.annotations ? JSON.stringify(m.annotations) : null,
          createdAt: now,
        });
      this.c.st('DELETE FROM manifest_refs WHERE repo = ? AND parent = ?').run(repo, m.digest);
      const ref = this.c.st('INSERT OR IGNORE INTO manifest_refs (repo, parent, child, kind) VALUES (?, ?, ?, ?)');
      for (const b of new Set(m.blobs)) ref.run(repo, m.digest, b, 'blob');
      for (const ch of new Set(m.children)) ref.run(repo, m.digest, ch, 'manifest');
      endLeasesFor(this.c, repo, new Set(m.blobs));
      this.c.st(INSERT_REPO).run(repo, now);
      if (m.tag !== undefined) {
        this.c
          .st(
            `INSERT INTO tags (repo, name, digest, updated_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (repo, name) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at`,
          )
          .run(repo, m.tag, m.digest, now);
      }
    });
  }

  get(repo: string, d: Digest): Promise<ManifestRecord | undefined> {
    return this.c.run(() => {
      const row = this.c.st('SELECT * FROM manifests WHERE repo = ? AND digest = ?').get(repo, d) as
        | ManifestRow
        | undefined;
      return row ? manifestRecord(row) : undefined;
    });
  }

  delete(repo: string, d: Digest): Promise<boolean> {
    return this.c.write(() => dropManifest(this.c, repo, d));
  }

  async referrers(repo: string, subject: Digest, artifactType?: string): Promise<ManifestRecord[]> {
    const sql = 'SELECT * FROM manifests WHERE repo = ? AND subject = ? ORDER BY created_at, digest';
    const rows = await this.c.run(() => (this.c.st(sql).all(repo, subject) as ManifestRow[]).map(manifestRecord));
    return artifactType === undefined ? rows : rows.filter((r) => r.artifactType === artifactType);
  }
}

class SqliteTags implements TagIndex {
  constructor(private readonly c: SqliteConnection) {}

  resolve(repo: string, tag: string): Promise<Digest | undefined> {
    return this.c.run(
      () =>
        (
          this.c.st('SELECT digest FROM tags WHERE repo = ? AND name = ?').get(repo, tag) as
            | { digest: Digest }
            | undefined
        )?.digest,
    );
  }

  delete(repo: string, tag: string): Promise<boolean> {
    return this.c.run(() => this.c.st('DELETE FROM tags WHERE repo = ? AND name = ?').run(repo, tag).changes > 0);
  }

  list(repo: string, page: Page): Promise<string[]> {
    const sql = 'SELECT name FROM tags WHERE repo = ? AND name > ? ORDER BY name LIMIT ?';
    return this.c.run(() =>
      (this.c.st(sql).all(repo, page.last ?? '', pageLimit(page)) as Array<{ name: string }>).map((r) => r.name),
    );
  }

  of(repo: string, d: Digest): Promise<string[]> {
    const sql = 'SELECT name FROM tags WHERE repo = ? AND digest = ? ORDER BY name';
    return this.c.run(() => (this.c.st(sql).all(repo, d) as Array<{ name: string }>).map((r) => r.name));
  }
}

class SqliteUploads implements UploadIndex {
  constructor(private readonly c: SqliteConnection) {}

  create(u: { id: string; repo: string; startedAt: Date }): Promise<void> {
    const sql = 'INSERT INTO uploads (id, repo, started_at, updated_at) VALUES (?, ?, ?, ?)';
    return this.c.run(() => void this.c.st(sql).run(u.id, u.repo, u.startedAt.getTime(), u.startedAt.getTime()));
  }

  get(id: string): Promise<UploadRecord | undefined> {
    return this.c.run(() => {
      const r = this.c.st('SELECT * FROM uploads WHERE id = ?').get(id) as UploadRow | undefined;
      return r ? uploadRecord(r) : undefined;
    });
  }

  touch(id: string, at: Date, hashed?: { size: number; digest: Digest }): Promise<void> {
    return this.c.run(() => {
      if (hashed)
        this.c
          .st('UPDATE uploads SET updated_at = ?, hashed_size = ?, hashed_digest = ? WHERE id = ?')
          .run(at.getTime(), hashed.size, hashed.digest, id);
      else this.c.st('UPDATE uploads SET updated_at = ? WHERE id = ?').run(at.getTime(), id);
    });
  }

  delete(id: string): Promise<void> {
    return this.c.run(() => void this.c.st('DELETE FROM uploads WHERE id = ?').run(id));
  }

  idleSince(updatedBefore: Date): Promise<UploadRecord[]> {
    const sql = 'SELECT * FROM uploads WHERE updated_at < ? ORDER BY updated_at';
    return this.c.run(() => (this.c.st(sql).all(updatedBefore.getTime()) as UploadRow[]).map(uploadRecord));
  }
}

class SqliteLeases implements LeaseIndex {
  constructor(private readonly c: SqliteConnection) {}

  delete(id: string): Promise<void> {
    return this.c.write(() => {
      this.c.st('DELETE FROM lease_blobs WHERE lease_id = ?').run(id);
      this.c.st('DELETE FROM leases WHERE id = ?').run(id);
    });
  }

  prune(now: Date): Promise<number> {
    return this.c.write(() => pruneLeases(this.c, now));
  }
}

/** RegistryIndex on one SQLite file (WAL, busy timeout): a server and a `registry gc` process may share it. */
export class SqliteRegistryIndex implements RegistryIndex {
  readonly #c: SqliteConnection;
  readonly repositories: RepositoryIndex;
  readonly blobs: BlobIndex;
  readonly manifests: ManifestIndex;
  readonly tags: TagIndex;
  readonly uploads: UploadIndex;
  readonly leases: LeaseIndex;
  readonly gc: GcIndex;

  constructor(file: string) {
    const c = new SqliteConnection(file);
    this.#c = c;
    this.repositories = new SqliteRepositories(c);
    this.blobs = new SqliteBlobs(c);
    this.manifests = new SqliteManifests(c);
    this.tags = new SqliteTags(c);
    this.uploads = new SqliteUploads(c);
    this.leases = new SqliteLeases(c);
    this.gc = new SqliteGcIndex(c);
  }

  async ping(): Promise<void> {
    await this.#c.run(() => this.#c.st('SELECT 1').get());
  }

  async close(): Promise<void> {
    await this.#c.run(() => this.#c.close());
  }
}
