import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { hostPlatform, canonicalJson, type ImageConfig, type Platform } from '../oci/index.js';
import { applyChanges } from './changes.js';
import type { ImageService } from './service.js';
import type { ImageRecord } from './records.js';

export interface ImportOptions {
  /** `-c/--change` instructions. */
  changes?: readonly string[];
  /** `-m`: the commit message; defaults to "Imported from <source>" as in Docker. */
  message?: string;
  /** Where the tarball came from, for the default message ('-' for stdin). */
  sourceName?: string;
  /** REPOSITORY[:TAG] to name the image. */
  reference?: string;
  platform?: Platform;
  /** Creation time (reproducible imports); default now. */
  created?: Date;
}

/** `import`: a root file system tarball (plain, gzip, xz, zstd) becomes a one-layer image. */
export async function importTarball(
  svc: ImageService,
  src: Readable | string,
  opts: ImportOptions = {},
): Promise<ImageRecord> {
  const open = async () => (typeof src === 'string' ? createReadStream(src) : src);
  const layer = await svc.layers.create(null, await open(), typeof src === 'string' ? { reopen: open } : {});
  const created = (opts.created ?? new Date()).toISOString();
  const platform = opts.platform ?? hostPlatform();
  const message = opts.message || `Imported from ${opts.sourceName ?? (typeof src === 'string' ? src : '-')}`;
  const containerConfig = applyChanges({}, opts.changes ?? []);
  const config: ImageConfig = {
    comment: message,
    created,
    config: containerConfig,
    architecture: platform.architecture,
    ...(platform.variant ? { variant: platform.variant } : {}),
    os: platform.os,
    rootfs: { type: 'layers', diff_ids: [layer.diffId] },
    history: [{ created, comment: message }],
  };
  return svc.create({
    configRaw: canonicalJson(config),
    chain: [layer.chainId],
    tags: opts.reference ? [opts.reference] : [],
  });
}
