/**
 * `pull` and `load` on a nearly full disk (issue 16, finding 7): a pull left its partial download in ingest/ until a
 * manual `--repair`, and `load` said "invalid archive: ENOSPC". Now: one line saying "no space left on device" and
 * where, a non-zero exit, nothing left in ingest/ or tmp/, and both succeed once there is space again.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { ok, runCli, tempRoot } from '../helpers/cli.js';
import { makeBusyboxTar } from '../helpers/busybox.js';
import { serveRegistry, type ServedRegistry } from '../helpers/registry-serve.js';
import { fillDisk, stagingLeftovers, unmountAll } from './helpers.js';

let src: { root: string; cleanup(): Promise<void> };
let root = '';
let reg: ServedRegistry;
let image = '';
let archive = '';
const cli = (args: string[]) => runCli(root, args);

before(async () => {
  src = await tempRoot('wharf-fault-enospc-pull-');
  const tar = await makeBusyboxTar(src.root);
  ok(await runCli(src.root, ['import', '-c', 'CMD ["sh"]', tar, 'busybox']), 'import');
  reg = await serveRegistry(src.root);
  image = `${reg.host}/full/bb:1`;
  ok(await runCli(src.root, ['tag', 'busybox', image]), 'tag');
  ok(await runCli(src.root, ['push', image]), 'push');
  archive = path.join(src.root, 'bb.tar');
  ok(await runCli(src.root, ['save', '-o', archive, 'busybox']), 'save');
  root = path.join(src.root, 'small');
  await fsp.mkdir(root);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', root]);
  ok(await cli(['images']), 'a first command makes the database');
});

after(async () => {
  await reg?.stop();
  if (root) unmountAll(root);
  await src?.cleanup();
});

const leftovers = (): Promise<string[]> => stagingLeftovers(root);

for (const [op, args] of [
  ['pull', () => ['pull', '-q', image]],
  ['load', () => ['load', '-i', archive]],
] as const) {
  test(`${op} on a full disk says "no space left on device" and where, and leaves nothing behind`, async () => {
    const fill = fillDisk(root, 256);
    try {
      const r = await cli(args());
      assert.notEqual(r.code, 0, `${op} exited 0: ${r.stdout}`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, /no space left on device/);
      assert.doesNotMatch(lines[0]!, /invalid archive/);
      assert.ok(lines[0]!.includes(root), `the error says where: ${lines[0]}`);
    } finally {
      await fsp.rm(fill, { force: true });
    }
    assert.deepEqual(await leftovers(), []);
    ok(await cli(args()), `${op} with space again`);
    assert.deepEqual(await leftovers(), []);
    ok(await cli(['rmi', '-f', op === 'pull' ? image : 'busybox']), 'rmi');
  });
}
