import type { Readable } from 'node:stream';
import { WharfError, is, isDiskFull } from '../errors/index.js';
import type { Digest } from '../digest/index.js';
import type { ContentProvider, Ingester } from '../content/index.js';
import {
  DEFAULT_TAG,
  familiarName,
  familiarString,
  formatReference,
  parseNormalizedNamed,
  repositoryName,
  type Reference,
} from '../reference/index.js';
import {
  MAX_CONFIG_BYTES,
  formatPlatform,
  hostPlatform,
  isConfigMediaType,
  isLayerMediaType,
  parseImageConfig,
  parseManifest,
  parsePlatform,
  platformMatches,
  selectManifest,
  type Descriptor,
  type ImageManifest,
  type Platform,
} from '../oci/index.js';
import {
  ImageInIntentLog,
  PULL_INTENT,
  chainIds,
  imageIdOf,
  rollBackImageIn,
  type LayerRecord,
} from '../image/index.js';
import { randomHex, Semaphore, testPausePoint } from '../util/index.js';
import { RegistryClient } from '../remote/index.js';
import type { GrowingFile } from './growing-file.js';
import { downloadLayer, ingestRefOf } from './layer-download.js';
import { shortHex, type ProgressFn, type TransferCommonOptions, type TransferEngine } from './types.js';

export interface PullOptions extends TransferCommonOptions {
  /** 'linux/arm64' or a Platform; default: the host's. */
  platform?: string | Platform;
  /** Pull every tag of the repository (`pull -a`). */
  allTags?: boolean;
}

export interface PullResult {
  /** The full reference pulled ('docker.io/library/busybox:latest', or '…@sha256:…'). */
  reference: string;
  /** The digest the registry serves for it (the index's, for a multi-platform image). */
  digest: Digest;
  imageId: Digest;
  /** Nothing changed locally: the name already pointed at this image. */
  upToDate: boolean;
  /** Layers downloaded (the rest existed). */
  downloaded: number;
}

/**
 * `docker pull`: resolve the name to a manifest (choosing the platform from an index), download the layers that are
 * not here yet (a few at once, into resumable ingests that continue with Range after a failure), verify them, unpack
 * them in order, and record the image with its tag and repo digest. Compressed blobs are not kept once unpacked;
 * their digests are remembered so that a later push can skip or mount them.
 */
export async function pull(engine: TransferEngine, name: string, opts: PullOptions = {}): Promise<PullResult[]> {
  const emit: ProgressFn = opts.onProgress ?? (() => {});
  const parsed = parseNormalizedNamed(name);
  if (opts.allTags && (parsed.tag !== undefined || parsed.digest !== undefined)) {
    throw new WharfError('INVALID_ARGUMENT', "tag can't be used with --all-tags/-a");
  }
  const client = opts.client ?? RegistryClient.forDomain(parsed.domain, opts.remote ?? {});
  try {
    let refs: Reference[];
    if (opts.allTags) {
      const tags = await client.tags.list(parsed.path);
      if (tags.length === 0) throw new WharfError('NOT_FOUND', `repository ${familiarName(parsed)} has no tags`);
      refs = tags.map((tag) => ({ domain: parsed.domain, path: parsed.path, tag }));
    } else if (parsed.digest !== undefined) {
      refs = [{ domain: parsed.domain, path: parsed.path, digest: parsed.digest }];
    } else if (parsed.tag !== undefined) {
      refs = [parsed];
    } else {
      emit({ type: 'message', text: `Using default tag: ${DEFAULT_TAG}` });
      refs = [{ ...parsed, tag: DEFAULT_TAG }];
    }
    const results: PullResult[] = [];
    for (const ref of refs) results.push(await pullOne(engine, client, ref, opts, emit));
    const shown = opts.allTags ? familiarName(parsed) : familiarString(refs[0]!);
    const fresh = results.some((r) => !r.upToDate);
    emit({
      type: 'message',
      text: fresh ? `Status: Downloaded newer image for ${shown}` : `Status: Image is up to date for ${shown}`,
    });
    return results;
  } finally {
    if (!opts.client) client.close();
  }
}

