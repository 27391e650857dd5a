import { promises as fsp } from 'node:fs';
import type { Socket } from 'node:net';
import { PassThrough, type Readable } from 'node:stream';
import type { ContentStore } from '../content/index.js';
import { DISPOSABLE_SNAPSHOT_LABEL, type Snapshotter } from '../snapshot/index.js';
import {
  applyLayer,
  copyUpperLayer,
  decompressStream,
  tarDirectory,
  type DiffTarOptions,
  type UpperCopyResult,
} from '../archive/index.js';
import { TarSplitRecorder, serializeTarSplit, reconstructTar, writeTarTo } from '../archive/tarsplit.js';
import { digestOf, type Digest } from '../digest/index.js';
import { WharfError, is, withDiskFullPlace } from '../errors/index.js';
import { drained, randomHex, teeInto } from '../util/index.js';
import type { ImageRecords, LayerRecord } from './records.js';

/** Docker's chain ID: the layer's identity together with everything below it. */
export function chainIdOf(parent: Digest | null | undefined, diffId: Digest): Digest {
  return parent ? digestOf(`${parent} ${diffId}`) : diffId;
}

export function chainIds(diffIds: readonly Digest[]): Digest[] {
  const out: Digest[] = [];
  for (const d of diffIds) out.push(chainIdOf(out[out.length - 1], d));
  return out;
}

export interface CreateLayerOptions {
  /** Refuse the layer unless its uncompressed tar hashes to this (a manifest's diff ID). */
  expectedDiffId?: Digest;
  /** Re-open the same tar (for the rare tar that tar-split cannot rebuild, e.g. one with duplicate entries). */
  reopen?: () => Promise<Readable>;
  signal?: AbortSignal;
  /**
   * Told the key of the active snapshot before it is made, and the chain ID before the snapshot is committed as the
   * layer (only when this call commits it, not when the layer existed): a caller that records its intent (commit)
   * knows what to remove if it is killed.
   */
  onStage?: (stage: { snapshot: string } | { layer: Digest }) => void;
  /**
   * Awaited once the tar is applied and its diff ID checked, before anything is committed: a pull that unpacks a
   * layer while it downloads waits here for the compressed digest to be verified (a rejection removes the snapshot).
   */
  beforeCommit?: () => Promise<void>;
  /**
   * Settled once `parent` is committed, when it is being made meanwhile (a pull unpacks its layers in parallel). An
   * overlay layer dir holds the layer's own changes whatever lies below (whiteouts are device nodes, opaque dirs an
   * xattr), so the tar is applied before then, into a snapshot of no parent that is moved under the parent once it
   * is there; with other snapshotters (a full copy of the parent first) the apply waits for it.
   */
  parentCommitted?: Promise<void>;
}

/** An active snapshot a layer is unpacked into; recovery removes those of a process that died (image/check.ts). */
const extractionKey = (parent: Digest | null) => `extract-${Date.now()}-${randomHex(4)} ${parent ?? ''}`;
const EXTRACTION_LABELS = () => ({ labels: { 'wharf.pid': String(process.pid) } });

/**
 * Layers are unpacked once into committed snapshots named by chain ID; their exact tar is kept only as a tar-split
 * record, so disk holds each layer once. Shared by every image whose chain contains it.
 */
export class LayerStore {
  constructor(
    private readonly records: ImageRecords,
    private readonly content: ContentStore,
    private readonly snapshots: Snapshotter,
  ) {}

  /** Where a chain's layers are on disk, bottom first, and Docker's name of that layout (`image inspect`'s GraphDriver). */
  directories(chain: readonly Digest[]): { driver: string; dirs: string[] } {
    return { driver: this.snapshots.differ.driverName, dirs: chain.map((c) => this.snapshots.differ.diffDir(c)) };
  }

  get(chainId: string): LayerRecord | undefined {
    return this.records.layers.get(chainId);
  }

