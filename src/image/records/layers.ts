import type { Digest } from '../../digest/index.js';
import type { MetaDb } from '../../meta/index.js';

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

/** The `layers` table: one row per unpacked layer, keyed by chain ID. */
export class LayerTable {
  constructor(private readonly db: MetaDb) {}

  get(chainId: string): LayerRecord | undefined {
    const r = this.db.prepare('SELECT * FROM layers WHERE chain_id = ?').get(chainId) as Row | undefined;
    return r && toLayer(r);
  }
  insert(l: LayerRecord): void {
    this.db
      .prepare(
        `INSERT OR IGNORE INTO layers(chain_id, diff_id, parent, size, tar_size, tarsplit, tar_blob, created)
         VALUES (@chainId, @diffId, @parent, @size, @tarSize, @tarsplit, @tarBlob, @created)`,
      )
      .run(l);
  }
  delete(chainId: string): void {
    this.db.prepare('DELETE FROM layers WHERE chain_id = ?').run(chainId);
  }
  /** Whether a layer record still names `digest` as its tar-split or tar blob (layers on different parents with the
   *  same changes share one: the tar-split holds no parent). */
  blobInUse(digest: string): boolean {
    return (
      this.db.prepare('SELECT 1 FROM layers WHERE tarsplit = ? OR tar_blob = ? LIMIT 1').get(digest, digest) !==
      undefined
    );
  }
  all(): LayerRecord[] {
    return (this.db.prepare('SELECT * FROM layers').all() as Row[]).map(toLayer);
  }
  /** How many images and child layers still need this layer. */
  users(chainId: string): number {
    const a = this.db.prepare('SELECT COUNT(*) AS n FROM image_layers WHERE chain_id = ?').get(chainId) as {
      n: number;
    };
    const b = this.db.prepare('SELECT COUNT(*) AS n FROM layers WHERE parent = ?').get(chainId) as { n: number };
    return a.n + b.n;
  }
  /** Number of distinct images using each layer. */
  imageCounts(): Map<string, number> {
    const rows = this.db
      .prepare('SELECT chain_id, COUNT(DISTINCT image_id) AS n FROM image_layers GROUP BY chain_id')
      .all() as Array<{ chain_id: string; n: number }>;
    return new Map(rows.map((r) => [r.chain_id, r.n]));
  }
}