async function pullOne(
  engine: TransferEngine,
  client: RegistryClient,
  ref: Reference,
  opts: PullOptions,
  emit: ProgressFn,
): Promise<PullResult> {
  const { images, content } = engine;
  const repo = ref.path;
  const repoName = repositoryName(ref);
  const identifier = (ref.digest ?? ref.tag)!;
  const want = typeof opts.platform === 'string' ? parsePlatform(opts.platform) : (opts.platform ?? hostPlatform());

  // What a killed pull or load left goes first, before looking at which layers are here: it may release some, its
  // partial downloads would block ours, its blobs would be orphans.
  await images.recoverInterrupted();
  const top = await client.manifests.get(repo, identifier);
  const topParsed = parseManifest(top.raw, top.mediaType);
  emit({ type: 'message', text: `${identifier}: Pulling from ${repo}` });

  let manifest: ImageManifest;
  if (topParsed.kind === 'index') {
    const chosen = selectManifest(topParsed.index, want);
    if (!chosen) {
      throw new WharfError(
        'NOT_FOUND',
        `no matching manifest for ${formatPlatform(want)} in the manifest list entries`,
      );
    }
    const child = await client.manifests.get(repo, chosen.digest);
    const childParsed = parseManifest(child.raw, child.mediaType);
    if (childParsed.kind !== 'manifest')
      throw new WharfError('UNSUPPORTED', `${familiarString(ref)}: nested image indexes are not supported`);
    manifest = childParsed.manifest;
  } else {
    manifest = topParsed.manifest;
  }
  if (!isConfigMediaType(manifest.config.mediaType)) {
    throw new WharfError(
      'UNSUPPORTED',
      `${familiarString(ref)} is not a container image (config media type ${manifest.config.mediaType})`,
    );
  }
  for (const l of manifest.layers) {
    if (!isLayerMediaType(l.mediaType))
      throw new WharfError(
        'UNSUPPORTED',
        `${familiarString(ref)} has a layer of unsupported media type ${l.mediaType}`,
      );
  }

  const configRaw = await client.blobs.fetch(repo, manifest.config.digest, MAX_CONFIG_BYTES);
  const config = parseImageConfig(configRaw);
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== manifest.layers.length) {
    throw new WharfError(
      'INVALID_ARGUMENT',
      `${familiarString(ref)}: the manifest lists ${manifest.layers.length} layers but the config ${diffIds.length}`,
    );
  }
  if (opts.platform !== undefined && topParsed.kind === 'manifest') {
    const actual: Platform = {
      os: config.os,
      architecture: config.architecture,
      ...(config.variant ? { variant: config.variant } : {}),
    };
    if (!platformMatches(want, actual)) {
      throw new WharfError(
        'NOT_FOUND',
        `image with reference ${familiarString(ref)} was found but does not match the specified platform: wanted ${formatPlatform(want)}, actual: ${formatPlatform(actual)}`,
      );
    }
  }
  const imageId = imageIdOf(configRaw);
  const chain = chainIds(diffIds);

  // Layers already unpacked here (the whole chain below them too, by construction of chain IDs). dockerd says
  // "Already exists" for them only when the image itself is new: of an image it has, it prints no layer line at all.
  const imageStored = images.records.images.get(imageId) !== undefined;
  const missing: number[] = [];
  manifest.layers.forEach((l, i) => {
    if (images.layers.get(chain[i]!)) {
      if (!imageStored) emit({ type: 'layer', id: shortHex(l.digest), status: 'Already exists' });
      images.records.layerBlobs.add(diffIds[i]!, l.digest, l.mediaType, l.size, repoName);
    } else {
      missing.push(i);
    }
  });

  const leaseId = `pull-${process.pid}-${randomHex(6)}`;
  images.records.leases.create(leaseId, process.pid);
  // Write-ahead note of what this pull makes (image/transfer-intent.ts): a kill leaves it for the next command.
  const intent = new ImageInIntentLog(images.intents, PULL_INTENT, formatReference(ref));
  try {
    for (const i of missing) {
      emit({ type: 'layer', id: shortHex(manifest.layers[i]!.digest), status: 'Pulling fs layer' });
      images.records.leases.addResource(leaseId, 'content', manifest.layers[i]!.digest);
    }
    await downloadAndApply(
      engine,
      client,
      repo,
      repoName,
      manifest.layers,
      diffIds,
      chain,
      missing,
      opts.concurrency ?? 3,
      emit,
      intent,
    );

    // Keep the exact bytes of what the name resolved to (the index, for a multi-platform image): the repo digest
    // recorded below refers to them.
    await content.writeBuffer(top.raw);
    const tagName = ref.tag !== undefined ? formatReference(ref) : undefined;
    const before = tagName
      ? images.records.tags.get(tagName)?.imageId
      : images.records.manifests.imageOf(repoName, top.digest);
    testPausePoint('pull:before-image');
    // Docker's pull has one `pull` event (Registries.pull), no `tag`.
    await images.create({ configRaw, chain, tags: tagName ? [tagName] : [], tagEvents: false });
    images.records.manifests.add({ imageId, repository: repoName, digest: top.digest, mediaType: topParsed.mediaType });
    intent.done();
    emit({ type: 'message', text: `Digest: ${top.digest}` });
    return {
      reference: formatReference(ref),
      digest: top.digest,
      imageId,
      upToDate: before === imageId && missing.length === 0,
      downloaded: missing.length,
    };
  } catch (err) {
    // Undo what this pull made; partial downloads stay for the next pull to resume, unless the local disk failed.
    const keepIngests = !isDiskFull(err) && !isDiskFull((err as Error).cause);
    await rollBackImageIn(intent.record, images.intentDeps, { keepIngests, ownLease: leaseId }).catch(() => {});
    throw err;
  } finally {
    images.records.leases.delete(leaseId);
  }
}

