import type { Digest } from '../../digest/index.js';
import type { MetaDb } from '../../meta/index.js';

export interface ImageRecord {
  id: Digest;
  configSize: number;
  created: string | null;
  parent: Digest | null;
  topChain: Digest | null;
  size: number;
  labels: Record<string, string>;
  addedAt: string;
}

type Row = Record<string, unknown>;

const toImage = (r: Row): ImageRecord => ({
  id: r.id as Digest,
  configSize: r.config_size as number,
  created: (r.created as string | null) ?? null,
  parent: (r.parent as Digest | null) ?? null,
  topChain: (r.top_chain as Digest | null) ?? null,
  size: r.size as number,
  labels: JSON.parse((r.labels as string) || '{}') as Record<string, string>,
  addedAt: r.added_at as string,
});

/** The `images` table and `image_layers`, the ordered chain IDs of each image. */
export class ImageTable {
  constructor(private readonly db: MetaDb) {}

  get(id: string): ImageRecord | undefined {
    const r = this.db.prepare('SELECT * FROM images WHERE id = ?').get(id) as Row | undefined;
    return r && toImage(r);
  }
  /** Images whose ID starts with the given hex prefix (without 'sha256:'). */
  findByPrefix(hexPrefix: string): ImageRecord[] {
    return (
      this.db
        .prepare(`SELECT * FROM images WHERE id >= ? AND id < ? LIMIT 2`)
        .all(`sha256:${hexPrefix}`, `sha256:${hexPrefix}\uffff`) as Row[]
    ).map(toImage);
  }
  all(): ImageRecord[] {
    return (this.db.prepare('SELECT * FROM images ORDER BY created DESC, added_at DESC').all() as Row[]).map(toImage);
  }
  /** Adds the image and its chain; false when it was already there. */
  insert(img: ImageRecord, chain: readonly string[]): boolean {
    const res = this.db
      .prepare(
        `INSERT OR IGNORE INTO images(id, config_size, created, parent, top_chain, size, labels, added_at)
         VALUES (@id, @configSize, @created, @parent, @topChain, @size, @labels, @addedAt)`,
      )
      .run({ ...img, labels: JSON.stringify(img.labels) });
    if (res.changes === 0) return false;
    const ins = this.db.prepare('INSERT INTO image_layers(image_id, idx, chain_id) VALUES (?, ?, ?)');
    for (const [i, c] of chain.entries()) ins.run(img.id, i, c);
    return true;
  }
  setParent(id: string, parent: string | null): void {
    this.db.prepare('UPDATE images SET parent = ? WHERE id = ?').run(parent, id);
  }
  delete(id: string): void {
    this.db.prepare('DELETE FROM images WHERE id = ?').run(id);
  }
  /** The image's layer chain IDs, bottom first. */
  chain(id: string): Digest[] {
    return (
      this.db.prepare('SELECT chain_id FROM image_layers WHERE image_id = ? ORDER BY idx').all(id) as Array<{
        chain_id: Digest;
      }>
    ).map((r) => r.chain_id);
  }
  children(id: string): ImageRecord[] {
    return (this.db.prepare('SELECT * FROM images WHERE parent = ?').all(id) as Row[]).map(toImage);
  }
  hasChildren(id: string): boolean {
    return this.db.prepare('SELECT 1 FROM images WHERE parent = ? LIMIT 1').get(id) !== undefined;
  }
}
