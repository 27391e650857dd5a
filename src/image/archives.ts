import type { Readable, Writable } from 'node:stream';
import { importTarball, type ImportOptions } from './importer.js';
import { saveImages } from './save.js';
import { loadArchive, type LoadResult } from './load.js';
import type { ImageService } from './service.js';
import type { ImageRecord } from './records.js';
import type { Platform } from '../oci/index.js';

/**
 * Images to and from tar files (`wharf.images.archives`): `import` (a root file system), `save` and `load` (Docker
 * and OCI image archives). Apart from the record operations so that ImageService stays one job.
 */
export class ImageArchives {
  constructor(
    private readonly images: ImageService,
    /** The Wharf root: a load stages the archive under <root>/tmp (a tar's manifest may come after its layers). */
    private readonly root: string,
  ) {}

  /** `import`: a root file system tarball (plain, gzip, xz, zstd; a path or a stream) becomes a one-layer image. */
  async import(src: Readable | string, opts: ImportOptions = {}): Promise<ImageRecord> {
    const img = await importTarball(this.images, src, opts);
    this.images.emit('import', img.id);
    return img;
  }

  /** `save`: the images (names or IDs) as one docker-archive that is also an OCI layout, written to `out`. */
  save(names: readonly string[], out: Writable): Promise<void> {
    return saveImages(this.images, names, out);
  }

  /** `load`: every image of a docker-archive or OCI archive (with `platform`: only the images of that platform). */
  load(src: Readable, opts: { platform?: Platform } = {}): Promise<LoadResult> {
    return loadArchive(this.images, src, { root: this.root, ...opts });
  }
}
