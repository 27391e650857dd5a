import type { MetaDb } from '../meta/index.js';
import type { Digest } from '../digest/index.js';
import { IMAGE_MIGRATIONS } from './schema.js';

export interface LayerRecord {
  chainId: Digest;
  diffId: Digest;
  parent: Digest | null;
  size: number;
  tarSize: number;
  tarsplit: Digest | null;
  tarBlob: Digest | null;
  created: string;
}

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

export interface TagRecord {
  name: string;
  repository: string;
  tag: string;
  imageId: Digest;
  created: string;
}

export interface ManifestRecord {
  imageId: Digest;
  repository: string;
  digest: Digest;
  mediaType: string;
}

type Row = Record<string, unknown>;

const toLayer = (r: Row): LayerRecord => ({
  chainId: r.chain_id as Digest,
  diffId: r.diff_id as Digest,
  parent: (r.parent as Digest | null) ?? null,
  size: r.size as number,
  tarSize: r.tar_size as number,
  tarsplit: (r.tarsplit as Digest | null) ?? null,
  tarBlob: (r.tar_blob as Digest | null) ?? null,
  created: r.created as string,
});

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

const toTag = (r: Row): TagRecord => ({
  name: r.name as string,
  repository: r.repository as string,
  tag: r.tag as string,
  imageId: r.image_id as Digest,
  created: r.created as string,
});

/**
 * Typed access to the image tables. Methods are synchronous (better-sqlite3) so callers can group several of them in
 * one `db.immediate()` transaction.
 */
export class ImageRecords {
  constructor(readonly db: MetaDb) {
    db.migrate('images', IMAGE_MIGRATIONS);
  }

  // ---- layers
  getLayer(chainId: string): LayerRecord | undefined {
    const r = this.db.prepare('SELECT * FROM layers WHERE chain_id = ?').get(chainId) as Row | undefined;
    return r && toLayer(r);
  }
  insertLayer(l: LayerRecord): void {
    this.db
      .prepare(
        `INSERT OR IGNORE INTO layers(chain_id, diff_id, parent, size, tar_size, tarsplit, tar_blob, created)
         VALUES (@chainId, @diffId, @parent, @size, @tarSize, @tarsplit, @tarBlob, @created)`,
      )
      .run(l);
  }
  deleteLayer(chainId: string): void {
    this.db.prepare('DELETE FROM layers WHERE chain_id = ?').run(chainId);
  }
  allLayers(): LayerRecord[] {
    return (this.db.prepare('SELECT * FROM layers').all() as Row[]).map(toLayer);
  }
  /** How many images and child layers still need this layer. */
  layerUsers(chainId: string): number {
    const a = this.db.prepare('SELECT COUNT(*) AS n FROM image_layers WHERE chain_id = ?').get(chainId) as { n: number };
    const b = this.db.prepare('SELECT COUNT(*) AS n FROM layers WHERE parent = ?').get(chainId) as { n: number };
    return a.n + b.n;
  }
  /** Number of distinct images using each layer. */
  layerImageCounts(): Map<string, number> {
    const rows = this.db
      .prepare('SELECT chain_id, COUNT(DISTINCT image_id) AS n FROM image_layers GROUP BY chain_id')
      .all() as Array<{ chain_id: string; n: number }>;
    return new Map(rows.map((r) => [r.chain_id, r.n]));
  }

