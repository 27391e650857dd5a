/**
 * `load`: archives from `docker save` (the legacy layout with <id>/layer.tar and the current OCI-layout one),
 * `skopeo copy … docker-archive:` and `oci-archive:`. The archive is unpacked into a private staging directory under
 * the Wharf root first (a tar's manifest may come after its layers), every blob is verified against its digest, layers
 * are applied once (shared ones are skipped), and the staging directory is removed whatever happens.
 */
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import type * as StreamPromises from 'node:stream/promises';
import { lazyBuiltin } from '../util/index.js';
import { WharfError, isDiskFull, withDiskFullPlace } from '../errors/index.js';
import { VerifyingStream, isDigest, hexOf, digestOf, type Digest } from '../digest/index.js';
import {
  parseManifest,
  parseImageConfig,
  hostPlatform,
  selectManifest,
  isIndexMediaType,
  MAX_MANIFEST_BYTES,
  formatPlatform,
  platformMatches,
  type Descriptor,
  type ImageIndex,
  type Platform,
} from '../oci/index.js';
import { decompressStream, tarStream } from '../archive/index.js';
import { parseNormalizedNamed, familiarString, withDefaultTag } from '../reference/index.js';
import type { ImageService } from './service.js';
import { chainIdOf } from './layers.js';
import { ifExists, pidAlive, randomHex, testPausePoint } from '../util/index.js';
import { ImageInIntentLog, LOAD_INTENT, rollBackImageIn } from './transfer-intent.js';

// Loaded by `load` alone: every verb of the images module loads this one.
const streamPromises = lazyBuiltin<typeof StreamPromises>('node:stream/promises');

export interface LoadResult {
  /** Docker's lines: "Loaded image: busybox:latest" or "Loaded image ID: sha256:…". */
  loaded: Array<{ name?: string; id: Digest }>;
}

interface Staged {
  dir: string;
  files: Set<string>;
  /** Symlinks inside the archive (legacy docker save links duplicate layers): name → target name. */
  links: Map<string, string>;
}

function cleanName(name: string): string | undefined {
  const n = path.posix
    .normalize('/' + name)
    .slice(1)
    .replace(/\/+$/, '');
  if (!n || n === '.' || n.split('/').includes('..')) return undefined;
  return n;
}

/** Extract the archive's regular files into `dir`; no path can leave it. */
async function stage(src: Readable, dir: string): Promise<Staged> {
  const files = new Set<string>();
  const links = new Map<string, string>();
  const extract = tarStream().extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const name = cleanName(header.name);
      const fail = (err: unknown) => {
        stream.resume();
        next(err as Error);
      };
      if (!name) {
        fail(new WharfError('INVALID_ARGUMENT', `invalid archive: entry "${header.name}" escapes the archive root`));
        return;
      }
      if (header.type === 'symlink' || header.type === 'link') {
        const target =
          header.type === 'symlink'
            ? path.posix.join(path.posix.dirname(name), header.linkname ?? '')
            : (header.linkname ?? '');
        const t = cleanName(target);
        if (!t) {
          fail(new WharfError('INVALID_ARGUMENT', `invalid archive: link "${header.name}" points outside the archive`));
          return;
        }
        links.set(name, t);
        stream.resume();
        next();
        return;
      }
      if (header.type !== 'file' && header.type !== 'contiguous-file') {
        stream.resume();
        next();
        return;
      }
      const dest = path.join(dir, name);
      fsp
        .mkdir(path.dirname(dest), { recursive: true })
        .then(() => streamPromises().pipeline(stream, createWriteStream(dest, { flags: 'wx' })))
        .then(() => {
          files.add(name);
          next();
        })
        // A full disk is not a bad archive: say so, and where.
        .catch((err: unknown) => fail(withDiskFullPlace(err, dest)));
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  const input = await decompressStream(src);
  await Promise.all([streamPromises().pipeline(input, extract), done]).catch((err) => {
    if (err instanceof WharfError) throw err;
    if (isDiskFull(err)) throw withDiskFullPlace(err, `the archive's staging directory ${dir}`);
    throw new WharfError('INVALID_ARGUMENT', `invalid archive: ${(err as Error).message}`, { cause: err });
  });
  return { dir, files, links };
}

function resolveName(s: Staged, name: string): string | undefined {
  let n: string | undefined = cleanName(name);
  for (let hops = 0; n && hops < 16; hops++) {
    if (s.files.has(n)) return n;
    n = s.links.get(n);
  }
  return undefined;
}

