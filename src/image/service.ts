import type { ContentStore } from '../content/index.js';
import type { Snapshotter } from '../snapshot/index.js';
import { Intents, type MetaDb } from '../meta/index.js';
import { WharfError } from '../errors/index.js';
import { shortId, digestOf, type Digest } from '../digest/index.js';
import {
  parseNormalizedNamed,
  parseDockerRef,
  formatReference,
  familiarString,
  repositoryName,
  type Reference,
} from '../reference/index.js';
import { parseImageConfig, type ImageConfig } from '../oci/index.js';
import { ImageRecords, type ImageRecord } from './records.js';
import { LayerStore } from './layers.js';
import { ImageArchives } from './archives.js';
import { recoverImageIn, type ImageIntentDeps } from './transfer-intent.js';
import type { EventLog } from '../events/index.js';

export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/** Who still uses an image (containers), answered by the container service; image/ cannot import it. */
export type ImageUsers = (imageId: Digest) => Array<{ id: string; running: boolean }>;

export type RemoveEvent = { Untagged: string } | { Deleted: string };

export interface NewImage {
  /** The exact config bytes; the image ID is their sha256. */
  configRaw: Buffer;
  /** Chain IDs of the layers, bottom first (must exist). */
  chain: readonly Digest[];
  parent?: Digest | null;
  /** References to point at the image (user input, normalized here). */
  tags?: readonly string[];
  /** Emit a `tag` event per reference (default); a load does not, as Docker's does not. */
  tagEvents?: boolean;
}

/**
 * Image records and the operations on them: resolve names and IDs, create, tag, untag, remove, prune.
 * The store holds names and records only; configs live in the content store, layers in the LayerStore.
 * Docker's listings of them (`images`, `image inspect`, `history`, `system df`) are functions over it
 * (docker-shapes.ts).
 */
export class ImageService {
  readonly records: ImageRecords;
  readonly layers: LayerStore;
  /** Tar files in and out: import, save, load. */
  readonly archives: ImageArchives;
  /** Who uses an image: rmi and prune leave it to them (the engine passes the container records' answer). */
  readonly users: ImageUsers;
  /** Write-ahead notes of pulls and loads (transfer-intent.ts): what a killed one left is rolled back. */
  readonly intents: Intents;
  readonly #db: MetaDb;
  readonly #snapshots: Snapshotter;
  readonly #content: ContentStore;

  constructor(
    db: MetaDb,
    content: ContentStore,
    snapshots: Snapshotter,
    users: ImageUsers,
    /** The Wharf root (archive loads stage under <root>/tmp). */
    root: string,
    /** Where image events go (tag, untag, delete, import, load, save, pull, push, prune); none without it. */
    readonly events?: EventLog,
  ) {
    this.#db = db;
    this.#content = content;
    this.#snapshots = snapshots;
    this.intents = new Intents(db);
    this.users = users;
    this.records = new ImageRecords(db);
    this.layers = new LayerStore(this.records, content, snapshots);
    this.archives = new ImageArchives(this, root);
  }

  /** A name (`busybox`, `busybox:1`, `x@sha256:…`), a full ID, `sha256:`-prefixed ID, or a unique ID prefix. */
  /** What rolling back pulls and loads needs (transfer-intent.ts). */
  get intentDeps(): ImageIntentDeps {
    return {
      intents: this.intents,
      records: this.records,
      layers: this.layers,
      content: this.#content,
      snapshots: this.#snapshots,
    };
  }

  /** Roll back the pulls and loads whose process is gone (each pull and load starts with it). */
  recoverInterrupted(): Promise<string[]> {
    return recoverImageIn(this.intentDeps);
  }

  resolve(nameOrId: string): ImageRecord {
    const found = this.tryResolve(nameOrId);
    if (!found) throw new WharfError('NOT_FOUND', `No such image: ${this.#displayName(nameOrId)}`);
    return found;
  }

