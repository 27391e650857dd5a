import { familiarString } from '../reference/index.js';
import { isDiskFull, withDiskFullPlace } from '../errors/index.js';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { tarDirectory, type Change, type TarOptions } from '../archive/index.js';
import { ImageService, applyChanges, type ImageRecord } from '../image/index.js';
import { pidAlive, tarOwnerOf, testPauseMidStream, testPausePoint, withFileLock } from '../util/index.js';
import { shortId } from '../digest/index.js';
import type { Intents } from '../meta/index.js';
import { commitImage, type CommitOptions } from './commit.js';
import {
  COMMIT_INTENT,
  commitLockFile,
  recoverCommits,
  rollBackCommit,
  type CommitIntent,
  type CommitRecovery,
} from './commit-intent.js';
import { copyFromContainer, copyToContainer, statInContainer, type PathStat } from './cp.js';
import { snapshotKeyOf } from './paths.js';
import { emitContainerEvent } from './events.js';
import type { ContainerRecords } from './records.js';
import type { ContainerStore } from './store.js';
import type { Runc } from '../runtime/index.js';
import type { TaskService } from './tasks.js';
import type { ContainerRecord } from './types.js';

/** The tar options of a container's files: a remapped one's owners shifted back into its own ids. */
const tarOptionsOf = (rec: ContainerRecord): TarOptions => (rec.idMap ? { owner: tarOwnerOf(rec.idMap) } : {});

export interface ContainerFilesOptions {
  store: ContainerStore;
  images: ImageService;
  tasks: TaskService;
  /** Pauses a running container while its layer is committed. */
  runc: Runc;
  /** Where a commit records what it paused and staged, for recovery after a kill. */
  intents: Intents;
}

/**
 * What a container's file system looks like from outside: its changes (`diff`), the new image made of them
 * (`commit`), all of it as a tar (`export`), and copies in and out (`cp`). The snapshotter's differ reads the writable
 * layer, whichever backend it is.
 */
export class ContainerFiles {
  readonly #store: ContainerStore;
  readonly #records: ContainerRecords;
  readonly #images: ImageService;
  readonly #tasks: TaskService;
  readonly #runc: Runc;
  readonly #intents: Intents;

  constructor(opts: ContainerFilesOptions) {
    this.#store = opts.store;
    this.#records = opts.store.records;
    this.#images = opts.images;
    this.#tasks = opts.tasks;
    this.#runc = opts.runc;
    this.#intents = opts.intents;
  }

  /** Docker's `diff`: A/C/D from the writable layer alone, parents marked C. */
  async *diff(idOrName: string): AsyncGenerator<Change> {
    const rec = this.#records.resolve(idOrName);
    yield* this.#store.snapshots.differ.changes(snapshotKeyOf(rec.id));
  }

  /** `export`: the container's whole file system as one tar stream. */
  async exportTo(idOrName: string, dest: Writable, opts: { end?: boolean } = {}): Promise<void> {
    await this.withRootfs(idOrName, async (rootfs, rec) => {
      await pipeline(tarDirectory(rootfs, tarOptionsOf(rec)), dest, { end: opts.end ?? true });
    });
  }

  /**
   * `commit`: the writable layer becomes one new layer (its tar generated from the snapshot's changes into a new
   * layer, so a running container keeps its own), the image config gets the container's settings and the changes.
   */
  async commit(idOrName: string, opts: CommitOptions = {}): Promise<ImageRecord> {
    const rec = this.#records.resolve(idOrName);
    // A bad --change fails here, before the container is paused and its layer written (commitImage applies them).
    applyChanges(structuredClone(rec.config), opts.changes ?? []);
    return withFileLock(commitLockFile(this.#store.paths(rec.id).dir), () => this.#commitLocked(rec.id, opts), {
      timeoutSec: 600,
      purpose: `committing container ${shortId(rec.id)}`,
    });
  }