  // ---- images
  getImage(id: string): ImageRecord | undefined {
    const r = this.db.prepare('SELECT * FROM images WHERE id = ?').get(id) as Row | undefined;
    return r && toImage(r);
  }
  /** Images whose ID starts with the given hex prefix (without 'sha256:'). */
  findImagesByPrefix(hexPrefix: string): ImageRecord[] {
    return (this.db.prepare(`SELECT * FROM images WHERE id >= ? AND id < ? LIMIT 2`).all(
      `sha256:${hexPrefix}`,
      `sha256:${hexPrefix}\uffff`,
    ) as Row[]).map(toImage);
  }
  allImages(): ImageRecord[] {
    return (this.db.prepare('SELECT * FROM images ORDER BY created DESC, added_at DESC').all() as Row[]).map(toImage);
  }
  insertImage(img: ImageRecord, chain: readonly string[]): boolean {
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
  deleteImage(id: string): void {
    this.db.prepare('DELETE FROM images WHERE id = ?').run(id);
  }
  imageChain(id: string): Digest[] {
    return (this.db.prepare('SELECT chain_id FROM image_layers WHERE image_id = ? ORDER BY idx').all(id) as Array<{ chain_id: Digest }>).map(
      (r) => r.chain_id,
    );
  }
  children(id: string): ImageRecord[] {
    return (this.db.prepare('SELECT * FROM images WHERE parent = ?').all(id) as Row[]).map(toImage);
  }
  hasChildren(id: string): boolean {
    return this.db.prepare('SELECT 1 FROM images WHERE parent = ? LIMIT 1').get(id) !== undefined;
  }

  // ---- tags
  getTag(name: string): TagRecord | undefined {
    const r = this.db.prepare('SELECT * FROM tags WHERE name = ?').get(name) as Row | undefined;
    return r && toTag(r);
  }
  tagsOf(imageId: string): TagRecord[] {
    return (this.db.prepare('SELECT * FROM tags WHERE image_id = ? ORDER BY name').all(imageId) as Row[]).map(toTag);
  }
  allTags(): TagRecord[] {
    return (this.db.prepare('SELECT * FROM tags ORDER BY name').all() as Row[]).map(toTag);
  }
  /** Point a name at an image; returns the image it pointed at before (now possibly dangling). */
  setTag(name: string, repository: string, tag: string, imageId: string, created: string): Digest | undefined {
    const prev = this.getTag(name);
    this.db
      .prepare(
        `INSERT INTO tags(name, repository, tag, image_id, created) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id, created = excluded.created`,
      )
      .run(name, repository, tag, imageId, created);
    return prev && prev.imageId !== imageId ? prev.imageId : undefined;
  }
  deleteTag(name: string): void {
    this.db.prepare('DELETE FROM tags WHERE name = ?').run(name);
  }

  // ---- manifests (RepoDigests)
  manifestsOf(imageId: string): ManifestRecord[] {
    return (this.db.prepare('SELECT * FROM image_manifests WHERE image_id = ? ORDER BY repository, digest').all(imageId) as Row[]).map(
      (r) => ({ imageId: r.image_id as Digest, repository: r.repository as string, digest: r.digest as Digest, mediaType: r.media_type as string }),
    );
  }
  addManifest(m: ManifestRecord): void {
    this.db
      .prepare('INSERT OR IGNORE INTO image_manifests(image_id, repository, digest, media_type) VALUES (?, ?, ?, ?)')
      .run(m.imageId, m.repository, m.digest, m.mediaType);
  }
  deleteManifestRef(imageId: string, repository: string, digest: string): void {
    this.db.prepare('DELETE FROM image_manifests WHERE image_id = ? AND repository = ? AND digest = ?').run(imageId, repository, digest);
  }
  imageByManifest(repository: string, digest: string): Digest | undefined {
    const r = this.db.prepare('SELECT image_id FROM image_manifests WHERE repository = ? AND digest = ?').get(repository, digest) as
      | { image_id: Digest }
      | undefined;
    return r?.image_id;
  }
  allManifestDigests(): Set<string> {
    return new Set((this.db.prepare('SELECT digest FROM image_manifests').all() as Array<{ digest: string }>).map((r) => r.digest));
  }

  // ---- layer blobs (compressed forms known in registries)
  addLayerBlob(diffId: string, digest: string, mediaType: string, size: number, repository = ''): void {
    this.db
      .prepare('INSERT OR IGNORE INTO layer_blobs(diff_id, digest, media_type, size, repository) VALUES (?, ?, ?, ?, ?)')
      .run(diffId, digest, mediaType, size, repository);
  }
  layerBlobs(diffId: string): Array<{ digest: Digest; mediaType: string; size: number; repository: string }> {
    return (this.db.prepare('SELECT * FROM layer_blobs WHERE diff_id = ?').all(diffId) as Row[]).map((r) => ({
      digest: r.digest as Digest,
      mediaType: r.media_type as string,
      size: r.size as number,
      repository: r.repository as string,
    }));
  }

  // ---- leases
  createLease(id: string, pid: number): void {
    this.db.prepare('INSERT INTO leases(id, pid, created) VALUES (?, ?, ?)').run(id, pid, new Date().toISOString());
  }
  addLeaseResource(id: string, kind: 'content' | 'snapshot', ref: string): void {
    this.db.prepare('INSERT OR IGNORE INTO lease_resources(lease_id, kind, ref) VALUES (?, ?, ?)').run(id, kind, ref);
  }
  deleteLease(id: string): void {
    this.db.prepare('DELETE FROM leases WHERE id = ?').run(id);
  }
  leases(): Array<{ id: string; pid: number; created: string }> {
    return this.db.prepare('SELECT * FROM leases').all() as Array<{ id: string; pid: number; created: string }>;
  }
  leasedRefs(kind: 'content' | 'snapshot'): Set<string> {
    return new Set((this.db.prepare('SELECT ref FROM lease_resources WHERE kind = ?').all(kind) as Array<{ ref: string }>).map((r) => r.ref));
  }
}