/**
 * Downloads run `concurrency` at a time; each layer is unpacked while its download is still landing in its ingest
 * (GrowingFile) when this pull downloads it, else from the stored blob. Layers are unpacked in parallel, each into
 * a snapshot of its own (LayerStore.create's parentCommitted), and committed strictly in order, each on its parent
 * and only once its compressed digest is verified too (create's beforeCommit). The first failure stops the rest.
 */
async function downloadAndApply(
  engine: TransferEngine,
  client: RegistryClient,
  repo: string,
  repoName: string,
  layers: readonly Descriptor[],
  diffIds: readonly Digest[],
  chain: readonly Digest[],
  missing: readonly number[],
  concurrency: number,
  emit: ProgressFn,
  intent: ImageInIntentLog,
): Promise<void> {
  const { images, content } = engine;
  const sem = new Semaphore(Math.max(1, concurrency));
  const stopAll = new AbortController();
  let firstError: unknown;
  const downloads = new Map<number, Promise<boolean>>();
  // Settled once a layer's download is readable as it grows (its GrowingFile in `growing`) or is over.
  const readable = new Map<number, Promise<void>>();
  const growing = new Map<number, GrowingFile>();
  for (const i of missing) {
    let ready!: () => void;
    readable.set(i, new Promise<void>((r) => (ready = r)));
    const p = (async () => {
      const release = await sem.acquire();
      try {
        if (stopAll.signal.aborted) throw new WharfError('CANCELLED', 'pull stopped after another layer failed');
        return await downloadLayer(
          content,
          client,
          repo,
          layers[i]!,
          emit,
          () => images.layers.get(chain[i]!) !== undefined,
          intent,
          (file) => {
            growing.set(i, file);
            ready();
          },
        );
      } finally {
        release();
        ready();
      }
    })();
    p.catch(() => {});
    downloads.set(i, p);
  }

  const step: LayerStep = { engine, repoName, layers, diffIds, chain, emit, intent, signal: stopAll.signal };
  // Settled once layer i is in the store (committed by this pull, or found there): its child commits after it.
  const done = new Map<number, Promise<void>>();
  for (const i of missing) {
    const parentCommitted = done.get(i - 1) ?? Promise.resolve();
    const p = unpackLayer(step, i, downloads.get(i)!, readable.get(i)!, () => growing.get(i), parentCommitted).catch(
      (err: unknown) => {
        // The first failure is the one reported: the others follow from it (a parent that failed, the abort).
        if (firstError === undefined) {
          firstError = err;
          stopAll.abort();
        }
        throw err;
      },
    );
    p.catch(() => {});
    done.set(i, p);
  }
  await Promise.allSettled(done.values());
  if (firstError === undefined) return;
  await Promise.allSettled(downloads.values());
  for (const f of growing.values()) await f.close().catch(() => {});
  throw firstError;
}

interface LayerStep {
  engine: TransferEngine;
  repoName: string;
  layers: readonly Descriptor[];
  diffIds: readonly Digest[];
  chain: readonly Digest[];
  emit: ProgressFn;
  intent: ImageInIntentLog;
  /** Aborted once any layer failed. */
  signal: AbortSignal;
}

