/** `system df` counts the build cache on its own row, and never the same layer under Images too. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { ok } from '../../helpers/cli.js';
import { rootWithBusybox, makeContext, type Root } from './helpers.js';

let t: Root | undefined;
after(async () => t?.cleanup());

const row = (out: string, type: string) =>
  out
    .split('\n')
    .find((l) => l.startsWith(type))!
    .split(/\s{2,}/);

test('build cache shows under Build Cache, and prune reclaims it', async () => {
  ({ t } = await rootWithBusybox());
  const before = row(ok(await t.cli(['system', 'df']), 'df').stdout, 'Images');
  const ctx = await makeContext({
    Dockerfile: 'FROM busybox\nRUN head -c 3000000 /dev/zero > /big\nRUN echo x > /small\n',
  });
  try {
    ok(await t.cli(['build', '-q', ctx.dir]), 'build');
  } finally {
    await ctx.cleanup();
  }
  const out = ok(await t.cli(['system', 'df']), 'df').stdout;
  const bc = row(out, 'Build Cache');
  assert.notEqual(bc[3], '0B', out);
  // The step layers are build cache: the Images row's size still shows only the base (the untagged result is
  // listed by `images` as <none>, so it counts as an image, as in docker).
  assert.equal(row(out, 'Images')[3], before[3], out);
  ok(await t.cli(['builder', 'prune', '-f']), 'prune');
  assert.equal(row(ok(await t.cli(['system', 'df']), 'df').stdout, 'Build Cache')[3], '0B');
  assert.match(ok(await t.cli(['system', 'check']), 'check').stdout, /no problems/);
});
