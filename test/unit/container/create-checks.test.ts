import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkRuntime, checkStorageOpts, checkVolumeDriver } from '../../../src/container/create-checks.js';
import { checkUseApiSocket, parseStorageOpts } from '../../../src/cli/commands/run-flags.js';

test('--runtime: runc only, with dockerd 28 message for another', () => {
  assert.equal(checkRuntime(undefined), 'runc');
  assert.equal(checkRuntime('runc'), 'runc');
  assert.throws(() => checkRuntime('crun'), /^WharfError: unknown or invalid runtime name: crun$/);
});

test('--storage-opt: the CLI parse, then the overlay2 driver checks (size needs xfs with pquota; other keys unknown)', () => {
  assert.deepEqual(parseStorageOpts(['size=1G', 'a=b=c']), { size: '1G', a: 'b=c' });
  assert.throws(() => parseStorageOpts(['size']), /invalid storage option/);
  const ext4 = () => ({ type: 'ext4', options: ['rw'] });
  const xfsQuota = () => ({ type: 'xfs', options: ['rw', 'attr2', 'prjquota'] });
  assert.throws(
    () => checkStorageOpts({ size: '1G' }, ext4),
    /--storage-opt is supported only for overlay over xfs with 'pquota' mount option/,
  );
  assert.throws(() => checkStorageOpts({ size: '1G' }, xfsQuota), /does not set XFS project quotas/);
  assert.throws(() => checkStorageOpts({ foo: '1' }, ext4), /^WharfError: Unknown option foo$/);
  checkStorageOpts({}, () => assert.fail('no look at the file system without options'));
});

test('--volume-driver: local, or the plugin lookup failure once a volume needs another', () => {
  checkVolumeDriver(undefined, true);
  checkVolumeDriver('local', true);
  checkVolumeDriver('foo', false);
  assert.throws(() => checkVolumeDriver('foo', true), /error looking up volume plugin foo: plugin "foo" not found/);
});

test('--use-api-socket: refused in one line that says why', () => {
  checkUseApiSocket(undefined);
  assert.throws(() => checkUseApiSocket(true), /no Engine API socket/);
});
