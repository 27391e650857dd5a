/**
 * `save`: images to a tar in the format `docker save` writes today (Docker ≥ 25): an OCI image layout (oci-layout,
 * index.json, blobs/sha256/…) plus the legacy manifest.json and repositories files, so that both `docker load` and
 * OCI tools read it. Layers are written uncompressed, once each, streamed from the unpacked store via tar-split.
 */
import type { Writable } from 'node:stream';
import type * as StreamPromises from 'node:stream/promises';
import { WharfError } from '../errors/index.js';
import { hexOf, digestOf, type Digest } from '../digest/index.js';
import {
  parseNormalizedNamed,
  familiarName,
  familiarString,
  formatReference,
  type Reference,
} from '../reference/index.js';
import { MediaType, canonicalJson, type ImageManifest, type Descriptor } from '../oci/index.js';
import { tarStream } from '../archive/index.js';
import type { ImageService } from './service.js';
import type { ImageRecord } from './records.js';
import { lazyBuiltin } from '../util/index.js';

// Loaded by `save` alone: every verb of the images module loads this one.
const streamPromises = lazyBuiltin<typeof StreamPromises>('node:stream/promises');

interface SavedImage {
  img: ImageRecord;
  refs: Reference[];
}

/** Which images and names `save` covers: a name with a tag → that tag; a bare repository → all its tags; an ID → no names. */
function selectImages(svc: ImageService, names: readonly string[]): SavedImage[] {
  const byId = new Map<string, SavedImage>();
  const add = (img: ImageRecord, ref?: Reference) => {
    const e = byId.get(img.id) ?? { img, refs: [] };
    if (ref && !e.refs.some((r) => formatReference(r) === formatReference(ref))) e.refs.push(ref);
    byId.set(img.id, e);
  };
  for (const name of names) {
    let ref: Reference | undefined;
    try {
      ref = parseNormalizedNamed(name);
    } catch {
      ref = undefined;
    }
    if (ref && !ref.tag && !ref.digest) {
      const repo = `${ref.domain}/${ref.path}`;
      const tags = svc.records.tags.all().filter((t) => t.repository === repo);
      if (tags.length) {
        for (const t of tags) add(svc.records.images.get(t.imageId)!, parseNormalizedNamed(t.name));
        continue;
      }
    }
    const img = svc.resolve(name);
    const isName = ref && !svc.records.images.get(name) && !img.id.slice(7).startsWith(name.replace(/^sha256:/, ''));
    add(img, isName && ref && !ref.digest ? { ...ref, tag: ref.tag ?? 'latest' } : undefined);
  }
  return [...byId.values()];
}

const EPOCH = new Date(0);

export async function saveImages(svc: ImageService, names: readonly string[], out: Writable): Promise<void> {
  if (names.length === 0) throw new WharfError('INVALID_ARGUMENT', 'save requires at least one image');
  const images = selectImages(svc, names);
  const pack = tarStream().pack();
  const done = streamPromises().pipeline(pack, out);
  done.catch(() => {});
  const written = new Set<string>();
  const entry = (name: string, data: Buffer) =>
    new Promise<void>((resolve, reject) =>
      pack.entry({ name, mtime: EPOCH, mode: 0o644 }, data, (err) => (err ? reject(err) : resolve())),
    );
  const dir = (name: string) =>
    new Promise<void>((resolve, reject) =>
      pack.entry({ name, type: 'directory', mtime: EPOCH, mode: 0o755 }, (err) => (err ? reject(err) : resolve())),
    );
  const blob = async (digest: Digest, data: Buffer) => {
    if (written.has(digest)) return;
    written.add(digest);
    await entry(`blobs/sha256/${hexOf(digest)}`, data);
  };

  const legacyManifest: Array<{ Config: string; RepoTags: string[] | null; Layers: string[] }> = [];
  const index: Descriptor[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  try {
    await dir('blobs/');
    await dir('blobs/sha256/');
    for (const { img, refs } of images) {
      const { raw, config } = await svc.config(img.id);
      await blob(img.id, raw);
      const chain = svc.records.images.chain(img.id);
      const layerDescs: Descriptor[] = [];
      for (const chainId of chain) {
        const l = svc.records.layers.get(chainId)!;
        layerDescs.push({ mediaType: MediaType.OCILayer, digest: l.diffId, size: l.tarSize });
        if (written.has(l.diffId)) continue;
        written.add(l.diffId);
        const src = await svc.layers.tar(chainId);
        await new Promise<void>((resolve, reject) => {
          const sink = pack.entry(
            { name: `blobs/sha256/${hexOf(l.diffId)}`, size: l.tarSize, mtime: EPOCH, mode: 0o644 },
            (err) => (err ? reject(err) : resolve()),
          );
          streamPromises().pipeline(src, sink).catch(reject);
        });
      }
      const manifest: ImageManifest = {
        schemaVersion: 2,
        mediaType: MediaType.OCIManifest,
        config: { mediaType: MediaType.OCIConfig, digest: img.id, size: raw.length },
        layers: layerDescs,
      };
      const manifestRaw = canonicalJson(manifest);
      const manifestDigest = digestOf(manifestRaw);
      await blob(manifestDigest, manifestRaw);
      const desc = { mediaType: MediaType.OCIManifest, digest: manifestDigest, size: manifestRaw.length };
      if (refs.length === 0) index.push(desc);
      for (const r of refs) {
        index.push({
          ...desc,
          annotations: {
            'io.containerd.image.name': formatReference(r),
            'org.opencontainers.image.ref.name': r.tag ?? 'latest',
          },
        });
        const top = config.rootfs.diff_ids[config.rootfs.diff_ids.length - 1];
        if (top) {
          const name = familiarName(r);
          repositories[name] ??= {};
          repositories[name][r.tag ?? 'latest'] = hexOf(top);
        }
      }
      legacyManifest.push({
        Config: `blobs/sha256/${hexOf(img.id)}`,
        RepoTags: refs.length ? refs.map((r) => familiarString(r)) : null,
        Layers: layerDescs.map((d) => `blobs/sha256/${hexOf(d.digest)}`),
      });
    }
    await entry('index.json', canonicalJson({ schemaVersion: 2, mediaType: MediaType.OCIIndex, manifests: index }));
    await entry('manifest.json', canonicalJson(legacyManifest));
    await entry('oci-layout', canonicalJson({ imageLayoutVersion: '1.0.0' }));
    if (Object.keys(repositories).length) await entry('repositories', canonicalJson(repositories));
    pack.finalize();
  } catch (err) {
    pack.destroy(err as Error);
    throw err;
  }
  await done;
  // One event per image in the archive, as Docker's (after it is written: a failed save has none).
  for (const { img } of images) svc.emit('save', img.id);
}
