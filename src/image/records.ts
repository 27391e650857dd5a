import type { MetaDb } from '../meta/index.js';
import { IMAGE_MIGRATIONS } from './schema.js';
import { ImageTable } from './records/images.js';
import { LayerBlobTable } from './records/layer-blobs.js';
import { LayerTable } from './records/layers.js';
import { LeaseTable } from './records/leases.js';
import { ManifestTable } from './records/manifests.js';
import { TagTable } from './records/tags.js';

export type { ImageRecord } from './records/images.js';
export type { LayerBlobRecord } from './records/layer-blobs.js';
export type { LayerRecord } from './records/layers.js';
export type { LeaseRecord } from './records/leases.js';
export type { ManifestRecord } from './records/manifests.js';
export type { TagRecord } from './records/tags.js';

/**
 * Typed access to the image tables, one store per table as containerd splits its metadata. Every method is
 * synchronous (better-sqlite3) and all of them share one database, so callers group calls on several stores in one
 * `db.immediate()` transaction.
 */
export class ImageRecords {
  readonly layers: LayerTable;
  readonly images: ImageTable;
  readonly tags: TagTable;
  /** The manifest references (RepoDigests) of each image. */
  readonly manifests: ManifestTable;
  readonly layerBlobs: LayerBlobTable;
  readonly leases: LeaseTable;

  constructor(readonly db: MetaDb) {
    db.migrate('images', IMAGE_MIGRATIONS);
    this.layers = new LayerTable(db);
    this.images = new ImageTable(db);
    this.tags = new TagTable(db);
    this.manifests = new ManifestTable(db);
    this.layerBlobs = new LayerBlobTable(db);
    this.leases = new LeaseTable(db);
  }
}
