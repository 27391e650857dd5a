import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderImageTree } from '../../../src/cli/image-tree.js';

const img = (over: Partial<Parameters<typeof renderImageTree>[0][number]>) => ({
  id: `sha256:${'a'.repeat(64)}`,
  names: [],
  created: 0,
  size: 1_980_000,
  inUse: false,
  platform: 'linux/amd64',
  childId: `sha256:${'b'.repeat(64)}`,
  ...over,
});

test("images --tree: docker 28's columns, names (all but the last on their own line), one platform row, U when in use", () => {
  const out = renderImageTree([
    img({ names: ['busybox:latest', 'b2:1'], created: 2, inUse: true }),
    img({
      id: `sha256:${'c'.repeat(64)}`,
      childId: `sha256:${'c'.repeat(64)}`,
      created: 1,
      size: 512,
      platform: 'linux/arm64/v8',
    }),
  ]);
  assert.equal(
    out,
    [
      "WARNING: This is an experimental feature. The output may change and shouldn't be depended on.",
      'IMAGE               ID             DISK USAGE   CONTENT SIZE   EXTRA',
      'b2:1',
      'busybox:latest      aaaaaaaaaaaa       1.98MB         1.98MB   U    ',
      '└─ linux/amd64      bbbbbbbbbbbb       1.98MB         1.98MB   U    ',
      '',
      '<untagged>          cccccccccccc         512B           512B        ',
      '└─ linux/arm64/v8   cccccccccccc         512B           512B        ',
      '',
      '',
    ].join('\n'),
  );
});

test('images --tree: a narrow terminal drops the columns that leave the name under 12 characters', () => {
  const out = renderImageTree([img({ names: ['a-rather-long-image-name:with-a-tag'] })], 40);
  assert.equal(out.split('\n')[1], 'IMAGE          ID             DISK USAGE');
  assert.equal(out.split('\n')[2], 'a-rather-...   aaaaaaaaaaaa       1.98MB');
});