async function readSmall(s: Staged, name: string, expected?: Digest): Promise<Buffer> {
  const n = resolveName(s, name);
  if (!n) throw new WharfError('INVALID_ARGUMENT', `invalid archive: ${name} is missing`);
  const p = path.join(s.dir, n);
  const st = await fsp.stat(p);
  if (st.size > MAX_MANIFEST_BYTES)
    throw new WharfError('TOO_LARGE', `invalid archive: ${name} is larger than ${MAX_MANIFEST_BYTES} bytes`);
  const data = await fsp.readFile(p);
  if (expected && digestOf(data) !== expected) {
    throw new WharfError('DIGEST_MISMATCH', `invalid archive: ${name} does not match its digest ${expected}`);
  }
  return data;
}

interface PlannedImage {
  configRaw: Buffer;
  /** Per layer: archive file name and, for OCI blobs, the descriptor to verify. */
  layers: Array<{ file: string; desc?: Descriptor }>;
  names: string[];
}

/** docker save (both formats) and skopeo docker-archive: manifest.json. */
async function planDockerArchive(s: Staged): Promise<PlannedImage[]> {
  const raw = await readSmall(s, 'manifest.json');
  let entries: Array<{ Config?: unknown; RepoTags?: unknown; Layers?: unknown }>;
  try {
    entries = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new WharfError('INVALID_ARGUMENT', 'invalid archive: manifest.json is not valid JSON');
  }
  if (!Array.isArray(entries)) throw new WharfError('INVALID_ARGUMENT', 'invalid archive: manifest.json is not a list');
  const out: PlannedImage[] = [];
  for (const [i, e] of entries.entries()) {
    if (typeof e?.Config !== 'string' || !Array.isArray(e.Layers) || !e.Layers.every((l) => typeof l === 'string')) {
      throw new WharfError('INVALID_ARGUMENT', `invalid archive: manifest.json entry ${i} needs Config and Layers`);
    }
    // The config's name is its digest in both layouts (<hex>.json or blobs/sha256/<hex>).
    const m = /(?:^|\/)([a-f0-9]{64})(?:\.json)?$/.exec(e.Config);
    const expected = m ? (`sha256:${m[1]}` as Digest) : undefined;
    const configRaw = await readSmall(s, e.Config, expected);
    const tags = Array.isArray(e.RepoTags) ? e.RepoTags.filter((t): t is string => typeof t === 'string') : [];
    out.push({ configRaw, layers: (e.Layers as string[]).map((file) => ({ file })), names: tags });
  }
  return out;
}

/** An OCI image layout (skopeo oci-archive, or the OCI side of docker save): index.json → manifests → blobs. */
async function planOciLayout(s: Staged, platform: Platform = hostPlatform()): Promise<PlannedImage[]> {
  const blobName = (d: Digest) => `blobs/${d.slice(0, d.indexOf(':'))}/${hexOf(d)}`;
  const out: PlannedImage[] = [];
  const indexRaw = await readSmall(s, 'index.json');
  const root = parseManifest(indexRaw, 'application/vnd.oci.image.index.v1+json');
  if (root.kind !== 'index')
    throw new WharfError('INVALID_ARGUMENT', 'invalid archive: index.json is not an image index');
  const visit = async (desc: Descriptor, names: string[], depth: number): Promise<void> => {
    if (depth > 8) throw new WharfError('INVALID_ARGUMENT', 'invalid archive: image indexes nested too deep');
    const raw = await readSmall(s, blobName(desc.digest), desc.digest);
    const parsed = parseManifest(raw, desc.mediaType);
    if (parsed.kind === 'index') {
      // An index holds one image per platform: the host's, or `load --platform`'s.
      const child = selectManifest(parsed.index as ImageIndex, platform);
      if (!child) throw new WharfError('NOT_FOUND', `no image for platform ${formatPlatform(platform)} in the archive`);
      await visit(child, names, depth + 1);
      return;
    }
    const cfg = parsed.manifest.config;
    const configRaw = await readSmall(s, blobName(cfg.digest), cfg.digest);
    out.push({ configRaw, layers: parsed.manifest.layers.map((d) => ({ file: blobName(d.digest), desc: d })), names });
  };
  for (const desc of root.index.manifests) {
    const a = desc.annotations ?? {};
    const names: string[] = [];
    const full = a['io.containerd.image.name'];
    const refName = a['org.opencontainers.image.ref.name'];
    if (full) names.push(full);
    else if (refName && /[/:]/.test(refName)) names.push(refName);
    if (isIndexMediaType(desc.mediaType) || desc.mediaType) await visit(desc, names, 0);
  }
  return out;
}