/** Unpack and commit layer `i` (on its parent, once `parentCommitted`), from its growing download or stored blob. */
async function unpackLayer(
  s: LayerStep,
  i: number,
  download: Promise<boolean>,
  readable: Promise<void>,
  growingFile: () => GrowingFile | undefined,
  parentCommitted: Promise<void>,
): Promise<void> {
  const { engine, repoName, layers, diffIds, chain, emit, intent } = s;
  const { images, content } = engine;
  const desc = layers[i]!;
  const id = shortHex(desc.digest);
  const parent = i === 0 ? null : chain[i - 1]!;
  await readable;
  const file = growingFile();
  try {
    if (file && !images.layers.get(chain[i]!)) {
      emit({ type: 'layer', id, status: 'Extracting', total: desc.size });
      testPausePoint('pull:before-unpack');
      await unpackWhileDownloading(engine, desc, parent, diffIds[i]!, chain[i]!, file, download, {
        parentCommitted,
        signal: s.signal,
      });
      await applied(engine, repoName, desc, diffIds[i]!, chain[i]!, await download, intent, emit);
      return;
    }
  } finally {
    await file?.close();
  }
  const downloadedNow = await download;
  if (images.layers.get(chain[i]!)) {
    // Another pull of the same layer, in another process, finished it first: the blob this one downloaded is
    // not needed any more (kept, it was an orphan).
    images.records.layerBlobs.add(diffIds[i]!, desc.digest, desc.mediaType, desc.size, repoName);
    if (downloadedNow) await dropBlob(content, desc.digest);
    emit({ type: 'layer', id, status: 'Already exists' });
    return;
  }
  emit({ type: 'layer', id, status: 'Extracting', total: desc.size });
  let blob: Readable;
  try {
    blob = await content.read(desc.digest);
  } catch (err) {
    // The other process that downloaded it may have unpacked and dropped it meanwhile.
    if (!is(err, 'NOT_FOUND') || !images.layers.get(chain[i]!)) throw err;
    emit({ type: 'layer', id, status: 'Already exists' });
    return;
  }
  testPausePoint('pull:before-unpack');
  const rec = await images.layers.create(parent, blob, {
    expectedDiffId: diffIds[i]!,
    reopen: () => content.read(desc.digest),
    parentCommitted,
    signal: s.signal,
  });
  if (rec.chainId !== chain[i])
    throw new WharfError('INTERNAL', `layer ${id} unpacked as chain ${rec.chainId}, expected ${chain[i]}`);
  await applied(engine, repoName, desc, diffIds[i]!, chain[i]!, downloadedNow, intent, emit);
}

/**
 * Unpack a layer from its download as the bytes arrive. The layer is committed only after the download's commit
 * verified the compressed digest; when both fail (a corrupted blob that gunzip refuses before the download ends),
 * the download's error is the one reported, as when unpacking from the stored blob.
 */
async function unpackWhileDownloading(
  engine: TransferEngine,
  desc: Descriptor,
  parent: Digest | null,
  diffId: Digest,
  chainId: Digest,
  file: GrowingFile,
  download: Promise<boolean>,
  order: { parentCommitted: Promise<void>; signal: AbortSignal },
): Promise<void> {
  let rec: LayerRecord;
  let snapshot: string | undefined;
  try {
    rec = await engine.images.layers.create(parent, file.reader(desc.size), {
      ...order,
      expectedDiffId: diffId,
      reopen: () => engine.content.read(desc.digest),
      onStage: (stage) => {
        if ('snapshot' in stage) snapshot = stage.snapshot;
      },
      beforeCommit: async () => {
        await download;
      },
    });
  } catch (err) {
    const failed = await download.then(
      () => undefined,
      (e: unknown) => e,
    );
    if (snapshot !== undefined && [err, failed].some(diskFull)) {
      // Unpack and download filled the disk together: the snapshot's removal in create() may have found no room
      // for its database note. The partial download goes anyway on a full disk (pullOne's rollback): drop it now,
      // then remove the snapshot again.
      await engine.content.abort(ingestRefOf(desc.digest)).catch(() => {});
      await engine.images.layers.discardExtraction(snapshot).catch(() => {});
    }
    throw failed ?? err;
  }
  if (rec.chainId !== chainId)
    throw new WharfError(
      'INTERNAL',
      `layer ${shortHex(desc.digest)} unpacked as chain ${rec.chainId}, expected ${chainId}`,
    );
}

/** A layer is unpacked: note it, remember its blob's digest, drop the blob if this pull downloaded it. */
async function applied(
  engine: TransferEngine,
  repoName: string,
  desc: Descriptor,
  diffId: Digest,
  chainId: Digest,
  downloadedNow: boolean,
  intent: ImageInIntentLog,
  emit: ProgressFn,
): Promise<void> {
  intent.note('layers', chainId);
  engine.images.records.layerBlobs.add(diffId, desc.digest, desc.mediaType, desc.size, repoName);
  // Layers are kept unpacked only; the compressed blob goes once applied (unless it was stored before this pull).
  if (downloadedNow) await dropBlob(engine.content, desc.digest);
  emit({ type: 'layer', id: shortHex(desc.digest), status: 'Pull complete' });
}

const diskFull = (err: unknown) => isDiskFull(err) || isDiskFull((err as Error | undefined)?.cause);

async function dropBlob(content: ContentProvider & Ingester & { delete(d: Digest): Promise<void> }, d: Digest) {
  await content.delete(d).catch((err) => (is(err, 'NOT_FOUND') ? undefined : Promise.reject(err)));
}
