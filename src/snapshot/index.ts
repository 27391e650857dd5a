import type { MetaDb } from '../meta/index.js';
import { NativeSnapshotter } from './native.js';
import { OverlaySnapshotter } from './overlay.js';
import type { Snapshotter } from './types.js';

export type {
  Mount,
  SnapshotDiffer,
  SnapshotInfo,
  SnapshotKind,
  SnapshotOptions,
  Snapshotter,
  Usage,
} from './types.js';
export { DISPOSABLE_SNAPSHOT_LABEL } from './types.js';
export { buildSnapshots, liveBuildSnapshots } from './live.js';
export { snapshotsInUse } from './in-use.js';
export { OverlaySnapshotter } from './overlay.js';
export { NativeSnapshotter } from './native.js';
export { mountAll, unmount, isMountPoint, overlaySupported, nativeMountAvailable, volatileMounts } from './mount.js';
export {
  mountIdmapped,
  idmapBindOne,
  detachIdmapBind,
  idmappedOverlaySupported,
  holdUserns,
  releaseUserns,
  netnsInUserns,
} from './idmap-mount.js';

/** The snapshotter of `kind` over `<root>/snapshots`, its records in `db` (namespace 'snapshots'). */
export function createSnapshotter(kind: 'overlay' | 'native', root: string, db: MetaDb): Snapshotter {
  return kind === 'overlay' ? new OverlaySnapshotter(root, db) : new NativeSnapshotter(root, db);
}
