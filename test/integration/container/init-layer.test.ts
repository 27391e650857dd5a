/**
 * The init layer (mount points and placeholder files the runtime needs) is made once per image top layer and shared
 * by that image's containers; it goes when the image's layer goes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { ok } from '../../helpers/cli.js';
import { withBusybox, type Fixture } from './fixture.js';

let f: Fixture;
before(async () => {
  f = await withBusybox('wharf-init-layer-');
});
after(async () => f?.cleanup());

async function lowerDirs(name: string): Promise<string[]> {
  const doc = JSON.parse(ok(await f.cli(['inspect', name]), `inspect ${name}`).stdout)[0];
  return String(doc.GraphDriver.Data.LowerDir).split(':');
}

test('containers of one image share one init layer; --init has its own with /sbin/docker-init', async () => {
  ok(await f.cli(['create', '--name', 'ia', 'busybox', 'true']), 'create a');
  ok(await f.cli(['create', '--name', 'ib', 'busybox', 'true']), 'create b');
  const [initA, ...imageA] = await lowerDirs('ia');
  const [initB, ...imageB] = await lowerDirs('ib');
  assert.equal(initA, initB, 'one init layer for both');
  assert.deepEqual(imageA, imageB);
  for (const p of ['etc/hosts', 'etc/hostname', 'etc/resolv.conf', 'dev/console'])
    assert.ok((await fsp.lstat(path.join(initA!, p))).isFile(), p);
  // The test image has /proc, /sys and /dev itself: the init layer adds only what is missing.
  for (const p of ['dev/pts', 'dev/shm']) assert.ok((await fsp.lstat(path.join(initA!, p))).isDirectory(), p);
  await assert.rejects(fsp.lstat(path.join(initA!, 'proc')), 'an image directory is not copied up');
  assert.equal(await fsp.readlink(path.join(initA!, 'etc/mtab')), '/proc/mounts');
  await assert.rejects(fsp.lstat(path.join(initA!, 'sbin/docker-init')), 'no docker-init mount point without --init');

  ok(await f.cli(['create', '--init', '--name', 'ic', 'busybox', 'true']), 'create --init');
  const [initC] = await lowerDirs('ic');
  assert.notEqual(initC, initA);
  assert.ok((await fsp.lstat(path.join(initC!, 'sbin/docker-init'))).isFile());

  // Containers still run on it, see no init entry in their changes, and `system check` knows the shared layer.
  assert.equal(ok(await f.cli(['start', '-a', 'ib']), 'start b').code, 0);
  assert.equal(ok(await f.cli(['diff', 'ib']), 'diff b').stdout, '');
  assert.equal(ok(await f.cli(['system', 'check']), 'system check').code, 0);
  ok(await f.cli(['rm', 'ia', 'ib', 'ic']), 'rm');
  assert.ok((await fsp.stat(initA!)).isDirectory(), 'kept for the next container of the image');
  assert.equal(ok(await f.cli(['system', 'check']), 'system check after rm').code, 0);
});

test('concurrent first containers of an image agree on one init layer, and rmi removes it', async () => {
  // A second image whose top layer has no init layer yet.
  ok(await f.cli(['run', '--name', 'maker', 'busybox', 'sh', '-c', 'echo v2 > /version']), 'run maker');
  ok(await f.cli(['commit', 'maker', 'busybox:v2']), 'commit');
  ok(await f.cli(['rm', 'maker']), 'rm maker');

  const names = ['p1', 'p2', 'p3'];
  const created = await Promise.all(names.map((n) => f.cli(['create', '--name', n, 'busybox:v2', 'cat', '/version'])));
  for (const r of created) ok(r, 'concurrent create');
  const inits = new Set<string>();
  for (const n of names) inits.add((await lowerDirs(n))[0]!);
  assert.equal(inits.size, 1, 'one init layer');
  const [init] = [...inits];
  assert.equal(ok(await f.cli(['start', '-a', 'p2']), 'start p2').stdout, 'v2\n');

  ok(await f.cli(['rm', ...names]), 'rm');
  ok(await f.cli(['rmi', 'busybox:v2']), 'rmi');
  await assert.rejects(fsp.stat(init!), 'the init layer went with the image layer');
  assert.equal(ok(await f.cli(['system', 'check']), 'system check').code, 0);
  // The base image keeps working (its own init layer is untouched).
  assert.equal(ok(await f.cli(['run', '--rm', 'busybox', 'cat', '/etc/hostname']), 'run base').code, 0);
});
