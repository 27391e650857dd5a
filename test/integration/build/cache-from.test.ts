import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { ok, tempRoot } from '../../helpers/cli.js';
import { rootWithBusybox, makeContext, cacheHits, imageLayers, type Root } from './helpers.js';

let a: Root;
let b: Root;
let cleanup: () => Promise<void>;

before(async () => {
  ({ t: a } = await rootWithBusybox());
  b = await tempRoot('wharf-build-b-');
});
after(async () => {
  await cleanup?.();
  await a.cleanup();
  await b.cleanup();
});

test('--cache-from reuses the steps of an image built elsewhere (saved and loaded)', async () => {
  const c = await makeContext({
    Dockerfile: 'FROM busybox\nENV A=1\nCOPY f /f\nRUN echo built > /built\nCMD ["cat", "/built"]\n',
    f: 'F\n',
  });
  cleanup = c.cleanup;
  ok(await a.cli(['build', '-t', 'app:v1', c.dir]), 'build in A');
  const archive = path.join(a.root, 'app.tar');
  ok(await a.cli(['save', '-o', archive, 'busybox', 'app:v1']), 'save');
  ok(await b.cli(['load', '-i', archive]), 'load into B');
  const without = ok(await b.cli(['build', '--no-cache', c.dir]), 'B without cache-from');
  assert.equal(cacheHits(without.stdout), 0);
  const withCf = ok(await b.cli(['build', '--cache-from', 'app:v1', '-t', 'app:v2', c.dir]), 'B with cache-from');
  assert.equal(cacheHits(withCf.stdout), 4);
  assert.doesNotMatch(withCf.stdout, /Running in/);
  const la = await imageLayers(a.root, 'app:v1');
  const lb = await imageLayers(b.root, 'app:v2');
  assert.deepEqual(lb.config.rootfs.diff_ids, la.config.rootfs.diff_ids);
  assert.deepEqual(lb.config.history, la.config.history);
  assert.deepEqual(lb.config.config.Cmd, ['cat', '/built']);
});
