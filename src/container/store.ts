import { mkdirSync, promises as fsp, statSync } from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { WharfError, is, isErrno } from '../errors/index.js';
import {
  DISPOSABLE_SNAPSHOT_LABEL,
  idmappedOverlaySupported,
  isMountPoint,
  mountAll,
  mountIdmapped,
  unmount,
  volatileMounts,
  type Snapshotter,
} from '../snapshot/index.js';
import { isMonitorAlive } from '../runtime/index.js';
import { removeTreeSync, run, spawn } from '../util/index.js';
import { chownTreeOnce } from './userns.js';
import { populateInitLayer } from './init-layer.js';
import { containerPaths, initKeyOf, sharedInitKeyOf, snapshotKeyOf, type ContainerPaths } from './paths.js';
import type { ContainerRecords } from './records.js';
import type { ContainerRecord } from './types.js';
import type { VolumeService } from './volumes.js';
import type { EventLog } from '../events/index.js';
import type { UsernsRanges } from './userns.js';
import { emitContainerEvent } from './events.js';
import type { ContainerNetworks } from './network-attach.js';

export interface ContainerStoreOptions {
  root: string;
  runRoot: string;
  records: ContainerRecords;
  snapshots: Snapshotter;
  volumes: VolumeService;
  /** Where container events go (the services above emit through `store.events`); none without it. */
  events?: EventLog;
  /** The remapped containers' id ranges (userns.ts); released with the container. */
  userns: UsernsRanges;
  /** User-defined networks (their endpoints are made at a start and released at the teardown); none without it. */
  networks?: ContainerNetworks;
}

/**
 * What a container has on disk and in the database, whether it runs or not: its record, its writable layer on the
 * image's (shared) init layer, the root file system mounted from them, its bundle directory and log, its monitor's
 * state dir. The services above decide when; this says how each is made, mounted and removed.
 */
export class ContainerStore {
  readonly root: string;
  readonly runRoot: string;
  readonly records: ContainerRecords;
  readonly snapshots: Snapshotter;
  readonly #volumes: VolumeService;
  readonly events: EventLog | undefined;
  readonly userns: UsernsRanges;

  /** Settable once after construction: the networks' container side needs the records made with the store. */
  networks: ContainerNetworks | undefined;

  constructor(opts: ContainerStoreOptions) {
    this.userns = opts.userns;
    this.networks = opts.networks;
    this.events = opts.events;
    this.root = opts.root;
    this.runRoot = opts.runRoot;
    this.records = opts.records;
    this.snapshots = opts.snapshots;
    this.#volumes = opts.volumes;
  }

  /** Memoized: a list observes every container, and the nine path.join()s per ID were a third of its time. */
  readonly #paths = new Map<string, ContainerPaths>();

  paths(id: string): ContainerPaths {
    let p = this.#paths.get(id);
    if (!p) {
      if (this.#paths.size >= 4096) this.#paths.clear(); // a long-running API service: bounded
      p = Object.freeze(containerPaths(this.root, this.runRoot, id));
      this.#paths.set(id, p);
    }
    return p;
  }

  /** The image's init layer (hidden from diff/commit), then the container's writable layer on it. */
  async prepareLayers(id: string, parent: string | undefined, withInit: boolean): Promise<void> {
    const p = this.paths(id);
    mkdirSync(p.rootfs, { recursive: true, mode: 0o711 });
    const initKey = await this.#sharedInitLayer(id, parent, withInit, p.rootfs);
    await this.snapshots.prepare(snapshotKeyOf(id), initKey, { labels: { 'wharf.container': id } });
  }

  /**
   * Docker makes an init layer per container; its content depends only on the image, so Wharf makes it once per
   * image top layer and every later container starts on it (a mount, a populate and a commit fewer per `run`). It is
   * labelled disposable: removing the image's layer removes it too (LayerStore.release).
   */
  async #sharedInitLayer(
    id: string,
    parent: string | undefined,
    withInit: boolean,
    scratchMount: string,
  ): Promise<string> {
    const key = sharedInitKeyOf(parent, withInit);
    if ((await this.snapshots.stat(key))?.kind === 'committed') return key;
    const staging = `${key}-prep-${id}`;
    const mounts = await this.snapshots.prepare(staging, parent, { labels: { 'wharf.container': id } });
    try {
      // Volatile: the init layer is a handful of empty files, not worth a sync of the whole upper filesystem.
      await mountAll(volatileMounts(mounts), scratchMount);
      try {
        await populateInitLayer(scratchMount, withInit ? ['/sbin/docker-init'] : []);
      } finally {
        await unmount(scratchMount);
      }
      await this.snapshots.commit(key, staging, { labels: { [DISPOSABLE_SNAPSHOT_LABEL]: 'init' } });
    } catch (err) {
      await this.snapshots.remove(staging).catch(() => {});
      // A concurrent create made the same layer first: use it.
      if (is(err, 'ALREADY_EXISTS') && (await this.snapshots.stat(key))?.kind === 'committed') return key;
      throw err;
    }
    return key;
  }

