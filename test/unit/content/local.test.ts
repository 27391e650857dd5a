import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalContentStore } from '../../../src/content/index.js';
import { runContentStoreSuite } from '../../suites/content.js';
import { digestOf } from '../../../src/digest/index.js';

const moduleFile = fileURLToPath(new URL('../../../src/content/local.ts', import.meta.url));

runContentStoreSuite('local', async () => {
  const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-content-'));
  const store = new LocalContentStore(root);
  return {
    store,
    cleanup: () => fsp.rm(root, { recursive: true, force: true }),
    corrupt: async (d, data) => {
      const file = store.blobFile(d);
      await fsp.chmod(file, 0o644);
      await fsp.writeFile(file, data);
    },
    child: { module: moduleFile, exportName: 'LocalContentStore', args: [root] },
  };
});

describe('LocalContentStore layout', () => {
  it('stores blobs read-only at blobs/<alg>/<hex>, sha512 included, and stages nothing once done', async () => {
    const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-content-layout-'));
    try {
      const store = new LocalContentStore(root);
      const { digest } = await store.writeBuffer(Buffer.from('layout'));
      const file = path.join(root, 'blobs', 'sha256', digest.slice('sha256:'.length));
      assert.equal(store.blobFile(digest), file);
      const st = await fsp.stat(file);
      assert.equal(st.mode & 0o777, 0o444);
      assert.deepEqual(await fsp.readdir(path.join(root, 'ingest')), []);

      const d512 = digestOf('layout', 'sha512');
      assert.deepEqual(await store.writeBuffer(Buffer.from('layout'), { digest: d512 }), { digest: d512, size: 6 });
      assert.equal(store.blobFile(d512), path.join(root, 'blobs', 'sha512', d512.slice('sha512:'.length)));
      const all = [];
      for await (const b of store.walk()) all.push(b.digest);
      assert.deepEqual(all.sort(), [digest, d512].sort());
    } finally {
      await fsp.rm(root, { recursive: true, force: true });
    }
  });

  it('ignores files in blobs/ that are not digests', async () => {
    const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-content-junk-'));
    try {
      const store = new LocalContentStore(root);
      await fsp.mkdir(path.join(root, 'blobs', 'sha256'), { recursive: true });
      await fsp.writeFile(path.join(root, 'blobs', 'sha256', 'not-a-digest'), 'x');
      const all = [];
      for await (const b of store.walk()) all.push(b);
      assert.deepEqual(all, []);
    } finally {
      await fsp.rm(root, { recursive: true, force: true });
    }
  });
});
