import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DirectoryWaiter } from '../../src/util/index.js';

test('DirectoryWaiter wakes on a rename into the directory, remembers a change between waits, else times out', async () => {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-watch-'));
  const w = new DirectoryWaiter(dir);
  try {
    let t = Date.now();
    await w.next(50);
    assert.ok(Date.now() - t >= 45, 'no change: the timeout');
    t = Date.now();
    setTimeout(
      () =>
        void fsp
          .writeFile(path.join(dir, 'x.tmp'), '1')
          .then(() => fsp.rename(path.join(dir, 'x.tmp'), path.join(dir, 'x'))),
      20,
    );
    await w.next(5_000);
    assert.ok(Date.now() - t < 2_000, 'woken by the change, long before the timeout');
    // A change while nobody waits is not lost.
    await fsp.writeFile(path.join(dir, 'y'), '2');
    await new Promise((r) => setTimeout(r, 50));
    t = Date.now();
    await w.next(5_000);
    assert.ok(Date.now() - t < 1_000);
  } finally {
    w.close();
    await fsp.rm(dir, { recursive: true, force: true });
  }
  // A directory that does not exist: plain timeouts, no throw.
  const gone = new DirectoryWaiter(path.join(dir, 'missing'));
  const t = Date.now();
  await gone.next(30);
  assert.ok(Date.now() - t >= 25);
  gone.close();
});

test('DirectoryWaiter with names wakes only for those entries', async () => {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-watch-'));
  const w = new DirectoryWaiter(dir, { names: ['state.json'] });
  try {
    await fsp.writeFile(path.join(dir, '.state.json.123.tmp'), '{}');
    await fsp.writeFile(path.join(dir, 'monitor.log'), 'line\n');
    await new Promise((r) => setTimeout(r, 50));
    let t = Date.now();
    await w.next(150);
    assert.ok(Date.now() - t >= 140, 'other files do not wake it');
    setTimeout(() => void fsp.rename(path.join(dir, '.state.json.123.tmp'), path.join(dir, 'state.json')), 20);
    t = Date.now();
    await w.next(5_000);
    assert.ok(Date.now() - t < 2_000, 'the rename into state.json does');
  } finally {
    w.close();
    await fsp.rm(dir, { recursive: true, force: true });
  }
});