  /**
   * The commit proper, under the container's commit lock. Its intent is recorded before the container is paused,
   * so that if this process is killed the next command that looks at the container (or `system check`) resumes it and
   * drops the half-written layer; on any failure this process does the same itself.
   */
  async #commitLocked(id: string, opts: CommitOptions): Promise<ImageRecord> {
    const recovery = this.#recovery();
    const before = this.#records.resolve(id);
    await recoverCommits(id, this.#store.paths(id).dir, recovery, {
      userPaused: before.state.paused === true,
      locked: true,
    });
    const v = await this.#tasks.observe(this.#records.resolve(id));
    const pause = v.running && v.status !== 'paused' && opts.pause !== false;
    const intent = recovery.intents.begin<CommitIntent>(COMMIT_INTENT, v.id, { paused: pause });
    let img: ImageRecord;
    try {
      if (pause) {
        await this.#runc.pause(v.id);
        emitContainerEvent(this.#store.events, 'pause', v); // as dockerd's commit pauses: with its events
      }
      testPausePoint('commit:after-pause');
      const key = snapshotKeyOf(v.id);
      const differ = this.#store.snapshots.differ;
      // The one-pass copy of the upper dir records the files' owners as they are on disk: a remapped container's
      // (host ids) goes through the tar, which records its own ids (root as 0).
      const source = {
        ...(differ.whiteoutFormat === 'overlay' && !v.idMap ? { upperDir: differ.diffDir(key) } : {}),
        tar: async () => testPauseMidStream(await differ.diffTar(key, tarOptionsOf(v)), 'commit:writing-layer'),
      };
      img = await commitImage(this.#images, v, source, opts, (stage) =>
        recovery.intents.update(intent, { ...intent.payload, ...stage }),
      );
      testPausePoint('commit:after-image');
    } catch (err) {
      // Undo what this commit did (resume, the partial layer), then report the first failure, not the clean-up's.
      const undone = await rollBackCommit(intent, recovery, false).catch(() => []);
      if (undone.some((d) => d.startsWith('unpaused'))) emitContainerEvent(this.#store.events, 'unpause', v);
      throw err;
    }
    // dockerd's order: the commit event, then the unpause (its deferred resume).
    emitContainerEvent(this.#store.events, 'commit', v, {
      comment: opts.comment ?? '',
      imageID: img.id,
      imageRef: opts.reference ? familiarString(ImageService.tagReference(opts.reference)) : '',
    });
    if (pause) {
      await this.#runc.resume(v.id);
      emitContainerEvent(this.#store.events, 'unpause', v);
    }
    recovery.intents.clear(intent.id);
    return img;
  }

  #recovery(): CommitRecovery {
    return { intents: this.#intents, runc: this.#runc, snapshots: this.#store.snapshots, layers: this.#images.layers };
  }

  /** `cp CONTAINER:SRC DEST` (DEST a host path, or a stream for `-`). */
  async copyFrom(
    idOrName: string,
    src: string,
    dest: string | Writable,
    opts: { followLink?: boolean } = {},
  ): Promise<void> {
    await this.#withCpRoot(idOrName, (rootfs, rec, live) =>
      copyFromContainer(rootfs, rec.name, src, dest, { ...opts, live, ...(rec.idMap ? { idMap: rec.idMap } : {}) }),
    );
  }

  /** Docker's stat of a path in the container (`cp`'s HEAD of the archive endpoint); NOT_FOUND when missing. */
  async statPath(idOrName: string, p: string): Promise<PathStat> {
    return this.#withCpRoot(idOrName, (rootfs, rec) => statInContainer(rootfs, rec.name, p));
  }

  /** `cp SRC CONTAINER:DEST` (SRC a host path, or a tar stream for `-`). */
  async copyTo(
    idOrName: string,
    src: string | Readable,
    dest: string,
    opts: { archive?: boolean } = {},
  ): Promise<void> {
    await this.#withCpRoot(idOrName, (rootfs, rec) =>
      copyToContainer(rootfs, src, dest, { ...opts, ...(rec.idMap ? { idMap: rec.idMap } : {}) }).catch(
        (err: unknown) => {
          // A full disk named by the container's path: the host path of a running one is /proc/<pid>/root/….
          const full = [err, (err as Error).cause].find(isDiskFull);
          throw full ? withDiskFullPlace(full, `${dest} in container ${rec.name}`) : err;
        },
      ),
    );
  }

  /**
   * What `cp` sees: a running container's own view, through /proc/<pid>/root, so that its volumes, bind mounts and
   * tmpfs mounts are there as in `docker cp`; a stopped container's root file system.
   *
   * A running container is frozen (runc pause, no events: no one asked for a pause) while `fn` resolves and uses its
   * paths: `cp` resolves a path inside the container and then hands the result to tar by name, and a process of the
   * container that swapped a directory on that path for a symlink in between would have the host's kernel follow the
   * symlink on the host (CVE-2018-15664; test/security/cp-race.test.ts). Frozen, nothing in the container can change
   * the path between the two steps. A container its user paused stays paused. One copy or commit at a time.
   */
  async #withCpRoot<T>(
    idOrName: string,
    fn: (rootfs: string, rec: ContainerRecord, live: boolean) => Promise<T>,
  ): Promise<T> {
    const v = await this.#tasks.observe(this.#records.resolve(idOrName));
    const pid = v.running ? v.state.pid : undefined;
    if (!pid || !pidAlive(pid)) return this.withRootfs(idOrName, (rootfs, rec) => fn(rootfs, rec, false));
    if (v.status === 'paused') return fn(`/proc/${pid}/root`, this.#records.resolve(v.id), true);
    // Under the commit lock: a commit pauses the container too, and two copies must not thaw it under each other.
    return withFileLock(
      commitLockFile(this.#store.paths(v.id).dir),
      async () => {
        await this.#runc.pause(v.id);
        try {
          return await fn(`/proc/${pid}/root`, this.#records.resolve(v.id), true);
        } finally {
          await this.#runc.resume(v.id);
        }
      },
      { timeoutSec: 600, purpose: `copying files of container ${shortId(v.id)}` },
    );
  }

  /** Run `fn` with the container's rootfs mounted (a stopped container is mounted for the call only). */
  async withRootfs<T>(idOrName: string, fn: (rootfs: string, rec: ContainerRecord) => Promise<T>): Promise<T> {
    const rec = this.#records.resolve(idOrName);
    const wasMounted = await this.#store.rootfsMounted(rec.id);
    const rootfs = await this.#store.mountRootfs(rec);
    try {
      return await fn(rootfs, rec);
    } finally {
      if (!wasMounted && !(await this.#tasks.observe(this.#records.resolve(rec.id))).running)
        await this.#store.unmountRootfs(rec.id).catch(() => {});
    }
  }
}
