import { WharfError } from '../errors/index.js';

export const MediaType = {
  OCIManifest: 'application/vnd.oci.image.manifest.v1+json',
  OCIIndex: 'application/vnd.oci.image.index.v1+json',
  OCIConfig: 'application/vnd.oci.image.config.v1+json',
  OCILayer: 'application/vnd.oci.image.layer.v1.tar',
  OCILayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  OCILayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  OCIEmptyJSON: 'application/vnd.oci.empty.v1+json',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  DockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  DockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  DockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
} as const;
export type KnownMediaType = (typeof MediaType)[keyof typeof MediaType];

/** Media types we refuse with UNSUPPORTED rather than INVALID_ARGUMENT: real formats, just too old to support. */
export const DockerSchema1MediaTypes: readonly string[] = [
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
];

// Layer types beyond the common ones: deprecated non-distributable OCI layers and containerd's Docker zstd type still
// appear in the wild and unpack like any other layer.
const LAYER_COMPRESSION: Record<string, 'none' | 'gzip' | 'zstd'> = {
  [MediaType.OCILayer]: 'none',
  [MediaType.OCILayerGzip]: 'gzip',
  [MediaType.OCILayerZstd]: 'zstd',
  'application/vnd.oci.image.layer.nondistributable.v1.tar': 'none',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip': 'gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd': 'zstd',
  [MediaType.DockerLayer]: 'none',
  [MediaType.DockerLayerGzip]: 'gzip',
  [MediaType.DockerForeignLayerGzip]: 'gzip',
  'application/vnd.docker.image.rootfs.diff.tar.zstd': 'zstd',
};

/** Strips parameters and case, so 'Application/JSON; charset=utf-8' compares as 'application/json'. */
export function baseMediaType(mt: string): string {
  const semi = mt.indexOf(';');
  return (semi >= 0 ? mt.slice(0, semi) : mt).trim().toLowerCase();
}

export function isIndexMediaType(mt: string): boolean {
  const b = baseMediaType(mt);
  return b === MediaType.OCIIndex || b === MediaType.DockerManifestList;
}

export function isManifestMediaType(mt: string): boolean {
  const b = baseMediaType(mt);
  return b === MediaType.OCIManifest || b === MediaType.DockerManifest;
}

export function isConfigMediaType(mt: string): boolean {
  const b = baseMediaType(mt);
  return b === MediaType.OCIConfig || b === MediaType.DockerConfig;
}

export function isSchema1MediaType(mt: string): boolean {
  return DockerSchema1MediaTypes.includes(baseMediaType(mt));
}

export function isDockerMediaType(mt: string): boolean {
  return baseMediaType(mt).startsWith('application/vnd.docker.');
}

export function isLayerMediaType(mt: string): boolean {
  return baseMediaType(mt) in LAYER_COMPRESSION;
}

/** Foreign (Windows base) layers live at their `urls`, not in the registry; pushes skip them. */
export function isForeignLayerMediaType(mt: string): boolean {
  const b = baseMediaType(mt);
  return b === MediaType.DockerForeignLayerGzip || b.startsWith('application/vnd.oci.image.layer.nondistributable.');
}

export function layerCompression(mt: string): 'none' | 'gzip' | 'zstd' {
  const c = LAYER_COMPRESSION[baseMediaType(mt)];
  if (c === undefined) throw new WharfError('UNSUPPORTED', `not a layer media type: ${mt}`);
  return c;
}

/**
 * The layer media type for a compression in the family of the manifest it goes into: Docker schema2 manifests list
 * Docker layer types, OCI manifests OCI ones.
 */
export function layerMediaTypeFor(compression: 'none' | 'gzip' | 'zstd', docker: boolean): string {
  if (docker) {
    if (compression === 'none') return MediaType.DockerLayer;
    if (compression === 'gzip') return MediaType.DockerLayerGzip;
    return 'application/vnd.docker.image.rootfs.diff.tar.zstd';
  }
  if (compression === 'none') return MediaType.OCILayer;
  if (compression === 'gzip') return MediaType.OCILayerGzip;
  return MediaType.OCILayerZstd;
}
