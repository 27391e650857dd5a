import * as path from 'node:path';
import type { Readable } from 'node:stream';
import {
  directoryChanges,
  directoryDiffTar,
  overlayDiffTar,
  type Change,
  type DiffTarOptions,
  type WhiteoutFormat,
} from '../archive/index.js';
import { overlayLayerChanges } from './overlay-changes.js';
import type { SnapshotDiffer } from './types.js';

/** Where a backend keeps a snapshot's files: what a differ reads. */
export interface SnapshotDirs {
  diffDir(key: string): string;
  lowerDirs(key: string): Promise<string[]>;
}

abstract class DirDiffer implements SnapshotDiffer {
  abstract readonly driverName: string;
  abstract readonly whiteoutFormat: WhiteoutFormat;

  constructor(private readonly dirs: SnapshotDirs) {}

  diffDir(key: string): string {
    return this.dirs.diffDir(key);
  }

  lowerDirs(key: string): Promise<string[]> {
    return this.dirs.lowerDirs(key);
  }

  abstract changes(key: string): AsyncIterable<Change>;
  abstract diffTar(key: string, opts?: DiffTarOptions): Promise<Readable>;
}

/** Overlay snapshots: the upper dir is the change, deletions in it are whiteouts and opaque dirs. */
export class OverlayDiffer extends DirDiffer {
  readonly driverName = 'overlay2';
  readonly whiteoutFormat = 'overlay' as const;

  async *changes(key: string): AsyncIterable<Change> {
    yield* await overlayLayerChanges(this.diffDir(key), await this.lowerDirs(key));
  }

  async diffTar(key: string, opts: DiffTarOptions = {}): Promise<Readable> {
    return overlayDiffTar(this.diffDir(key), await this.lowerDirs(key), opts);
  }
}

/**
 * Full-copy snapshots (Docker's vfs driver): the change is what differs between the parent's tree and the snapshot's,
 * found by comparing the two.
 */
export class CopyDiffer extends DirDiffer {
  readonly driverName = 'vfs';
  readonly whiteoutFormat = 'none' as const;

  async *changes(key: string): AsyncIterable<Change> {
    yield* directoryChanges(await this.#parentTree(key), this.diffDir(key));
  }

  async diffTar(key: string, opts: DiffTarOptions = {}): Promise<Readable> {
    return directoryDiffTar(await this.#parentTree(key), this.diffDir(key), opts);
  }

  /** The parent's full tree; for a snapshot of the empty filesystem a path that never exists (read as empty). */
  async #parentTree(key: string): Promise<string> {
    return (await this.lowerDirs(key))[0] ?? path.join(path.dirname(this.diffDir(key)), 'no-parent');
  }
}
