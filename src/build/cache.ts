import type { Stats } from 'node:fs';
import { createHash, type Digest } from '../digest/index.js';
import type { MetaDb, Migration } from '../meta/index.js';

/**
 * The layer cache: a step's key → the image it produced. Keys follow Docker's classic rules: the parent image and
 * the step as recorded (RUN by its command text plus the build args in its environment, COPY/ADD by a checksum of
 * the selected files), so a hit returns exactly the image a miss made. A hit needs the image to still exist.
 */

const BUILD_MIGRATIONS: Migration[] = [
  {
    version: 1,
    up: `
      CREATE TABLE build_cache (
        key        TEXT PRIMARY KEY,
        image_id   TEXT NOT NULL,
        parent     TEXT,                   -- the step's parent image ('' for scratch)
        created_by TEXT NOT NULL,
        created    TEXT NOT NULL,
        last_used  TEXT NOT NULL
      );
      CREATE INDEX build_cache_image ON build_cache(image_id);
    `,
  },
  {
    version: 2,
    up: `
      -- Content digests of context files, reused while a file's inode, size, mtime and ctime stay the same.
      CREATE TABLE build_file_digests (
        path   TEXT PRIMARY KEY,
        sig    TEXT NOT NULL,
        digest TEXT NOT NULL
      );
    `,
  },
];

/**
 * Remembered file digests (like git's index): a context file is read again only when its stat signature changed.
 * A file changed within the last seconds is never remembered, so an edit in the same timestamp tick cannot hide.
 */
export class FileDigestMemo {
  private readonly pending = new Map<string, [string, string]>();
  private readonly getStmt;

  constructor(private readonly db: MetaDb) {
    db.migrate('build', BUILD_MIGRATIONS);
    this.getStmt = db.sql.prepare('SELECT sig, digest FROM build_file_digests WHERE path = ?');
  }

  private static sig(st: Stats): string {
    return `${st.dev}:${st.ino}:${st.size}:${st.mode}:${st.mtimeMs}:${st.ctimeMs}`;
  }

  get(abs: string, st: Stats): string | undefined {
    const row = this.getStmt.get(abs) as { sig: string; digest: string } | undefined;
    return row && row.sig === FileDigestMemo.sig(st) ? row.digest : undefined;
  }

  set(abs: string, st: Stats, digest: string): void {
    if (Date.now() - Math.max(st.mtimeMs, st.ctimeMs) < RACY_MS) return;
    this.pending.set(abs, [FileDigestMemo.sig(st), digest]);
    if (this.pending.size >= 5000) this.flush();
  }

  flush(): void {
    if (this.pending.size === 0) return;
    const put = this.db.prepare(
      'INSERT INTO build_file_digests(path, sig, digest) VALUES (?, ?, ?) ON CONFLICT(path) DO UPDATE SET sig = excluded.sig, digest = excluded.digest',
    );
    const rows = [...this.pending];
    this.pending.clear();
    this.db.immediate(() => {
      for (const [p, [sig, digest]] of rows) put.run(p, sig, digest);
    });
  }

  clear(): void {
    this.pending.clear();
    this.db.prepare('DELETE FROM build_file_digests').run();
  }
}

const RACY_MS = 3000;

export interface CacheKeyInput {
  parent: Digest | null;
  /** The step's recorded command (`created_by`). */
  createdBy: string;
  /** Anything else the result depends on (COPY --chmod, RUN --mount, the author). */
  extra?: Record<string, unknown>;
}

export function cacheKey(input: CacheKeyInput): string {
  const h = createHash('sha256');
  h.update(JSON.stringify([input.parent ?? '', input.createdBy, input.extra ?? {}]));
  return `sha256:${h.digest('hex')}`;
}

export interface CacheEntry {
  key: string;
  imageId: Digest;
  parent: Digest | null;
  createdBy: string;
  created: string;
  lastUsed: string;
}

export class BuildCache {
  constructor(
    private readonly db: MetaDb,
    private readonly imageExists: (id: Digest) => boolean,
  ) {
    db.migrate('build', BUILD_MIGRATIONS);
  }

  /** The cached image for `key`, if it still exists. */
  lookup(key: string): Digest | undefined {
    const row = this.db.prepare('SELECT image_id FROM build_cache WHERE key = ?').get(key) as
      | { image_id: Digest }
      | undefined;
    if (!row || !this.imageExists(row.image_id)) return undefined;
    this.db.prepare('UPDATE build_cache SET last_used = ? WHERE key = ?').run(new Date().toISOString(), key);
    return row.image_id;
  }

  record(key: string, imageId: Digest, parent: Digest | null, createdBy: string): void {
    const now = new Date().toISOString();
    this.db
      .prepare(
        `INSERT INTO build_cache(key, image_id, parent, created_by, created, last_used) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(key) DO UPDATE SET image_id = excluded.image_id, last_used = excluded.last_used`,
      )
      .run(key, imageId, parent ?? '', createdBy, now, now);
  }

  list(): CacheEntry[] {
    const rows = this.db.prepare('SELECT * FROM build_cache ORDER BY last_used DESC').all() as Array<
      Record<string, string>
    >;
    return rows.map((r) => ({
      key: r.key!,
      imageId: r.image_id as Digest,
      parent: (r.parent || null) as Digest | null,
      createdBy: r.created_by!,
      created: r.created!,
      lastUsed: r.last_used!,
    }));
  }

  /** Drop entries whose image is gone; returns how many. */
  forgetMissing(): number {
    let n = 0;
    for (const e of this.list()) {
      if (!this.imageExists(e.imageId)) {
        this.db.prepare('DELETE FROM build_cache WHERE key = ?').run(e.key);
        n++;
      }
    }
    return n;
  }

  delete(key: string): void {
    this.db.prepare('DELETE FROM build_cache WHERE key = ?').run(key);
  }
}
