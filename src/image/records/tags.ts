import type { Digest } from '../../digest/index.js';
import type { MetaDb } from '../../meta/index.js';

export interface TagRecord {
  name: string;
  repository: string;
  tag: string;
  imageId: Digest;
  created: string;
}

type Row = Record<string, unknown>;

const toTag = (r: Row): TagRecord => ({
  name: r.name as string,
  repository: r.repository as string,
  tag: r.tag as string,
  imageId: r.image_id as Digest,
  created: r.created as string,
});

/** The `tags` table: each name (`repo:tag`) points at one image. */
export class TagTable {
  constructor(private readonly db: MetaDb) {}

  get(name: string): TagRecord | undefined {
    const r = this.db.prepare('SELECT * FROM tags WHERE name = ?').get(name) as Row | undefined;
    return r && toTag(r);
  }
  ofImage(imageId: string): TagRecord[] {
    return (this.db.prepare('SELECT * FROM tags WHERE image_id = ? ORDER BY name').all(imageId) as Row[]).map(toTag);
  }
  all(): TagRecord[] {
    return (this.db.prepare('SELECT * FROM tags ORDER BY name').all() as Row[]).map(toTag);
  }
  /** Point a name at an image; returns the image it pointed at before (now possibly dangling). */
  set(name: string, repository: string, tag: string, imageId: string, created: string): Digest | undefined {
    const prev = this.get(name);
    this.db
      .prepare(
        `INSERT INTO tags(name, repository, tag, image_id, created) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id, created = excluded.created`,
      )
      .run(name, repository, tag, imageId, created);
    return prev && prev.imageId !== imageId ? prev.imageId : undefined;
  }
  delete(name: string): void {
    this.db.prepare('DELETE FROM tags WHERE name = ?').run(name);
  }
}
