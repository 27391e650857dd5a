/**
 * The PostgreSQL schema of the registry index, as numbered migrations applied in order (each once, recorded in
 * wharf_schema_migrations). Never edit a released migration: add the next one. Times are milliseconds since the epoch
 * (BIGINT), as in the SQLite backend; names sort bytewise (COLLATE "C") whatever the database's locale, so catalog and
 * tag pages come in the same order on both backends.
 */
export interface Migration {
  version: number;
  description: string;
  sql: string;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: 'registry index: repositories, blobs, links, manifests, references, tags, uploads, leases, GC',
    sql: `
CREATE TABLE repositories (name TEXT COLLATE "C" PRIMARY KEY, created_at BIGINT NOT NULL);
CREATE TABLE blobs (digest TEXT COLLATE "C" PRIMARY KEY, size BIGINT NOT NULL, created_at BIGINT NOT NULL);
CREATE TABLE repo_blobs (repo TEXT COLLATE "C" NOT NULL, digest TEXT COLLATE "C" NOT NULL, PRIMARY KEY (repo, digest));
CREATE INDEX repo_blobs_digest ON repo_blobs (digest);
CREATE TABLE manifests (
  repo TEXT COLLATE "C" NOT NULL, digest TEXT COLLATE "C" NOT NULL, media_type TEXT NOT NULL, size BIGINT NOT NULL,
  content BYTEA NOT NULL, artifact_type TEXT, subject TEXT COLLATE "C", annotations TEXT, created_at BIGINT NOT NULL,
  PRIMARY KEY (repo, digest));
CREATE INDEX manifests_subject ON manifests (repo, subject) WHERE subject IS NOT NULL;
CREATE TABLE manifest_refs (
  repo TEXT COLLATE "C" NOT NULL, parent TEXT COLLATE "C" NOT NULL, child TEXT COLLATE "C" NOT NULL, kind TEXT NOT NULL,
  PRIMARY KEY (repo, parent, child, kind));
CREATE INDEX manifest_refs_child ON manifest_refs (child);
CREATE TABLE tags (
  repo TEXT COLLATE "C" NOT NULL, name TEXT COLLATE "C" NOT NULL, digest TEXT COLLATE "C" NOT NULL,
  updated_at BIGINT NOT NULL, PRIMARY KEY (repo, name));
CREATE INDEX tags_digest ON tags (repo, digest);
CREATE TABLE uploads (
  id TEXT PRIMARY KEY, repo TEXT COLLATE "C" NOT NULL, started_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,
  hashed_size BIGINT, hashed_digest TEXT);
CREATE INDEX uploads_updated ON uploads (updated_at);
CREATE TABLE leases (id TEXT PRIMARY KEY, expires_at BIGINT NOT NULL, repo TEXT COLLATE "C");
CREATE INDEX leases_expires ON leases (expires_at);
CREATE TABLE lease_blobs (lease_id TEXT NOT NULL, digest TEXT COLLATE "C" NOT NULL, PRIMARY KEY (lease_id, digest));
CREATE INDEX lease_blobs_digest ON lease_blobs (digest);
CREATE TABLE gc_deleting (digest TEXT COLLATE "C" PRIMARY KEY, since BIGINT NOT NULL);
`,
  },
];
