import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { ok } from '../../helpers/cli.js';
import { rootWithBusybox, makeContext, cacheHits, builtId, type Root } from './helpers.js';

let t: Root;
let cleanup: () => Promise<void>;

before(async () => {
  ({ t } = await rootWithBusybox());
});
after(async () => {
  await cleanup?.();
  await t.cleanup();
});

test('builder du and prune: old build steps and cache mounts go, what tagged images use stays', async () => {
  const c = await makeContext({
    Dockerfile:
      'FROM busybox\nRUN dd if=/dev/zero of=/base bs=1024 count=64\nCOPY f /f\nRUN --mount=type=cache,target=/c echo x > /c/x\n',
    f: 'one\n',
  });
  cleanup = c.cleanup;
  const first = ok(await t.cli(['build', '-t', 'app', c.dir]), 'first');
  await writeFile(path.join(c.dir, 'f'), 'two\n');
  const second = ok(await t.cli(['build', '-t', 'app', c.dir]), 'second');
  assert.equal(cacheHits(second.stdout), 1);
  // The first build's COPY and RUN steps are now held by nothing but the cache.
  const du = ok(await t.cli(['builder', 'du']), 'du').stdout;
  assert.match(du, /Cache entries:\t5 \(3 in use\)\nCache mounts:\t1 \(2B\)\nReclaimable:\t6B/);
  assert.match(du, /Cache mounts:\t1 /);
  const pruned = ok(await t.cli(['builder', 'prune', '-f']), 'prune').stdout;
  assert.equal((pruned.match(/^Deleted build cache image: /gm) ?? []).length, 2);
  assert.match(pruned, /Total reclaimed space: \d/);
  assert.equal((await t.cli(['inspect', builtId(first.stdout)])).code, 1, 'the old result is gone');
  assert.equal(
    ok(await t.cli(['inspect', '--format', '{{.Id}}', 'app']), 'inspect')
      .stdout.trim()
      .slice(7, 19),
    builtId(second.stdout),
  );
  const again = ok(await t.cli(['build', '-t', 'app', c.dir]), 'again');
  assert.equal(cacheHits(again.stdout), 3, 'the steps of the tagged image still hit');
  assert.match(ok(await t.cli(['builder', 'du']), 'du').stdout, /Cache mounts:\t0 /);
});
