import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryContentStore, memoryContentState } from '../../../src/content/index.js';
import { digestOf } from '../../../src/digest/index.js';
import { is } from '../../../src/errors/index.js';
import { runContentStoreSuite } from '../../suites/content.js';

runContentStoreSuite('memory', async () => {
  const state = memoryContentState();
  return {
    store: new MemoryContentStore(state),
    cleanup: async () => {},
    corrupt: async (d, data) => {
      state.blobs.set(d, Buffer.from(data));
    },
  };
});

describe('MemoryContentStore', () => {
  it('shares blobs and the one-writer-per-ref rule between stores over one state, as processes over one root', async () => {
    const state = memoryContentState();
    const a = new MemoryContentStore(state);
    const b = new MemoryContentStore(state);
    const w = await a.writer('ref');
    await assert.rejects(b.writer('ref'), (e) => is(e, 'UNAVAILABLE'));
    await w.write(Buffer.from('shared'));
    assert.deepEqual(await w.commit(), { digest: digestOf('shared'), size: 6 });
    assert.equal((await b.readAll(digestOf('shared'), 100)).toString(), 'shared');
  });

  it('keeps its own copy of written bytes', async () => {
    const store = new MemoryContentStore();
    const buf = Buffer.from('original');
    const { digest } = await store.writeBuffer(buf);
    buf.fill(0);
    assert.equal((await store.readAll(digest, 100)).toString(), 'original');
  });
});
