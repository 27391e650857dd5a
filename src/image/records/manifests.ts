import type { Digest } from '../../digest/index.js';
import type { MetaDb } from '../../meta/index.js';

/** A manifest an image was pulled or pushed as, in one repository (a RepoDigest). */
export interface ManifestRecord {
  imageId: Digest;
  repository: string;
  digest: Digest;
  mediaType: string;
}

type Row = Record<string, unknown>;

/** The `image_manifests` table: the manifest references (RepoDigests) of each image. */
export class ManifestTable {
  constructor(private readonly db: MetaDb) {}

  ofImage(imageId: string): ManifestRecord[] {
    return (
      this.db
        .prepare('SELECT * FROM image_manifests WHERE image_id = ? ORDER BY repository, digest')
        .all(imageId) as Row[]
    ).map((r) => ({
      imageId: r.image_id as Digest,
      repository: r.repository as string,
      digest: r.digest as Digest,
      mediaType: r.media_type as string,
    }));
  }
  add(m: ManifestRecord): void {
    this.db
      .prepare('INSERT OR IGNORE INTO image_manifests(image_id, repository, digest, media_type) VALUES (?, ?, ?, ?)')
      .run(m.imageId, m.repository, m.digest, m.mediaType);
  }
  delete(imageId: string, repository: string, digest: string): void {
    this.db
      .prepare('DELETE FROM image_manifests WHERE image_id = ? AND repository = ? AND digest = ?')
      .run(imageId, repository, digest);
  }
  /** The image a repository's manifest digest stands for. */
  imageOf(repository: string, digest: string): Digest | undefined {
    const r = this.db
      .prepare('SELECT image_id FROM image_manifests WHERE repository = ? AND digest = ?')
      .get(repository, digest) as { image_id: Digest } | undefined;
    return r?.image_id;
  }
  allDigests(): Set<string> {
    return new Set(
      (this.db.prepare('SELECT digest FROM image_manifests').all() as Array<{ digest: string }>).map((r) => r.digest),
    );
  }
}