/** Load every image in an archive. `reopenable` is the archive path when it is a file (allows a second read). */
export async function loadArchive(
  svc: ImageService,
  src: Readable,
  opts: { root: string; platform?: Platform },
): Promise<LoadResult> {
  const tmpRoot = path.join(opts.root, 'tmp');
  await sweepStaleStaging(tmpRoot);
  // What a killed pull or load left goes first (transfer-intent.ts).
  await svc.recoverInterrupted();
  const dir = path.join(tmpRoot, `load-${process.pid}-${randomHex(4)}`);
  const intent = new ImageInIntentLog(svc.intents, LOAD_INTENT, dir);
  try {
    await fsp.mkdir(dir, { recursive: true }).catch((err: unknown) => Promise.reject(withDiskFullPlace(err, dir)));
    const s = await stage(src, dir);
    testPausePoint('load:after-stage');
    const plan = s.files.has('manifest.json')
      ? await planDockerArchive(s)
      : s.files.has('index.json')
        ? await planOciLayout(s, opts.platform)
        : undefined;
    if (!plan)
      throw new WharfError(
        'INVALID_ARGUMENT',
        'invalid archive: neither manifest.json nor index.json found (not a docker-archive or OCI archive)',
      );
    if (plan.length === 0) throw new WharfError('INVALID_ARGUMENT', 'invalid archive: it contains no image');
    const result: LoadResult = { loaded: [] };
    const want = opts.platform;
    const wanted = want
      ? plan.filter((p) => {
          const c = parseImageConfig(p.configRaw);
          return platformMatches(want, {
            os: c.os,
            architecture: c.architecture,
            ...(c.variant ? { variant: c.variant } : {}),
          });
        })
      : plan;
    if (want && wanted.length === 0)
      throw new WharfError('NOT_FOUND', `no image for platform ${formatPlatform(want)} in the archive`);
    for (const p of wanted) {
      const config = parseImageConfig(p.configRaw);
      if (config.rootfs.diff_ids.length !== p.layers.length) {
        throw new WharfError(
          'INVALID_ARGUMENT',
          `invalid archive: config lists ${config.rootfs.diff_ids.length} layers, manifest ${p.layers.length}`,
        );
      }
      const chain: Digest[] = [];
      for (const [i, layer] of p.layers.entries()) {
        const diffId = config.rootfs.diff_ids[i]!;
        const chainId = chainIdOf(chain[chain.length - 1], diffId);
        if (!svc.layers.get(chainId)) {
          const file = resolveName(s, layer.file);
          if (!file) throw new WharfError('INVALID_ARGUMENT', `invalid archive: layer ${layer.file} is missing`);
          const open = async (): Promise<Readable> => {
            const r = createReadStream(path.join(s.dir, file));
            return layer.desc && isDigest(layer.desc.digest)
              ? r.pipe(new VerifyingStream(layer.desc.digest, layer.desc.size))
              : r;
          };
          testPausePoint('load:before-unpack');
          await svc.layers
            .create(chain[chain.length - 1] ?? null, await open(), { expectedDiffId: diffId, reopen: open })
            .catch((err: unknown) => Promise.reject(withDiskFullPlace(err, `layer ${diffId} under ${opts.root}`)));
          intent.note('layers', chainId);
        }
        chain.push(chainId);
      }
      const names = p.names.map((n) => {
        try {
          return familiarString(withDefaultTag(parseNormalizedNamed(n)));
        } catch {
          throw new WharfError('INVALID_ARGUMENT', `invalid archive: bad image name ${JSON.stringify(n)}`);
        }
      });
      testPausePoint('load:before-image');
      const img = await svc.create({ configRaw: p.configRaw, chain, tags: names, tagEvents: false });
      svc.emit('load', img.id);
      if (names.length === 0) result.loaded.push({ id: img.id });
      for (const n of names) result.loaded.push({ name: n, id: img.id });
    }
    intent.done();
    return result;
  } catch (err) {
    // Layers unpacked for an image that was not recorded belong to nothing. The staging dir goes first: on a full
    // disk the database can take the rollback's writes only once its space is free.
    await fsp.rm(dir, { recursive: true, force: true });
    await rollBackImageIn(intent.record, svc.intentDeps).catch(() => {});
    throw err;
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

/** Staging dirs of loads whose process died (SIGKILL mid-load) are removed by the next load. */
async function sweepStaleStaging(tmpRoot: string): Promise<void> {
  const names = await ifExists(fsp.readdir(tmpRoot));
  if (!names) return;
  for (const n of names) {
    const m = /^load-(\d+)-/.exec(n);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid !== process.pid && !pidAlive(pid)) await fsp.rm(path.join(tmpRoot, n), { recursive: true, force: true });
  }
}
