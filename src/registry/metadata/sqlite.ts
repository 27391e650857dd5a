import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { WharfError } from '../../errors/index.js';
import { betterSqliteBinding } from '../../util/index.js';
import type { Digest } from '../../digest/index.js';
import type {
  GcCollected,
  GcOptions,
  ManifestPut,
  ManifestRecord,
  Page,
  RegistryIndex,
  UploadRecord,
} from './index.js';

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS repositories (name TEXT PRIMARY KEY, created_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS blobs (digest TEXT PRIMARY KEY, size INTEGER NOT NULL, created_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS repo_blobs (repo TEXT NOT NULL, digest TEXT NOT NULL, PRIMARY KEY (repo, digest)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS repo_blobs_digest ON repo_blobs (digest);
CREATE TABLE IF NOT EXISTS manifests (
  repo TEXT NOT NULL, digest TEXT NOT NULL, media_type TEXT NOT NULL, size INTEGER NOT NULL, content BLOB NOT NULL,
  artifact_type TEXT, subject TEXT, annotations TEXT, created_at INTEGER NOT NULL,
  PRIMARY KEY (repo, digest));
CREATE INDEX IF NOT EXISTS manifests_subject ON manifests (repo, subject) WHERE subject IS NOT NULL;
CREATE TABLE IF NOT EXISTS manifest_refs (
  repo TEXT NOT NULL, parent TEXT NOT NULL, child TEXT NOT NULL, kind TEXT NOT NULL,
  PRIMARY KEY (repo, parent, child, kind)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS manifest_refs_child ON manifest_refs (child);
CREATE TABLE IF NOT EXISTS tags (repo TEXT NOT NULL, name TEXT NOT NULL, digest TEXT NOT NULL, updated_at INTEGER NOT NULL,
  PRIMARY KEY (repo, name)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tags_digest ON tags (repo, digest);
CREATE TABLE IF NOT EXISTS uploads (id TEXT PRIMARY KEY, repo TEXT NOT NULL, started_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
  hashed_size INTEGER, hashed_digest TEXT);
CREATE TABLE IF NOT EXISTS leases (id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS lease_blobs (lease_id TEXT NOT NULL, digest TEXT NOT NULL, PRIMARY KEY (lease_id, digest)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS lease_blobs_digest ON lease_blobs (digest);
CREATE TABLE IF NOT EXISTS gc_deleting (digest TEXT PRIMARY KEY, since INTEGER NOT NULL) WITHOUT ROWID;
`;

/** How long an upload waits for a GC that is deleting the same digest before giving up. */
const GC_WAIT_MS = 60_000;
/** A deletion reservation older than this belongs to a GC that died; the next GC or commit may clear it. */
const GC_STALE_MS = 10 * 60_000;

interface ManifestRow {
  repo: string;
  digest: string;
  media_type: string;
  size: number;
  content: Buffer;
  artifact_type: string | null;
  subject: string | null;
  annotations: string | null;
  created_at: number;
}

function toRecord(r: ManifestRow): ManifestRecord {
  return {
    repo: r.repo,
    digest: r.digest as Digest,
    mediaType: r.media_type,
    size: r.size,
    content: r.content,
    ...(r.artifact_type !== null ? { artifactType: r.artifact_type } : {}),
    ...(r.subject !== null ? { subject: r.subject as Digest } : {}),
    ...(r.annotations !== null ? { annotations: JSON.parse(r.annotations) as Record<string, string> } : {}),
    createdAt: new Date(r.created_at),
  };
}

interface UploadRow {
  id: string;
  repo: string;
  started_at: number;
  updated_at: number;
  hashed_size: number | null;
  hashed_digest: string | null;
}

function uploadRecord(r: UploadRow): UploadRecord {
  return {
    id: r.id,
    repo: r.repo,
    startedAt: new Date(r.started_at),
    updatedAt: new Date(r.updated_at),
    ...(r.hashed_size !== null && r.hashed_digest !== null ? { hashed: { size: r.hashed_size, digest: r.hashed_digest as Digest } } : {}),
  };
}

const pageLimit = (p: Page) => (p.n === undefined ? -1 : p.n);

/** RegistryIndex on one SQLite file (WAL, busy timeout): a server and a `registry gc` process may share it. */
export class SqliteRegistryIndex implements RegistryIndex {
  readonly #db: Database.Database;
  readonly #st: Record<string, Database.Statement>;

  constructor(file: string) {
    if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
    const nativeBinding = betterSqliteBinding(); // found by path: the CLI bundle cannot find it the usual way
    this.#db = new Database(file, nativeBinding ? { nativeBinding } : {});
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = NORMAL');
    this.#db.pragma('busy_timeout = 10000');
    this.#db.pragma('foreign_keys = OFF');
    const version = this.#db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new WharfError('FAILED_PRECONDITION', `registry index ${file} has schema ${version}, newer than this Wharf (${SCHEMA_VERSION})`);
    }
    this.#db.exec(SCHEMA);
    // Columns added since schema 1, additive (older code ignores them), so the version stays and a downgrade works.
    const uploadCols = new Set((this.#db.pragma('table_info(uploads)') as Array<{ name: string }>).map((c) => c.name));
    if (!uploadCols.has('hashed_size')) this.#db.exec('ALTER TABLE uploads ADD COLUMN hashed_size INTEGER; ALTER TABLE uploads ADD COLUMN hashed_digest TEXT');
    this.#db.pragma(`user_version = ${SCHEMA_VERSION}`);
    const p = (sql: string) => this.#db.prepare(sql);
    this.#st = {
      listRepos: p('SELECT name FROM repositories r WHERE name > ? AND EXISTS (SELECT 1 FROM manifests m WHERE m.repo = r.name) ORDER BY name LIMIT ?'),
      searchRepos: p("SELECT name FROM repositories r WHERE name LIKE ? ESCAPE '\\' AND EXISTS (SELECT 1 FROM manifests m WHERE m.repo = r.name) ORDER BY name LIMIT ?"),
      repoExists: p('SELECT 1 FROM repositories WHERE name = ?'),
      statBlob: p('SELECT size FROM blobs WHERE digest = ?'),
      linkedBlob: p('SELECT b.size FROM repo_blobs l JOIN blobs b ON b.digest = l.digest WHERE l.repo = ? AND l.digest = ?'),
      reposLinking: p('SELECT repo FROM repo_blobs WHERE digest = ? ORDER BY repo LIMIT ?'),
      gcDeleting: p('SELECT since FROM gc_deleting WHERE digest = ?'),
      clearGcDeleting: p('DELETE FROM gc_deleting WHERE digest = ?'),
      insertLease: p('INSERT INTO leases (id, expires_at) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at'),
      insertLeaseBlob: p('INSERT OR IGNORE INTO lease_blobs (lease_id, digest) VALUES (?, ?)'),
      deleteLease: p('DELETE FROM leases WHERE id = ?'),
      deleteLeaseBlobs: p('DELETE FROM lease_blobs WHERE lease_id = ?'),
      insertBlob: p('INSERT OR IGNORE INTO blobs (digest, size, created_at) VALUES (?, ?, ?)'),
      insertLink: p('INSERT OR IGNORE INTO repo_blobs (repo, digest) VALUES (?, ?)'),
      deleteLink: p('DELETE FROM repo_blobs WHERE repo = ? AND digest = ?'),
      getManifest: p('SELECT * FROM manifests WHERE repo = ? AND digest = ?'),
      hasManifest: p('SELECT 1 FROM manifests WHERE repo = ? AND digest = ?'),
      hasLink: p('SELECT 1 FROM repo_blobs WHERE repo = ? AND digest = ?'),
      upsertManifest: p(`INSERT INTO manifests (repo, digest, media_type, size, content, artifact_type, subject, annotations, created_at)
        VALUES (@repo, @digest, @mediaType, @size, @content, @artifactType, @subject, @annotations, @createdAt)
        ON CONFLICT (repo, digest) DO NOTHING`),
      deleteRefs: p('DELETE FROM manifest_refs WHERE repo = ? AND parent = ?'),
      insertRef: p('INSERT OR IGNORE INTO manifest_refs (repo, parent, child, kind) VALUES (?, ?, ?, ?)'),
      insertRepo: p('INSERT OR IGNORE INTO repositories (name, created_at) VALUES (?, ?)'),
      upsertTag: p(`INSERT INTO tags (repo, name, digest, updated_at) VALUES (?, ?, ?, ?)
        ON CONFLICT (repo, name) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at`),
      resolveTag: p('SELECT digest FROM tags WHERE repo = ? AND name = ?'),
      deleteTagsOf: p('DELETE FROM tags WHERE repo = ? AND digest = ?'),
      deleteManifest: p('DELETE FROM manifests WHERE repo = ? AND digest = ?'),
      deleteRepoRow: p('DELETE FROM repositories WHERE name = ?'),
      deleteTag: p('DELETE FROM tags WHERE repo = ? AND name = ?'),
      listTags: p('SELECT name FROM tags WHERE repo = ? AND name > ? ORDER BY name LIMIT ?'),
      tagsOf: p('SELECT name FROM tags WHERE repo = ? AND digest = ? ORDER BY name'),
      referrers: p('SELECT * FROM manifests WHERE repo = ? AND subject = ? ORDER BY created_at, digest'),
      insertUpload: p('INSERT INTO uploads (id, repo, started_at, updated_at) VALUES (?, ?, ?, ?)'),
      getUpload: p('SELECT * FROM uploads WHERE id = ?'),
      touchUpload: p('UPDATE uploads SET updated_at = ? WHERE id = ?'),
      touchUploadHashed: p('UPDATE uploads SET updated_at = ?, hashed_size = ?, hashed_digest = ? WHERE id = ?'),
      deleteUpload: p('DELETE FROM uploads WHERE id = ?'),
      listUploads: p('SELECT * FROM uploads WHERE updated_at < ? ORDER BY updated_at'),
      allBlobs: p('SELECT digest, size FROM blobs'),
    };
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }

  async listRepositories(page: Page): Promise<string[]> {
    return (this.#st.listRepos!.all(page.last ?? '', pageLimit(page)) as Array<{ name: string }>).map((r) => r.name);
  }

  async searchRepositories(term: string, limit: number): Promise<string[]> {
    const like = `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    return (this.#st.searchRepos!.all(like, limit) as Array<{ name: string }>).map((r) => r.name);
  }

  async repositoryExists(repo: string): Promise<boolean> {
    return this.#st.repoExists!.get(repo) !== undefined;
  }

  async deleteRepository(repo: string): Promise<{ manifests: number; tags: number } | undefined> {
    return this.#db.transaction(() => {
      const exists = this.#st.repoExists!.get(repo) !== undefined;
      const manifests = this.#db.prepare('DELETE FROM manifests WHERE repo = ?').run(repo).changes;
      const tags = this.#db.prepare('DELETE FROM tags WHERE repo = ?').run(repo).changes;
      this.#db.prepare('DELETE FROM manifest_refs WHERE repo = ?').run(repo);
      const links = this.#db.prepare('DELETE FROM repo_blobs WHERE repo = ?').run(repo).changes;
      const uploads = this.#db.prepare('DELETE FROM uploads WHERE repo = ?').run(repo).changes;
      this.#st.deleteRepoRow!.run(repo);
      if (!exists && manifests === 0 && links === 0 && uploads === 0) return undefined;
      return { manifests, tags };
    })();
  }

  async statBlob(d: Digest): Promise<{ size: number } | undefined> {
    return this.#st.statBlob!.get(d) as { size: number } | undefined;
  }

  async linkedBlob(repo: string, d: Digest): Promise<{ size: number } | undefined> {
    return this.#st.linkedBlob!.get(repo, d) as { size: number } | undefined;
  }

  async reposLinkingBlob(d: Digest, limit: number): Promise<string[]> {
    return (this.#st.reposLinking!.all(d, limit) as Array<{ repo: string }>).map((r) => r.repo);
  }

  async beginBlobCommit(d: Digest, leaseId: string, expiresAt: Date): Promise<void> {
    const deadline = Date.now() + GC_WAIT_MS;
    const tryLease = this.#db.transaction((): boolean => {
      const row = this.#st.gcDeleting!.get(d) as { since: number } | undefined;
      if (row) {
        if (Date.now() - row.since < GC_STALE_MS) return false;
        this.#st.clearGcDeleting!.run(d);
      }
      this.#st.insertLease!.run(leaseId, expiresAt.getTime());
      this.#st.insertLeaseBlob!.run(leaseId, d);
      return true;
    });
    for (;;) {
      if (tryLease.immediate()) return;
      if (Date.now() > deadline) throw new WharfError('UNAVAILABLE', `blob ${d} is being garbage-collected; retry the upload`);
      await sleep(25);
    }
  }

  async finishBlobCommit(repo: string, d: Digest, size: number): Promise<void> {
    this.#db.transaction(() => {
      this.#st.insertBlob!.run(d, size, Date.now());
      this.#st.insertLink!.run(repo, d);
      this.#st.insertRepo!.run(repo, Date.now());
    }).immediate();
  }

  async linkBlob(repo: string, d: Digest, leaseId: string, expiresAt: Date): Promise<boolean> {
    return this.#db.transaction((): boolean => {
      if (this.#st.statBlob!.get(d) === undefined) return false;
      this.#st.insertLease!.run(leaseId, expiresAt.getTime());
      this.#st.insertLeaseBlob!.run(leaseId, d);
      this.#st.insertLink!.run(repo, d);
      this.#st.insertRepo!.run(repo, Date.now());
      return true;
    }).immediate();
  }

  async unlinkBlob(repo: string, d: Digest): Promise<boolean> {
    return this.#st.deleteLink!.run(repo, d).changes > 0;
  }

  async deleteLease(id: string): Promise<void> {
    this.#db.transaction(() => {
      this.#st.deleteLeaseBlobs!.run(id);
      this.#st.deleteLease!.run(id);
    }).immediate();
  }

  async pruneLeases(now: Date): Promise<number> {
    return this.#db.transaction(() => {
      this.#db.prepare('DELETE FROM lease_blobs WHERE lease_id IN (SELECT id FROM leases WHERE expires_at <= ?)').run(now.getTime());
      return this.#db.prepare('DELETE FROM leases WHERE expires_at <= ?').run(now.getTime()).changes;
    }).immediate();
  }

  async putManifest(repo: string, m: ManifestPut): Promise<void> {
    this.#db.transaction(() => {
      const missing: string[] = [];
      for (const b of new Set(m.blobs)) {
        if (this.#st.hasLink!.get(repo, b) === undefined && this.#st.hasManifest!.get(repo, b) === undefined) missing.push(b);
      }
      for (const c of new Set(m.children)) if (this.#st.hasManifest!.get(repo, c) === undefined) missing.push(c);
      if (missing.length > 0) {
        throw new WharfError('FAILED_PRECONDITION', `manifest ${m.digest} refers to ${missing.length} unknown blob(s) or manifest(s) in ${repo}`, {
          details: { missing },
        });
      }
      const now = Date.now();
      this.#st.upsertManifest!.run({
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
      this.#st.deleteRefs!.run(repo, m.digest);
      for (const b of new Set(m.blobs)) this.#st.insertRef!.run(repo, m.digest, b, 'blob');
      for (const c of new Set(m.children)) this.#st.insertRef!.run(repo, m.digest, c, 'manifest');
      this.#st.insertRepo!.run(repo, now);
      if (m.tag !== undefined) this.#st.upsertTag!.run(repo, m.tag, m.digest, now);
    }).immediate();
  }

  async getManifest(repo: string, d: Digest): Promise<ManifestRecord | undefined> {
    const row = this.#st.getManifest!.get(repo, d) as ManifestRow | undefined;
    return row ? toRecord(row) : undefined;
  }

  async resolveTag(repo: string, tag: string): Promise<Digest | undefined> {
    return (this.#st.resolveTag!.get(repo, tag) as { digest: Digest } | undefined)?.digest;
  }

  #dropManifest(repo: string, d: string): boolean {
    this.#st.deleteTagsOf!.run(repo, d);
    this.#st.deleteRefs!.run(repo, d);
    return this.#st.deleteManifest!.run(repo, d).changes > 0;
  }

  async deleteManifest(repo: string, d: Digest): Promise<boolean> {
    return this.#db.transaction(() => this.#dropManifest(repo, d)).immediate();
  }

  async deleteTag(repo: string, tag: string): Promise<boolean> {
    return this.#st.deleteTag!.run(repo, tag).changes > 0;
  }

  async listTags(repo: string, page: Page): Promise<string[]> {
    return (this.#st.listTags!.all(repo, page.last ?? '', pageLimit(page)) as Array<{ name: string }>).map((r) => r.name);
  }

  async tagsOf(repo: string, d: Digest): Promise<string[]> {
    return (this.#st.tagsOf!.all(repo, d) as Array<{ name: string }>).map((r) => r.name);
  }

  async listReferrers(repo: string, subject: Digest, artifactType?: string): Promise<ManifestRecord[]> {
    const rows = (this.#st.referrers!.all(repo, subject) as ManifestRow[]).map(toRecord);
    return artifactType === undefined ? rows : rows.filter((r) => r.artifactType === artifactType);
  }

  async createUpload(u: { id: string; repo: string; startedAt: Date }): Promise<void> {
    this.#st.insertUpload!.run(u.id, u.repo, u.startedAt.getTime(), u.startedAt.getTime());
  }

  async getUpload(id: string): Promise<UploadRecord | undefined> {
    const r = this.#st.getUpload!.get(id) as UploadRow | undefined;
    return r ? uploadRecord(r) : undefined;
  }

  async touchUpload(id: string, at: Date, hashed?: { size: number; digest: Digest }): Promise<void> {
    if (hashed) this.#st.touchUploadHashed!.run(at.getTime(), hashed.size, hashed.digest, id);
    else this.#st.touchUpload!.run(at.getTime(), id);
  }

  async deleteUpload(id: string): Promise<void> {
    this.#st.deleteUpload!.run(id);
  }

  async listUploads(updatedBefore: Date): Promise<UploadRecord[]> {
    return (this.#st.listUploads!.all(updatedBefore.getTime()) as UploadRow[]).map(uploadRecord);
  }

  async gcCollect(opts: GcOptions): Promise<GcCollected> {
    const now = opts.now.getTime();
    const run = () => {
      this.#db.exec('DROP TABLE IF EXISTS temp.gc_dead_manifests; DROP TABLE IF EXISTS temp.gc_live_blobs;');
      this.#db.exec('CREATE TEMP TABLE gc_dead_manifests (repo TEXT, digest TEXT, size INTEGER, PRIMARY KEY (repo, digest))');
      if (opts.deleteUntagged) {
        // Roots: tags and recent pushes; reachability follows index children and referrers (whose subject is live).
        this.#db
          .prepare(
            `WITH RECURSIVE live(repo, digest) AS (
               SELECT repo, digest FROM tags
               UNION SELECT repo, digest FROM manifests WHERE created_at > ?
               UNION SELECT r.repo, r.child FROM manifest_refs r JOIN live l ON r.repo = l.repo AND r.parent = l.digest WHERE r.kind = 'manifest'
               UNION SELECT m.repo, m.digest FROM manifests m JOIN live l ON m.repo = l.repo AND m.subject = l.digest
             )
             INSERT INTO temp.gc_dead_manifests (repo, digest, size)
             SELECT m.repo, m.digest, m.size FROM manifests m
             WHERE NOT EXISTS (SELECT 1 FROM live l WHERE l.repo = m.repo AND l.digest = m.digest)`,
          )
          .run(now - opts.manifestGraceMs);
      }
      const manifests = this.#db.prepare('SELECT repo, digest, size FROM temp.gc_dead_manifests ORDER BY repo, digest').all() as GcCollected['manifests'];
      if (!opts.dryRun) for (const m of manifests) this.#dropManifest(m.repo, m.digest);
      this.#db.exec(`CREATE TEMP TABLE gc_live_blobs (digest TEXT PRIMARY KEY) WITHOUT ROWID`);
      this.#db
        .prepare(
          `INSERT OR IGNORE INTO temp.gc_live_blobs (digest)
           SELECT r.child FROM manifest_refs r WHERE r.kind = 'blob'
             AND NOT EXISTS (SELECT 1 FROM temp.gc_dead_manifests d WHERE d.repo = r.repo AND d.digest = r.parent)
           UNION SELECT lb.digest FROM lease_blobs lb JOIN leases l ON l.id = lb.lease_id WHERE l.expires_at > ?`,
        )
        .run(now);
      const blobs = this.#db
        .prepare('SELECT digest, size FROM blobs b WHERE NOT EXISTS (SELECT 1 FROM temp.gc_live_blobs l WHERE l.digest = b.digest) ORDER BY digest')
        .all() as GcCollected['blobs'];
      if (!opts.dryRun) {
        const delBlob = this.#db.prepare('DELETE FROM blobs WHERE digest = ?');
        const delLinks = this.#db.prepare('DELETE FROM repo_blobs WHERE digest = ?');
        const reserve = this.#db.prepare('INSERT OR REPLACE INTO gc_deleting (digest, since) VALUES (?, ?)');
        for (const b of blobs) {
          delBlob.run(b.digest);
          delLinks.run(b.digest);
          reserve.run(b.digest, now);
        }
        const expired = this.#db.prepare('SELECT id FROM leases WHERE expires_at <= ?').all(now) as Array<{ id: string }>;
        for (const l of expired) {
          this.#st.deleteLeaseBlobs!.run(l.id);
          this.#st.deleteLease!.run(l.id);
        }
        this.#db.prepare('DELETE FROM gc_deleting WHERE since < ? AND since <> ?').run(now - GC_STALE_MS, now);
        // Repositories left with nothing at all (no manifest, link or upload) are forgotten.
        this.#db
          .prepare(
            `DELETE FROM repositories WHERE NOT EXISTS (SELECT 1 FROM manifests m WHERE m.repo = repositories.name)
               AND NOT EXISTS (SELECT 1 FROM repo_blobs l WHERE l.repo = repositories.name)
               AND NOT EXISTS (SELECT 1 FROM uploads u WHERE u.repo = repositories.name)`,
          )
          .run();
      }
      this.#db.exec('DROP TABLE temp.gc_dead_manifests; DROP TABLE temp.gc_live_blobs;');
      return { manifests, blobs };
    };
    return this.#db.transaction(run).immediate();
  }

  async gcClaimOrphans(digests: Digest[], now: Date): Promise<Digest[]> {
    const claimed: Digest[] = [];
    const leased = this.#db.prepare('SELECT 1 FROM lease_blobs lb JOIN leases l ON l.id = lb.lease_id WHERE lb.digest = ? AND l.expires_at > ? LIMIT 1');
    const reserve = this.#db.prepare('INSERT OR IGNORE INTO gc_deleting (digest, since) VALUES (?, ?)');
    this.#db.transaction(() => {
      for (const d of digests) {
        if (this.#st.statBlob!.get(d) !== undefined) continue;
        if (leased.get(d, now.getTime()) !== undefined) continue;
        if (reserve.run(d, now.getTime()).changes > 0) claimed.push(d);
      }
    }).immediate();
    return claimed;
  }

  async gcFinish(digests: Digest[]): Promise<void> {
    this.#db.transaction(() => {
      for (const d of digests) this.#st.clearGcDeleting!.run(d);
    }).immediate();
  }

  async allBlobs(): Promise<Array<{ digest: Digest; size: number }>> {
    return this.#st.allBlobs!.all() as Array<{ digest: Digest; size: number }>;
  }
}
