import type { Digest } from '../../digest/index.js';
import type { MetaDb } from '../../meta/index.js';

export interface LayerBlobRecord {
  digest: Digest;
  mediaType: string;
  size: number;
  repository: string;
}

type Row = Record<string, unknown>;

/** The `layer_blobs` table: the compressed forms of a layer (by diff ID) known in registries. */
export class LayerBlobTable {
  constructor(private readonly db: MetaDb) {}

  add(diffId: string, digest: string, mediaType: string, size: number, repository = ''): void {
    this.db
      .prepare(
        'INSERT OR IGNORE INTO layer_blobs(diff_id, digest, media_type, size, repository) VALUES (?, ?, ?, ?, ?)',
      )
      .run(diffId, digest, mediaType, size, repository);
  }
  ofLayer(diffId: string): LayerBlobRecord[] {
    return (this.db.prepare('SELECT * FROM layer_blobs WHERE diff_id = ?').all(diffId) as Row[]).map((r) => ({
      digest: r.digest as Digest,
      mediaType: r.media_type as string,
      size: r.size as number,
      repository: r.repository as string,
    }));
  }
}
