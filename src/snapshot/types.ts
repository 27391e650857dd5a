/**
 * Snapshots, after containerd's core/snapshots/snapshotter.go.
 *
 * A snapshot is a filesystem state with a parent (none for the empty filesystem). An *active* snapshot, made with
 * `prepare`, is writable; committing it makes a *committed* snapshot named by the caller (a layer's chain ID) with the
 * same parent, and the active key is gone. A *view*, made with `view`, is a read-only look at a committed parent and can
 * only be removed. Only committed snapshots can be parents. Active keys, view keys and committed names share one key
 * space. A snapshot with children cannot be removed before them.
 *
 * `prepare` and `view` return mount descriptions and never mount anything: `mountAll` does, where the caller wants.
 */
import type { Readable } from 'node:stream';
import type { Change, DiffTarOptions, WhiteoutFormat } from '../archive/index.js';

export type SnapshotKind = 'active' | 'view' | 'committed';

/** A mount description, as `mount -t <type> -o <options> <source> <target>` would take it. */
export interface Mount {
  type: 'overlay' | 'bind';
  source: string;
  options: string[];
}

/**
 * Label of a committed snapshot that is derived data (the init layer containers of one image share): whoever removes
 * its parent removes it first when no snapshot sits on it, and `system check` does not call it an orphan.
 */
export const DISPOSABLE_SNAPSHOT_LABEL = 'wharf.disposable';

export interface SnapshotInfo {
  /** The key of an active snapshot or view, or the name of a committed one. */
  key: string;
  kind: SnapshotKind;
  /** The committed parent's name; absent for a snapshot of the empty filesystem. */
  parent?: string;
  /** RFC 3339. */
  created: string;
  updated: string;
  labels: Record<string, string>;
}

export interface Usage {
  /** Bytes of regular files, symlinks and other non-directories, each inode counted once. */
  size: number;
  inodes: number;
}

export interface SnapshotOptions {
  labels?: Record<string, string>;
}

export interface Snapshotter {
  readonly name: 'overlay' | 'native';

  /**
   * A writable snapshot descending from the committed `parent` (none: an empty filesystem).
   * ALREADY_EXISTS if `key` is taken; NOT_FOUND if the parent is missing or not committed.
   */
  prepare(key: string, parent?: string, opts?: SnapshotOptions): Promise<Mount[]>;
  /** A read-only snapshot of `parent`, tracked by `key`; it can be removed but never committed. */
  view(key: string, parent?: string, opts?: SnapshotOptions): Promise<Mount[]>;
  /** The mounts of an active snapshot or view (again). FAILED_PRECONDITION for a committed one. */
  mounts(key: string): Promise<Mount[]>;
  /**
   * Turn the active snapshot `key` into the committed snapshot `name` (a chain ID) with the same parent. Its changes
   * become the layer as they are, without a copy. Labels carry over, merged with `opts.labels`.
   * ALREADY_EXISTS if `name` exists (the caller then removes `key`); FAILED_PRECONDITION if `key` is not active.
   */
  commit(name: string, key: string, opts?: SnapshotOptions): Promise<void>;
  /** Remove a snapshot of any kind. NOT_FOUND if absent; FAILED_PRECONDITION while it has children. */
  remove(key: string): Promise<void>;
  stat(key: string): Promise<SnapshotInfo | undefined>;
  /** Replace a snapshot's labels. */
  setLabels(key: string, labels: Record<string, string>): Promise<SnapshotInfo>;
  walk(): AsyncIterable<SnapshotInfo>;
  /** Disk use of the snapshot's own directory, parents excluded (native: its full copy). */
  usage(key: string): Promise<Usage>;
  /** Remove directories that no record owns (leftovers of a crash in the middle of a change). */
  sweep(): Promise<void>;
  /** A snapshot's changes on its parent: where they are on disk, their list, their layer tar. */
  readonly differ: SnapshotDiffer;
}

/**
 * What `diff`, `commit` and unpacking need to know of a backend's layout, so that they never ask which backend it is
 * (containerd keeps this apart from the snapshotter too, as its diff service).
 */
export interface SnapshotDiffer {
  /** Docker's GraphDriver.Name of this layout: 'overlay2' (changes only), 'vfs' (full copies). */
  readonly driverName: string;
  /**
   * How deletions are written into a diff dir, and so how a layer tar is applied there: overlay whiteouts (the dir
   * holds the snapshot's own changes only), or none (the dir is a full tree, deleted files are gone from it).
   */
  readonly whiteoutFormat: WhiteoutFormat;
  /**
   * The directory holding this snapshot's own changes: the overlay upper dir of an active snapshot, the layer of a
   * committed one. Native snapshots hold a full tree, so this is the full tree there.
   */
  diffDir(key: string): string;
  /**
   * The directories that together make the parent's filesystem, top first: overlay gives every parent's layer dir,
   * native gives the parent's full tree alone. A layer diff is `diffDir(key)` compared against these.
   */
  lowerDirs(key: string): Promise<string[]>;
  /** Docker's `diff`: what the snapshot added (A), changed (C) and deleted (D), each directory before its contents. */
  changes(key: string): AsyncIterable<Change>;
  /** The snapshot's changes as an OCI layer tar (deletions as `.wh.` entries). */
  diffTar(key: string, opts?: DiffTarOptions): Promise<Readable>;
}
