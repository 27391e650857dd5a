import type { MetaDb } from '../meta/index.js';
import { run } from '../util/index.js';
import { BaseSnapshotter } from './snapshotter.js';
import { CopyDiffer } from './differ.js';
import type { SnapshotRecord } from './records.js';
import type { Mount, SnapshotKind } from './types.js';

/**
 * Copy-based snapshots for filesystems without overlay: every active snapshot starts as a full copy of its parent
 * (modes, owners, timestamps, xattrs, hardlinks and device nodes kept; reflinks where the filesystem has them), and a
 * committed snapshot keeps its full tree. Views need no copy: they are read-only binds of the parent.
 */
export class NativeSnapshotter extends BaseSnapshotter {
  readonly name = 'native' as const;
  readonly differ = new CopyDiffer(this);

  constructor(root: string, db: MetaDb) {
    super(root, db, 'native');
  }

  protected async populate(kind: SnapshotKind, fsDir: string, parent: SnapshotRecord | undefined): Promise<void> {
    if (kind !== 'active' || !parent) return;
    // `src/.` copies the contents and the root dir's own attributes onto the existing target.
    await run('cp', ['-a', '--reflink=auto', '--', `${this.fsDir(parent.id)}/.`, `${fsDir}/`]);
  }

  protected needsWorkDir(): boolean {
    return false;
  }

  protected async mountsOf(rec: SnapshotRecord): Promise<Mount[]> {
    if (rec.kind === 'view') {
      const source = rec.parentId === null ? this.fsDir(rec.id) : this.fsDir(rec.parentId);
      return [{ type: 'bind', source, options: ['ro', 'rbind'] }];
    }
    return [{ type: 'bind', source: this.fsDir(rec.id), options: ['rw', 'rbind'] }];
  }

  async lowerDirs(key: string): Promise<string[]> {
    const rec = this.mustGet(key);
    return rec.parentId === null ? [] : [this.fsDir(rec.parentId)];
  }
}