  /** Apply a (possibly compressed) layer tar on top of `parent`; returns the existing record when already present. */
  async create(parent: Digest | null, tar: Readable, opts: CreateLayerOptions = {}): Promise<LayerRecord> {
    const ahead =
      opts.parentCommitted !== undefined && parent !== null && this.snapshots.differ.whiteoutFormat === 'overlay';
    if (!ahead) await opts.parentCommitted;
    if (parent && !ahead && !this.records.layers.get(parent))
      throw new WharfError('NOT_FOUND', `parent layer ${parent} not found`);
    let key = extractionKey(parent);
    opts.onStage?.({ snapshot: key });
    await this.snapshots.prepare(key, ahead ? undefined : (parent ?? undefined), EXTRACTION_LABELS());
    let committed = false;
    try {
      const dir = this.snapshots.differ.diffDir(key);
      const uncompressed = await decompressStream(tar);
      const toApply = new PassThrough({ highWaterMark: 1 << 20 });
      const recorder = new TarSplitRecorder();
      const applied = applyLayer(toApply, dir, {
        whiteouts: this.snapshots.differ.whiteoutFormat,
        uncompressed: true,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      // A failed apply (a full disk) stops reading `toApply`: fail the tee too, or it waits for a drain that never
      // comes, the event loop empties, and the command exited 0 with nothing done.
      applied.catch((err: unknown) => toApply.destroy(err as Error));
      const teeFailed = await teeInto(uncompressed, [toApply, recorder]).then(
        () => undefined,
        (err: unknown) => err ?? new Error('the layer tar could not be read'),
      );
      // An applier that failed (a full disk) destroyed `toApply`, which fails the tee with a bare abort: its own
      // error is the one to report (applied settles either way: the tee destroys `toApply` when it fails).
      if (teeFailed !== undefined) {
        await applied;
        throw teeFailed;
      }
      const { diffId, size: tarSize } = await applied;
      if (opts.expectedDiffId && diffId !== opts.expectedDiffId) {
        throw new WharfError(
          'DIGEST_MISMATCH',
          `layer content does not match its diff ID: expected ${opts.expectedDiffId}, got ${diffId}`,
        );
      }
      await opts.beforeCommit?.();
      const chainId = chainIdOf(parent, diffId);
      if (ahead) {
        await opts.parentCommitted;
        if (!this.records.layers.get(parent!)) throw new WharfError('NOT_FOUND', `parent layer ${parent} not found`);
        if (!this.records.layers.get(chainId)) key = await this.#moveUnder(key, parent!, opts);
      }
      const existing = this.records.layers.get(chainId);
      if (existing) return existing;

      let tarsplit: Digest | null = null;
      let tarBlob: Digest | null = null;
      if (recorder.reproducible) {
        tarsplit = (await this.content.write(serializeTarSplit(recorder.segments()))).digest;
      } else if (opts.reopen) {
        tarBlob = (await this.content.write(await decompressStream(await opts.reopen()), { digest: diffId })).digest;
      }
      const rec = await this.#commitExtracted(key, parent, chainId, diffId, tarSize, tarsplit, tarBlob, opts);
      committed = true;
      return rec;
    } finally {
      if (!committed) {
        // Free the space first: after a full disk, the database needs room to record the removal at all.
        await fsp.rm(this.snapshots.differ.diffDir(key), { recursive: true, force: true }).catch(() => {});
        await this.snapshots.remove(key).catch(() => {});
      }
    }
  }

  /**
   * The files applied into parentless extraction snapshot `key` into a new one on `parent` (overlay only: the layer
   * dir is the whole of what a snapshot holds, and a rename moves it). Returns the new key; `key` is removed. A kill
   * in between leaves extraction snapshots of a dead process, which recovery removes as it does any other.
   */
  async #moveUnder(key: string, parent: Digest, opts: CreateLayerOptions): Promise<string> {
    const moved = extractionKey(parent);
    opts.onStage?.({ snapshot: moved });
    await this.snapshots.prepare(moved, parent, EXTRACTION_LABELS());
    try {
      const from = this.snapshots.differ.diffDir(key);
      const to = this.snapshots.differ.diffDir(moved);
      await fsp.rmdir(to);
      await fsp.rename(from, to);
      // The old snapshot stays whole (an empty layer dir) until it is removed just below.
      await fsp.mkdir(from);
      await this.snapshots.remove(key);
    } catch (err) {
      await this.discardExtraction(moved).catch(() => {});
      throw err;
    }
    return moved;
  }

  /**
   * Remove an extraction snapshot that create() left (its own removal failed: a full disk, with the space held by
   * something the caller frees afterwards, such as a pull's partial download). Nothing when it is gone already.
   */
  async discardExtraction(key: string): Promise<void> {
    await fsp.rm(this.snapshots.differ.diffDir(key), { recursive: true, force: true });
    await this.snapshots.remove(key).catch((err: unknown) => (is(err, 'NOT_FOUND') ? undefined : Promise.reject(err)));
  }

  /**
   * A container's overlay upper dir as a new layer on `parent` (commit): copied in one pass (copyUpperLayer), which
   * gives the same files, diff ID and tar-split as create() from overlayDiffTar's tar, without streaming a tar.
   * Falls back to that for what the one pass does not handle (a non-overlay snapshotter, a file named like a whiteout).
   */
  async createFromUpper(
    parent: Digest | null,
    upperDir: string,
    fallbackTar: () => Promise<Readable>,
    opts: CreateLayerOptions & { onProgress?: (tarBytes: number) => void } = {},
  ): Promise<LayerRecord> {
    const { onProgress, ...createOpts } = opts;
    if (this.snapshots.differ.whiteoutFormat !== 'overlay') return this.create(parent, await fallbackTar(), createOpts);
    if (parent && !this.records.layers.get(parent))
      throw new WharfError('NOT_FOUND', `parent layer ${parent} not found`);
    const key = extractionKey(parent);
    opts.onStage?.({ snapshot: key });
    await this.snapshots.prepare(key, parent ?? undefined, EXTRACTION_LABELS());
    let committed = false;
    let fallback = false;
    try {
      let copied: UpperCopyResult;
      try {
        copied = await copyUpperLayer(upperDir, this.snapshots.differ.diffDir(key), {}, onProgress);
      } catch (err) {
        // Node's message of a failed write() names no file: say where the disk is full.
        if (!is(err, 'UNSUPPORTED'))
          throw withDiskFullPlace(err, `the new layer in ${this.snapshots.differ.diffDir(key)}`);
        fallback = true;
        throw err;
      }
      const chainId = chainIdOf(parent, copied.diffId);
      const existing = this.records.layers.get(chainId);
      if (existing) return existing;
      const tarsplit = (await this.content.write(serializeTarSplit(copied.segments))).digest;
      const rec = await this.#commitExtracted(
        key,
        parent,
        chainId,
        copied.diffId,
        copied.tarSize,
        tarsplit,
        null,
        opts,
      );
      committed = true;
      return rec;
    } catch (err) {
      if (!fallback) throw err;
    } finally {
      if (!committed) {
        await fsp.rm(this.snapshots.differ.diffDir(key), { recursive: true, force: true }).catch(() => {});
        await this.snapshots.remove(key).catch(() => {});
      }
    }
    return this.create(parent, await fallbackTar(), createOpts);
  }

