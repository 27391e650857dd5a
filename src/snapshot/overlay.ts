import type { MetaDb } from '../meta/index.js';
import { BaseSnapshotter } from './snapshotter.js';
import { OverlayDiffer } from './differ.js';
import { overlayDefaultOptions } from './mount.js';
import type { SnapshotRecord } from './records.js';
import type { Mount, SnapshotKind } from './types.js';

/**
 * Overlay snapshots, as containerd's overlay snapshotter: each snapshot's `fs` dir holds only its own changes. An
 * active snapshot mounts as an overlay of its parents' layer dirs (lower, top first) under its own `fs` (upper);
 * committing it keeps that upper dir as the layer. Deletions are overlay whiteouts (0/0 character devices) and opaque
 * dirs (`trusted.overlay.opaque=y`) in the upper dir.
 */
export class OverlaySnapshotter extends BaseSnapshotter {
  readonly name = 'overlay' as const;
  readonly differ = new OverlayDiffer(this);
  #defaults: Promise<string[]> | undefined;

  constructor(root: string, db: MetaDb) {
    super(root, db, 'overlay');
  }

  protected async populate(): Promise<void> {
    // Nothing to copy: the parents are lower dirs.
  }

  protected needsWorkDir(kind: SnapshotKind): boolean {
    return kind === 'active';
  }

  protected async mountsOf(rec: SnapshotRecord): Promise<Mount[]> {
    const lowers = this.parentFsDirs(rec);
    if (lowers.length === 0) {
      // Overlay needs a lower dir; an empty filesystem is just the snapshot's own dir.
      return [{ type: 'bind', source: this.fsDir(rec.id), options: [rec.kind === 'view' ? 'ro' : 'rw', 'rbind'] }];
    }
    if (rec.kind === 'view' && lowers.length === 1) {
      return [{ type: 'bind', source: lowers[0]!, options: ['ro', 'rbind'] }];
    }
    this.#defaults ??= overlayDefaultOptions();
    const options = [...(await this.#defaults), `lowerdir=${lowers.join(':')}`];
    // Without an upper dir overlay mounts read-only, which is what a view is.
    if (rec.kind === 'active') options.push(`upperdir=${this.fsDir(rec.id)}`, `workdir=${this.workDir(rec.id)}`);
    return [{ type: 'overlay', source: 'overlay', options }];
  }

  async lowerDirs(key: string): Promise<string[]> {
    return this.parentFsDirs(this.mustGet(key));
  }
}
