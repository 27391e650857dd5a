import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { WharfError } from '../../errors/index.js';
import { betterSqliteBinding } from '../../util/index.js';
import type { Digest } from '../../digest/index.js';
import type { ManifestRecord, Page, UploadRecord } from './index.js';

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
CREATE TABLE IF NOT EXISTS leases (id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL, repo TEXT);
CREATE TABLE IF NOT EXISTS lease_blobs (lease_id TEXT NOT NULL, digest TEXT NOT NULL, PRIMARY KEY (lease_id, digest)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS lease_blobs_digest ON lease_blobs (digest);
CREATE TABLE IF NOT EXISTS gc_deleting (digest TEXT PRIMARY KEY, since INTEGER NOT NULL) WITHOUT ROWID;
`;

export interface ManifestRow {
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

export function manifestRecord(r: ManifestRow): ManifestRecord {
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

export interface UploadRow {
  id: string;
  repo: string;
  started_at: number;
  updated_at: number;
  hashed_size: number | null;
  hashed_digest: string | null;
}

export function uploadRecord(r: UploadRow): UploadRecord {
  return {
    id: r.id,
    repo: r.repo,
    startedAt: new Date(r.started_at),
    updatedAt: new Date(r.updated_at),
    ...(r.hashed_size !== null && r.hashed_digest !== null
      ? { hashed: { size: r.hashed_size, digest: r.hashed_digest as Digest } }
      : {}),
  };
}

export const pageLimit = (p: Page) => (p.n === undefined ? -1 : p.n);

/**
 * One SQLite connection (WAL, busy timeout) shared by the parts of SqliteRegistryIndex: a server and a `registry gc`
 * process may share the file. Statements are compiled once. While this process holds the GC transaction (which spans
 * awaits, unlike the synchronous transactions of the parts) the parts' calls wait for it, so none of them runs inside it.
 */
export class SqliteConnection {
  readonly db: Database.Database;
  readonly #statements = new Map<string, Database.Statement>();
  #exclusive: Promise<void> | undefined;

  constructor(file: string) {
    if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
    const nativeBinding = betterSqliteBinding(); // found by path: the CLI bundle cannot find it the usual way
    this.db = new Database(file, nativeBinding ? { nativeBinding } : {});
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 10000');
    this.db.pragma('foreign_keys = OFF');
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new WharfError(
        'FAILED_PRECONDITION',
        `registry index ${file} has schema ${version}, newer than this Wharf (${SCHEMA_VERSION})`,
      );
    }
    this.db.exec(SCHEMA);
    // Columns added since schema 1, additive (older code ignores them), so the version stays and a downgrade works.
    const uploadCols = new Set((this.db.pragma('table_info(uploads)') as Array<{ name: string }>).map((c) => c.name));
    if (!uploadCols.has('hashed_size'))
      this.db.exec(
        'ALTER TABLE uploads ADD COLUMN hashed_size INTEGER; ALTER TABLE uploads ADD COLUMN hashed_digest TEXT',
      );
    // A lease's repository (a manifest put there ends the lease's hold on its blobs); older rows just expire.
    const leaseCols = new Set((this.db.pragma('table_info(leases)') as Array<{ name: string }>).map((c) => c.name));
    if (!leaseCols.has('repo')) this.db.exec('ALTER TABLE leases ADD COLUMN repo TEXT');
    this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }

  /** The compiled statement for `sql` (compiled on first use). */
  st(sql: string): Database.Statement {
    let s = this.#statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.#statements.set(sql, s);
    }
    return s;
  }

  /** Runs `fn` (synchronous) once no exclusive transaction of this process is open. */
  async run<T>(fn: () => T): Promise<T> {
    while (this.#exclusive !== undefined) await this.#exclusive;
    return fn();
  }

  /** Runs synchronous `fn` in one IMMEDIATE transaction (waits for other writers, up to the busy timeout). */
  async write<T>(fn: () => T): Promise<T> {
    return this.run(() => this.db.transaction(fn).immediate());
  }

  /** An IMMEDIATE transaction around async `fn`; this process's other calls wait until it ends. */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.#exclusive !== undefined) await this.#exclusive;
    let end!: () => void;
    this.#exclusive = new Promise<void>((resolve) => (end = resolve));
    try {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const out = await fn();
        this.db.exec('COMMIT');
        return out;
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      }
    } finally {
      this.#exclusive = undefined;
      end();
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/** Removes a manifest with its tags and references; true when it existed. Inside the caller's transaction. */
export function dropManifest(c: SqliteConnection, repo: string, d: string): boolean {
  c.st('DELETE FROM tags WHERE repo = ? AND digest = ?').run(repo, d);
  c.st('DELETE FROM manifest_refs WHERE repo = ? AND parent = ?').run(repo, d);
  return c.st('DELETE FROM manifests WHERE repo = ? AND digest = ?').run(repo, d).changes > 0;
}

/**
 * Ends the hold of `repo`'s leases on the blobs a manifest just put there refers to, and drops leases left holding
 * nothing. Leases of other repositories on the same digests stay: their manifests have yet to arrive.
 */
export function endLeasesFor(c: SqliteConnection, repo: string, digests: Iterable<string>): void {
  const drop = c.st('DELETE FROM lease_blobs WHERE digest = ? AND lease_id IN (SELECT id FROM leases WHERE repo = ?)');
  let dropped = 0;
  for (const d of digests) dropped += drop.run(d, repo).changes;
  if (dropped > 0)
    c.st(
      'DELETE FROM leases WHERE repo = ? AND NOT EXISTS (SELECT 1 FROM lease_blobs lb WHERE lb.lease_id = leases.id)',
    ).run(repo);
}

/** Drops leases that expired at or before `now`; returns how many. Inside the caller's transaction. */
export function pruneLeases(c: SqliteConnection, now: Date): number {
  c.st('DELETE FROM lease_blobs WHERE lease_id IN (SELECT id FROM leases WHERE expires_at <= ?)').run(now.getTime());
  return c.st('DELETE FROM leases WHERE expires_at <= ?').run(now.getTime()).changes;
}
