import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MetaDb } from '../../../src/meta/index.js';
import { createSnapshotter } from '../../../src/snapshot/index.js';
import { runSnapshotterSuite } from '../../suites/snapshotter.js';

runSnapshotterSuite('native', async () => {
  const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-snap-native-'));
  const db = new MetaDb(path.join(root, 'wharf.db'));
  return {
    snapshotter: createSnapshotter('native', root, db),
    root,
    cleanup: async () => {
      db.close();
      await fsp.rm(root, { recursive: true, force: true });
    },
  };
});
