import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FilesystemDriver, MemoryDriver } from '../../../src/registry/index.js';
import { runBlobDriverSuite } from '../../suites/blob-driver.js';

runBlobDriverSuite('filesystem', async () => {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-blobdriver-'));
  return { driver: new FilesystemDriver(dir), cleanup: () => fsp.rm(dir, { recursive: true, force: true }) };
});

runBlobDriverSuite('memory', async () => ({ driver: new MemoryDriver(), cleanup: async () => {} }));
