import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { randomBytes, createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function tarOf(files: Record<string, Buffer>): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((resolve, reject) => {
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  for (const [name, data] of Object.entries(files))
    pack.entry({ name, size: data.length, mode: 0o644, mtime: new Date(0) }, data);
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

export interface LayoutImage {
  arch: string;
  /** Sizes of random files, one layer each. */
  layerSizes: number[];
}

export interface WrittenLayout {
  dir: string;
  /** Digest of the tagged entry (the index when multi-arch, else the manifest). */
  digest: string;
  manifests: string[];
  blobs: string[];
}

/** Writes an OCI image layout with real gzip tar layers; several images make a multi-arch index. */
export async function writeOciLayout(dir: string, tag: string, images: LayoutImage[]): Promise<WrittenLayout> {
  const blobsDir = path.join(dir, 'blobs', 'sha256');
  await fsp.mkdir(blobsDir, { recursive: true });
  const put = async (b: Buffer) => {
    const h = sha(b);
    await fsp.writeFile(path.join(blobsDir, h), b);
    return { digest: `sha256:${h}`, size: b.length };
  };
  const blobs: string[] = [];
  const manifests: Array<{ digest: string; size: number; arch: string }> = [];
  for (const img of images) {
    const layers = [];
    const diffIds = [];
    for (const [i, size] of img.layerSizes.entries()) {
      const t = await tarOf({ [`file-${img.arch}-${i}.bin`]: randomBytes(size) });
      diffIds.push(`sha256:${sha(t)}`);
      const d = await put(gzipSync(t, { level: 1 }));
      blobs.push(d.digest);
      layers.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...d });
    }
    const config = Buffer.from(
      JSON.stringify({
        architecture: img.arch,
        os: 'linux',
        config: { Cmd: ['/bin/sh'] },
        rootfs: { type: 'layers', diff_ids: diffIds },
        history: [],
      }),
    );
    const c = await put(config);
    blobs.push(c.digest);
    const m = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...c },
        layers,
      }),
    );
    const md = await put(m);
    manifests.push({ ...md, arch: img.arch });
  }
  let top: { digest: string; size: number; mediaType: string };
  if (images.length === 1) {
    top = { ...manifests[0]!, mediaType: 'application/vnd.oci.image.manifest.v1+json' };
  } else {
    const idx = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: manifests.map((m) => ({
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: m.digest,
          size: m.size,
          platform: { architecture: m.arch, os: 'linux' },
        })),
      }),
    );
    top = { ...(await put(idx)), mediaType: 'application/vnd.oci.image.index.v1+json' };
  }
  await fsp.writeFile(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await fsp.writeFile(
    path.join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ ...top, annotations: { 'org.opencontainers.image.ref.name': tag } }],
    }),
  );
  return { dir, digest: top.digest, manifests: manifests.map((m) => m.digest), blobs };
}
