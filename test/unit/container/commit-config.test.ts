import { test } from 'node:test';
import assert from 'node:assert/strict';
import { is } from '../../../src/errors/index.js';
import { commitConfig, type ContainerRecord } from '../../../src/container/index.js';
import { applyChanges } from '../../../src/image/index.js';
import type { Digest } from '../../../src/digest/index.js';
import type { ImageConfig } from '../../../src/oci/index.js';

const base: ImageConfig = {
  architecture: 'amd64',
  os: 'linux',
  config: { Cmd: ['sh'], Env: ['PATH=/bin'] },
  rootfs: { type: 'layers', diff_ids: ['sha256:aa' as Digest] },
  history: [{ created: '2024-01-01T00:00:00Z', created_by: 'import' }],
};

const rec = {
  id: 'c'.repeat(64),
  config: { Hostname: 'cccccccccccc', Cmd: ['sh', '-c', 'echo hi > /x'], Env: ['PATH=/bin', 'A=1'], Image: 'busybox' },
} as unknown as ContainerRecord;

test('the new config: container settings, changes, one more diff ID and history entry', () => {
  const now = new Date('2024-02-02T00:00:00Z');
  const cfg = commitConfig(
    base,
    rec,
    'sha256:bb' as Digest,
    { comment: 'msg', author: 'Ann', changes: ['ENV B=2', 'CMD ["cat", "/x"]'] },
    now,
  );
  assert.deepEqual(cfg.rootfs.diff_ids, ['sha256:aa', 'sha256:bb']);
  assert.equal(cfg.author, 'Ann');
  assert.equal(cfg.container, rec.id);
  assert.deepEqual(cfg.config?.Cmd, ['cat', '/x']);
  assert.deepEqual(cfg.config?.Env, ['PATH=/bin', 'A=1', 'B=2']);
  assert.deepEqual(cfg.history?.[1], {
    created: now.toISOString(),
    created_by: 'sh -c echo hi > /x',
    author: 'Ann',
    comment: 'msg',
  });
  assert.deepEqual(
    (cfg.container_config as { Cmd: string[] }).Cmd,
    ['sh', '-c', 'echo hi > /x'],
    'what the container ran',
  );
});

test('an empty change adds no layer, only an empty_layer history entry', () => {
  const cfg = commitConfig(base, rec, undefined, {});
  assert.deepEqual(cfg.rootfs.diff_ids, ['sha256:aa']);
  assert.equal(cfg.history?.[1]?.empty_layer, true);
});

test('unsupported --change instructions are refused', () => {
  assert.throws(
    () => applyChanges({}, ['RUN echo']),
    (err: unknown) => is(err, 'INVALID_ARGUMENT'),
  );
  assert.throws(() => commitConfig(base, rec, undefined, { changes: ['COPY a b'] }), /not a valid change command/);
});