  /** The writable layer's and the bundle's removal (the record stays): undoes `prepareLayers` and every start. */
  async removeLayers(id: string): Promise<void> {
    const p = this.paths(id);
    if (await isMountPoint(p.rootfs).catch(() => false)) await unmountHard(p.rootfs);
    // The writable layer (any size: deleted asynchronously) and a pre-sharing init layer, while the bundle directory
    // goes synchronously: a handful of small files, the thread pool's trips would cost more. Its log can be any
    // size (freeing a big file's blocks takes a while): a big one is unlinked asynchronously first.
    const keys = [snapshotKeyOf(id)];
    if (await this.snapshots.stat(initKeyOf(id))) keys.push(initKeyOf(id));
    const layers = keys.map((key) =>
      this.snapshots.remove(key).catch((err: unknown) => {
        if (!is(err, 'NOT_FOUND')) throw err;
      }),
    );
    const removing = Promise.all(layers);
    try {
      if (fileSizeOr(p.log, 0) < 1 << 20) removeTreeSync(p.log);
      else await fsp.rm(p.log, { force: true });
      removeTreeSync(p.dir);
    } finally {
      await removing;
    }
  }

  /** The container's root file system, mounted at its bundle's `rootfs` unless it already is. */
  async mountRootfs(rec: ContainerRecord): Promise<string> {
    const p = this.paths(rec.id);
    mkdirSync(p.rootfs, { recursive: true, mode: 0o711 });
    if (!(await isMountPoint(p.rootfs))) {
      const plain = await this.snapshots.mounts(snapshotKeyOf(rec.id));
      // An --rm container's writable layer is thrown away with it: no sync at unmount (podman does the same).
      const mounts = rec.hostConfig.AutoRemove ? volatileMounts(plain) : plain;
      if (!rec.idMap) await mountAll(mounts, p.rootfs);
      else if (await this.idmappedLayers()) await mountIdmapped(mounts, p.rootfs, rec.idMap, path.join(p.dir, 'idmap'));
      else {
        await mountAll(mounts, p.rootfs);
        await chownTreeOnce(p.rootfs, rec.idMap, path.join(p.dir, 'idmap-chowned'));
      }
    }
    return p.rootfs;
  }

  /**
   * Whether remapped containers get their layers through idmapped mounts (overlay on a kernel that takes idmapped
   * layers), or, the fallback, a copy of them chowned into the container's range.
   */
  async idmappedLayers(): Promise<boolean> {
    if (this.snapshots.differ.driverName !== 'overlay2') return false;
    return idmappedOverlaySupported(path.join(this.runRoot, 'tmp'), path.join(this.runRoot, 'idmapped-overlay'));
  }

  async rootfsMounted(id: string): Promise<boolean> {
    return isMountPoint(this.paths(id).rootfs).catch(() => false);
  }

  /** Unmount the root file system if it is mounted (lazily when it is busy). */
  async unmountRootfs(id: string): Promise<void> {
    const rootfs = this.paths(id).rootfs;
    if (await isMountPoint(rootfs).catch(() => false)) await unmountHard(rootfs);
  }