  tryResolve(nameOrId: string): ImageRecord | undefined {
    if (/^sha256:[a-f0-9]{64}$/.test(nameOrId)) return this.records.images.get(nameOrId);
    let ref: Reference | undefined;
    try {
      ref = parseDockerRef(nameOrId);
    } catch {
      ref = undefined;
    }
    if (ref) {
      if (ref.digest) {
        const id = this.records.manifests.imageOf(repositoryName(ref), ref.digest);
        if (id) return this.records.images.get(id);
      } else {
        const t = this.records.tags.get(formatReference(ref));
        if (t) return this.records.images.get(t.imageId);
      }
    }
    const hex = nameOrId.startsWith('sha256:') ? nameOrId.slice(7) : nameOrId;
    if (/^[a-f0-9]{1,64}$/.test(hex)) {
      const matches = this.records.images.findByPrefix(hex);
      if (matches.length > 1) throw new WharfError('INVALID_ARGUMENT', `image ID prefix ${hex} is ambiguous`);
      return matches[0];
    }
    if (!ref) parseNormalizedNamed(nameOrId); // surfaces the reference error for malformed input
    return undefined;
  }

  #displayName(s: string): string {
    try {
      return familiarString(parseDockerRef(s));
    } catch {
      return s;
    }
  }

  async config(id: Digest): Promise<{ raw: Buffer; config: ImageConfig }> {
    const raw = await this.#content.readAll(id, MAX_CONFIG_BYTES);
    return { raw, config: parseImageConfig(raw) };
  }

  /** Normalize user input to a tag reference: 'busybox' → docker.io/library/busybox:latest. */
  static tagReference(name: string): Reference {
    const ref = parseNormalizedNamed(name);
    if (ref.digest)
      throw new WharfError('INVALID_ARGUMENT', `refusing to create a tag with a digest reference: ${name}`);
    return ref.tag ? ref : { ...ref, tag: 'latest' };
  }

  /** Store a config and register an image on existing layers; idempotent by config digest. */
  /**
   * `write` the records of image `id`, whose config blob is written; if that fails (a full disk cannot grow the
   * database), the blob goes too unless an image already has it: an orphan blob otherwise (issue 16, finding 7).
   */
  async #recordOrDropConfig<T>(id: Digest, write: () => T): Promise<T> {
    try {
      return write();
    } catch (err) {
      if (!this.records.images.get(id)) await this.#content.delete(id).catch(() => {});
      throw err;
    }
  }

  async create(img: NewImage): Promise<ImageRecord> {
    const config = parseImageConfig(img.configRaw);
    const refs = (img.tags ?? []).map((t) => ImageService.tagReference(t));
    if (config.rootfs.diff_ids.length !== img.chain.length) {
      throw new WharfError(
        'INVALID_ARGUMENT',
        `config lists ${config.rootfs.diff_ids.length} layers but ${img.chain.length} were given`,
      );
    }
    let size = 0;
    img.chain.forEach((c, i) => {
      const l = this.records.layers.get(c);
      if (!l) throw new WharfError('NOT_FOUND', `layer ${c} not found`);
      if (l.diffId !== config.rootfs.diff_ids[i])
        throw new WharfError(
          'DIGEST_MISMATCH',
          `layer ${i} has diff ID ${l.diffId}, config says ${config.rootfs.diff_ids[i]}`,
        );
      size += l.size;
    });
    const { digest: id } = await this.#content.writeBuffer(img.configRaw);
    const now = new Date().toISOString();
    const record = await this.#recordOrDropConfig(id, () =>
      this.#db.immediate(() => {
        this.records.images.insert(
          {
            id,
            configSize: img.configRaw.length,
            created: config.created ?? null,
            parent: img.parent ?? null,
            topChain: img.chain[img.chain.length - 1] ?? null,
            size,
            labels: config.config?.Labels ?? {},
            addedAt: now,
          },
          img.chain,
        );
        if (img.parent !== undefined && img.parent !== null) this.records.images.setParent(id, img.parent);
        for (const r of refs) this.records.tags.set(formatReference(r), repositoryName(r), r.tag!, id, now);
        return this.records.images.get(id)!;
      }),
    );
    if (img.tagEvents !== false) for (const r of refs) this.emit('tag', record.id, familiarString(r));
    return record;
  }

  /**
   * An image event as moby's LogImageEvent writes it: the image's labels, then `name` (a reference, or the ID for
   * untag, delete, import, load and save); the image's labels only while its record exists.
   */
  emit(action: string, id: string, name: string = id, labelsOf: string = id): void {
    if (!this.events) return;
    const labels = this.records.images.get(labelsOf as Digest)?.labels ?? {};
    this.events.emit('image', action, id, { ...labels, name });
  }

  /** `tag SOURCE TARGET`. */
  tag(source: string, target: string): void {
    const img = this.resolve(source);
    const ref = ImageService.tagReference(target);
    this.#db.immediate(() =>
      this.records.tags.set(formatReference(ref), repositoryName(ref), ref.tag!, img.id, new Date().toISOString()),
    );
    this.emit('tag', img.id, familiarString(ref));
  }

  /**
   * `rmi`: untag by name; delete by ID (or when the last name goes), then the parents that became dangling.
   * Follows Docker's conflict rules (daemon/images/image_delete.go).
   */
  async remove(nameOrId: string, opts: { force?: boolean; noPrune?: boolean } = {}): Promise<RemoveEvent[]> {
    const img = this.resolve(nameOrId);
    const events: RemoveEvent[] = [];
    const short = shortId(img.id);
    let byName: Reference | undefined;
    if (!isIdLike(nameOrId, img.id)) {
      try {
        byName = parseDockerRef(nameOrId);
      } catch {
        byName = undefined;
      }
    }
    const tags = this.records.tags.ofImage(img.id);
    const users = this.users(img.id);

    if (byName && !byName.digest) {
      const name = formatReference(byName);
      const repo = repositoryName(byName);
      // Docker's rule: untagging the last tag of a repository also drops that repository's digest references;
      // the image goes when no reference at all is left.
      const otherTags = tags.filter((t) => t.name !== name);
      const sameRepoTagLeft = otherTags.some((t) => t.repository === repo);
      const manifests = this.records.manifests.ofImage(img.id);
      const dropDigests = sameRepoTagLeft ? [] : manifests.filter((m) => m.repository === repo);
      const lastRef = otherTags.length === 0 && manifests.length === dropDigests.length;
      if (lastRef && users.length > 0 && !opts.force) {
        throw new WharfError(
          'CONFLICT',
          // dockerd names the reference as it was given (`busybox`, not `busybox:latest`).
          `conflict: unable to remove repository reference "${nameOrId}" (must force) - container ${shortId(users[0]!.id)} is using its referenced image ${short}`,
        );
      }
      this.#db.immediate(() => {
        this.records.tags.delete(name);
        for (const m of dropDigests) this.records.manifests.delete(img.id, m.repository, m.digest);
      });
      events.push({ Untagged: familiarString(byName) });
      for (const m of dropDigests)
        events.push({ Untagged: familiarString({ ...parseNormalizedNamed(m.repository), digest: m.digest }) });
      for (let i = 0; i <= dropDigests.length; i++) this.emit('untag', img.id);
      await this.#dropUnreferencedManifests(dropDigests.map((m) => m.digest));
      if (!lastRef || users.length > 0 || this.records.images.hasChildren(img.id)) return events;
      events.push(...(await this.#deleteImage(img.id, opts.noPrune ?? false)));
      return events;
    }

    // By ID (or digest): every name goes with it.
    if (this.records.images.hasChildren(img.id)) {
      throw new WharfError(
        'CONFLICT',
        `conflict: unable to delete ${short} (cannot be forced) - image has dependent child images`,
      );
    }
    const running = users.find((u) => u.running);
    if (running) {
      throw new WharfError(
        'CONFLICT',
        `conflict: unable to delete ${short} (cannot be forced) - image is being used by running container ${shortId(running.id)}`,
      );
    }
    if (users.length > 0 && !opts.force) {
      throw new WharfError(
        'CONFLICT',
        `conflict: unable to delete ${short} (must be forced) - image is being used by stopped container ${shortId(users[0]!.id)}`,
      );
    }
    if (tags.length > 1 && !opts.force) {
      throw new WharfError(
        'CONFLICT',
        `conflict: unable to delete ${short} (must be forced) - image is referenced in multiple repositories`,
      );
    }
    for (const t of tags) {
      this.#db.immediate(() => this.records.tags.delete(t.name));
      events.push({ Untagged: familiarString(parseNormalizedNamed(t.name)) });
      this.emit('untag', img.id);
    }
    if (users.length > 0) return events; // forced: names are gone, the image stays for its containers
    events.push(...(await this.#deleteImage(img.id, opts.noPrune ?? false)));
    return events;
  }

  /** Manifest blobs are kept while some image is known by them; drop the ones no image references any more. */
  async #dropUnreferencedManifests(digests: readonly Digest[]): Promise<void> {
    if (digests.length === 0) return;
    const stillUsed = this.records.manifests.allDigests();
    for (const d of digests) if (!stillUsed.has(d)) await this.#content.delete(d).catch(() => {});
  }

  /** Delete an untagged image record, its manifests, its now-unused layers, then dangling parents. */
  async #deleteImage(id: Digest, noPrune: boolean): Promise<RemoveEvent[]> {
    const events: RemoveEvent[] = [];
    const img = this.records.images.get(id);
    if (!img) return events;
    for (const m of this.records.manifests.ofImage(id)) {
      events.push({ Untagged: familiarString({ ...parseNormalizedNamed(m.repository), digest: m.digest }) });
      this.emit('untag', id);
    }
    for (const _ of this.records.tags.ofImage(id)) this.emit('untag', id);
    const chain = this.records.images.chain(id);
    const manifests = this.records.manifests.ofImage(id).map((m) => m.digest);
    this.#db.immediate(() => {
      for (const t of this.records.tags.ofImage(id)) this.records.tags.delete(t.name);
      this.records.images.delete(id);
    });
    events.push({ Deleted: id });
    this.emit('delete', id);
    const stillUsed = this.records.manifests.allDigests();
    for (const d of [id, ...manifests]) if (!stillUsed.has(d)) await this.#content.delete(d).catch(() => {});
    for (const c of await this.layers.release(chain)) events.push({ Deleted: c });
    if (!noPrune && img.parent) {
      const parent = this.records.images.get(img.parent);
      if (
        parent &&
        this.records.tags.ofImage(parent.id).length === 0 &&
        !this.records.images.hasChildren(parent.id) &&
        this.users(parent.id).length === 0
      ) {
        events.push(...(await this.#deleteImage(parent.id, false)));
      }
    }
    return events;
  }

  /** `image prune`: dangling images (no names, no children), or with `all` every image no container uses. */
  async prune(
    opts: { all?: boolean; filter?: (img: ImageRecord) => boolean } = {},
  ): Promise<{ events: RemoveEvent[]; reclaimed: number }> {
    const events: RemoveEvent[] = [];
    let reclaimed = 0;
    // Repeat: deleting a child can leave its parent dangling.
    for (let round = 0; round < 1000; round++) {
      const candidates = this.records.images.all().filter((img) => {
        if (this.users(img.id).length > 0 || this.records.images.hasChildren(img.id)) return false;
        if (opts.filter && !opts.filter(img)) return false;
        return opts.all ? true : this.records.tags.ofImage(img.id).length === 0;
      });
      if (candidates.length === 0) break;
      for (const img of candidates) {
        for (const t of this.records.tags.ofImage(img.id)) {
          this.#db.immediate(() => this.records.tags.delete(t.name));
          events.push({ Untagged: familiarString(parseNormalizedNamed(t.name)) });
          this.emit('untag', img.id);
        }
        const before = new Set(this.records.layers.all().map((l) => l.chainId));
        const sizes = new Map(this.records.layers.all().map((l) => [l.chainId, l.size]));
        const ev = await this.#deleteImage(img.id, true);
        events.push(...ev);
        for (const e of ev)
          if ('Deleted' in e && before.has(e.Deleted as Digest)) reclaimed += sizes.get(e.Deleted as Digest) ?? 0;
      }
    }
    this.events?.emit('image', 'prune', '', { reclaimed: String(reclaimed) });
    return { events, reclaimed };
  }
}

function isIdLike(input: string, id: Digest): boolean {
  if (input === id) return true;
  const hex = input.startsWith('sha256:') ? input.slice(7) : input;
  return /^[a-f0-9]+$/.test(hex) && id.slice(7).startsWith(hex);
}

/** The config digest that a raw config would get (the image ID), without storing it. */
export function imageIdOf(configRaw: Buffer): Digest {
  return digestOf(configRaw);
}
