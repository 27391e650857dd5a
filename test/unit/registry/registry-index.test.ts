import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SqliteRegistryIndex } from '../../../src/registry/index.js';
import { runRegistryIndexSuite } from './registry-index-suite.js';

runRegistryIndexSuite('sqlite', async () => {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-regindex-'));
  const cleanup = () => fsp.rm(dir, { recursive: true, force: true });
  try {
    return { index: new SqliteRegistryIndex(path.join(dir, 'index.db')), cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
});