  /** Commit extracted snapshot `key` as layer `chainId` and record it (another process's same layer wins). */
  async #commitExtracted(
    key: string,
    parent: Digest | null,
    chainId: Digest,
    diffId: Digest,
    tarSize: number,
    tarsplit: Digest | null,
    tarBlob: Digest | null,
    opts: CreateLayerOptions,
  ): Promise<LayerRecord> {
    opts.onStage?.({ layer: chainId });
    try {
      await this.snapshots.commit(chainId, key);
    } catch (err) {
      // Another process committed the same layer first: use theirs.
      if (!is(err, 'ALREADY_EXISTS')) throw err;
      await fsp.rm(this.snapshots.differ.diffDir(key), { recursive: true, force: true }).catch(() => {});
      await this.snapshots.remove(key).catch(() => {});
    }
    const { size } = await this.snapshots.usage(chainId);
    const rec: LayerRecord = {
      chainId,
      diffId,
      parent,
      size,
      tarSize,
      tarsplit,
      tarBlob,
      created: new Date().toISOString(),
    };
    this.records.layers.insert(rec);
    return this.records.layers.get(chainId)!;
  }

  /**
   * Turn an active snapshot (a container's or a build step's writable layer on `parent`) into a committed layer,
   * without copying: the overlay upper dir is the layer. Its tar is generated once, to learn the diff ID and record
   * tar-split. Returns the existing layer when the same change was committed before (the snapshot is then removed).
   * Only for a snapshotter whose diff dir holds the snapshot's own changes alone (overlay whiteouts): the builder,
   * its caller, reads that dir as the step's changes.
   */
  async commitSnapshot(key: string, parent: Digest | null, opts: DiffTarOptions = {}): Promise<LayerRecord> {
    if (this.snapshots.differ.whiteoutFormat !== 'overlay') {
      throw new WharfError('UNSUPPORTED', 'committing a snapshot needs the overlay snapshotter');
    }
    // One pass over the upper dir: headers and file bodies hashed, tar-split from the same headers, no tar streamed.
    const made = await copyUpperLayer(this.snapshots.differ.diffDir(key), null, opts);
    const diffId = made.diffId;
    const chainId = chainIdOf(parent, diffId);
    const existing = this.records.layers.get(chainId);
    if (existing) {
      await this.snapshots.remove(key);
      return existing;
    }
    const tarsplit = (await this.content.write(serializeTarSplit(made.segments))).digest;
    let committed = false;
    try {
      try {
        await this.snapshots.commit(chainId, key);
      } catch (err) {
        if (!is(err, 'ALREADY_EXISTS')) throw err;
        await this.snapshots.remove(key);
      }
      committed = true;
      const { size } = await this.snapshots.usage(chainId);
      this.records.layers.insert({
        chainId,
        diffId,
        parent,
        size,
        tarSize: made.tarSize,
        tarsplit,
        tarBlob: null,
        created: new Date().toISOString(),
      });
    } catch (err) {
      // A full disk fails the commit or the record: the tar-split no layer took would be an orphan blob, and a
      // committed snapshot without its record an orphan snapshot (issue 16, finding 7).
      if (committed && !this.records.layers.get(chainId)) await this.snapshots.remove(chainId).catch(() => {});
      if (!this.records.layers.blobInUse(tarsplit)) await this.content.delete(tarsplit).catch(() => {});
      throw err;
    }
    return this.records.layers.get(chainId)!;
  }

  /** A tar of a whole directory as a new layer (flattening, `--squash`): applied like any other layer. */
  async createFromDirectory(parent: Digest | null, dir: string, opts: DiffTarOptions = {}): Promise<LayerRecord> {
    return this.create(parent, tarDirectory(dir, opts));
  }

  /** The layer's exact uncompressed tar (its sha256 is the diff ID). */
  async tar(chainId: string): Promise<Readable> {
    const l = this.#tarSource(chainId);
    if ('tarBlob' in l) return this.content.read(l.tarBlob);
    return reconstructTar(await this.content.read(l.tarsplit), this.snapshots.differ.diffDir(chainId));
  }

  /**
   * tar()'s bytes as a function that writes them into a socket or pipe (not ending it), the files' contents by
   * sendfile where the native addon is there (archive/tarsplit.ts's writeTarTo): how a zstd push feeds its
   * compressor. Throws at once what tar() would (no such layer, no byte-exact tar).
   */
  tarWriter(chainId: string): (sink: Socket) => Promise<void> {
    const l = this.#tarSource(chainId);
    const dir = this.snapshots.differ.diffDir(chainId);
    if (!('tarBlob' in l)) return async (sink) => writeTarTo(await this.content.read(l.tarsplit), dir, sink);
    return async (sink) => {
      for await (const chunk of await this.content.read(l.tarBlob)) {
        if (sink.destroyed) throw new WharfError('UNAVAILABLE', "the tar's reader went away");
        if (!sink.write(chunk as Buffer)) await drained(sink);
      }
    };
  }

  /** The layer's record, if its exact tar can be made: from its stored tar, or its tar-split and its files. */
  #tarSource(chainId: string): { tarBlob: Digest } | { tarsplit: Digest } {
    const l = this.records.layers.get(chainId);
    if (!l) throw new WharfError('NOT_FOUND', `layer ${chainId} not found`);
    if (l.tarBlob) return { tarBlob: l.tarBlob };
    if (!l.tarsplit) {
      throw new WharfError(
        'UNSUPPORTED',
        `layer ${l.diffId} cannot be exported byte for byte (its tar had duplicate entries)`,
      );
    }
    return { tarsplit: l.tarsplit };
  }

  /** Remove layers from the top of a chain down while nothing else uses them. Returns the removed chain IDs. */
  async release(chain: readonly Digest[]): Promise<Digest[]> {
    const removed: Digest[] = [];
    for (let i = chain.length - 1; i >= 0; i--) {
      const chainId = chain[i]!;
      const l = this.records.layers.get(chainId);
      if (!l) continue;
      if (this.records.layers.users(chainId) > 0) break;
      try {
        await this.#removeDisposableChildren(chainId);
        await this.snapshots.remove(chainId);
      } catch (err) {
        // A container or build step still sits on this layer: keep it (and everything below).
        if (is(err, 'FAILED_PRECONDITION')) break;
        if (!is(err, 'NOT_FOUND')) throw err;
      }
      this.records.layers.delete(chainId);
      // Another layer with the same changes on another parent may share the blob (a COPY of one file onto two bases).
      for (const d of [l.tarsplit, l.tarBlob])
        if (d && !this.records.layers.blobInUse(d)) await this.content.delete(d).catch(() => {});
      removed.push(chainId);
    }
    return removed;
  }

  /** Derived snapshots on a layer (containers' shared init layer) that nothing sits on any more. */
  async #removeDisposableChildren(chainId: string): Promise<void> {
    for await (const s of this.snapshots.walk()) {
      if (s.parent !== chainId || s.kind !== 'committed' || !s.labels[DISPOSABLE_SNAPSHOT_LABEL]) continue;
      await this.snapshots.remove(s.key).catch((err: unknown) => {
        // A container still uses it: the layer's own removal then reports that.
        if (!is(err, 'FAILED_PRECONDITION') && !is(err, 'NOT_FOUND')) throw err;
      });
    }
  }
}