  /**
   * `--ipc shareable`: the container's /dev/shm as a tmpfs on the host (`<dir>/shm`, as Docker's `mounts/shm`), which
   * the containers that join its IPC namespace bind as well: a mount inside its own mount namespace could not be.
   */
  async mountShm(rec: ContainerRecord): Promise<string> {
    const target = path.join(this.paths(rec.id).dir, 'shm');
    mkdirSync(target, { recursive: true, mode: 0o700 });
    if (!(await isMountPoint(target))) {
      const options = `nosuid,nodev,noexec,mode=1777,size=${rec.hostConfig.ShmSize}`;
      const res = await run('mount', ['-t', 'tmpfs', '-o', options, 'shm', target], { check: false });
      if (res.code !== 0) throw new WharfError('INTERNAL', `cannot mount /dev/shm of ${rec.id}: ${res.stderr.trim()}`);
    }
    return target;
  }

  shmPath(id: string): string {
    return path.join(this.paths(id).dir, 'shm');
  }

  async unmountShm(id: string): Promise<void> {
    const target = this.shmPath(id);
    if (await isMountPoint(target).catch(() => false)) await unmountHard(target);
  }

  /**
   * Everything of a container that does not run any more: layers, bundle, record, with `volumes` its anonymous
   * volumes, and the monitor's state dir (after `monitorPid` exits, when the monitor may still be finishing there).
   */
  async delete(rec: ContainerRecord, opts: { volumes?: boolean; monitorPid?: number } = {}): Promise<void> {
    const p = this.paths(rec.id);
    await this.removeLayers(rec.id);
    this.records.delete(rec.id);
    this.userns.release(rec.id);
    if (opts.volumes) {
      for (const m of rec.mounts)
        if (m.Type === 'volume' && m.Anonymous && m.Name)
          await this.#volumes.remove(m.Name, { force: true }).catch(() => {});
    }
    emitContainerEvent(this.events, 'destroy', rec); // after its volumes' destroy, as dockerd's order is
    if (opts.monitorPid !== undefined) await removeWhenMonitorExits(p.stateDir, opts.monitorPid);
    else await removeStateDir(p.stateDir);
  }
}

/**
 * The monitor's state directory (a few small files), removed once the container's end is recorded. Its monitor may
 * still be writing its last file there (it exits right after its client read the exit frame): a file that appears
 * while the directory is emptied fails the rmdir with ENOTEMPTY, so the removal is tried again, a bounded number of
 * times (seen through the Engine API: docker-py's remove right after a foreground run).
 */
async function removeStateDir(dir: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      removeTreeSync(dir);
      return;
    } catch (err) {
      if (!isErrno(err, 'ENOTEMPTY') || attempt >= 100) throw err;
      await sleep(10);
    }
  }
}

async function unmountHard(target: string): Promise<void> {
  try {
    await unmount(target);
  } catch {
    await unmount(target, { lazy: true });
  }
}

/**
 * An `--rm` container is removed after its exit (by the monitor's cleanup command or by the attached client) while
 * the monitor may still be finishing in its state dir: wait a moment for it to go, else leave the removal to a tiny
 * detached waiter (always so when the monitor is our parent, which waits for us).
 */
async function removeWhenMonitorExits(stateDir: string, monitorPid: number): Promise<void> {
  if (monitorPid !== process.ppid) {
    // The monitor exits as soon as its client has read the exit frame: milliseconds, unless the machine is busy.
    for (let i = 0; i < 1000 && isMonitorAlive(monitorPid, stateDir); i++) await sleep(5);
    if (!isMonitorAlive(monitorPid, stateDir)) {
      await fsp.rm(stateDir, { recursive: true, force: true });
      return;
    }
  }
  const script = `while [ -d /proc/${monitorPid} ]; do sleep 0.1; done; rm -rf -- "$1"`;
  const child = spawn('/bin/sh', ['-c', script, 'wharf-rm', stateDir], { detached: true, stdio: 'ignore' });
  child.unref();
}

/** A file's size, or `missing` when it cannot be stat'ed. */
function fileSizeOr(file: string, missing: number): number {
  try {
    return statSync(file).size;
  } catch {
    return missing;
  }
}
