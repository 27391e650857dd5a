/**
 * kill -9 of `pull` and `load` at their named steps (issue 16, findings 6 and 7): after the kill, the next command
 * (or `system check --repair`) rolls the operation back, `system check` is clean (no orphan blob, no partial download
 * in ingest/, no half-unpacked layer, no stale lease), and the operation succeeds when repeated. Then N parallel pulls
 * of one image into one store: all succeed and leave the store clean.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { ok, runCli, tempRoot } from '../helpers/cli.js';
import { makeBusyboxTar } from '../helpers/busybox.js';
import { serveRegistry, type ServedRegistry } from '../helpers/registry-serve.js';
import { runUntilStep } from './helpers.js';

let src: { root: string; cleanup(): Promise<void> };
let dst: { root: string; cleanup(): Promise<void> };
let reg: ServedRegistry;
let image = '';
let archive = '';

before(async () => {
  src = await tempRoot('wharf-fault-pull-src-');
  dst = await tempRoot('wharf-fault-pull-dst-');
  const tar = await makeBusyboxTar(src.root);
  ok(await runCli(src.root, ['import', '-c', 'CMD ["sh"]', tar, 'busybox']), 'import');
  reg = await serveRegistry(src.root);
  image = `${reg.host}/fault/bb:1`;
  ok(await runCli(src.root, ['tag', 'busybox', image]), 'tag');
  ok(await runCli(src.root, ['push', image]), 'push');
  archive = path.join(src.root, 'bb.tar');
  ok(await runCli(src.root, ['save', '-o', archive, 'busybox']), 'save');
});

after(async () => {
  await reg?.stop();
  await dst?.cleanup();
  await src?.cleanup();
});

const cli = (args: string[]) => runCli(dst.root, args);

/** What a case left behind: `system check` problems and bytes in ingest/. */
async function leftovers(): Promise<string[]> {
  const out: string[] = [];
  const check = await cli(['system', 'check']);
  if (check.code !== 0 || !check.stdout.includes('no problems')) out.push(`system check: ${check.stdout.trim()}`);
  const ingest = await fsp.readdir(path.join(dst.root, 'ingest')).catch(() => []);
  if (ingest.length) out.push(`ingest/ holds ${ingest.join(', ')}`);
  return out;
}

async function removeAll(): Promise<void> {
  const ids = ok(await cli(['images', '-q']), 'images')
    .stdout.split('\n')
    .filter(Boolean);
  if (ids.length) ok(await cli(['rmi', '-f', ...new Set(ids)]), 'rmi');
}

interface Op {
  args: () => string[];
  steps: string[];
}
const OPS: Record<string, Op> = {
  pull: { args: () => ['pull', image], steps: ['pull:after-fetch', 'pull:before-unpack', 'pull:before-image'] },
  load: { args: () => ['load', '-i', archive], steps: ['load:after-stage', 'load:before-unpack', 'load:before-image'] },
};
/** The first command after the kill: each must roll the killed operation back by itself. */
const NEXT: Record<string, (op: Op) => string[]> = {
  'the same operation': (op) => op.args(),
  'system check --repair': () => ['system', 'check', '--repair'],
};

const results: { op: string; step: string; next: string; left: string[] }[] = [];

for (const [opName, op] of Object.entries(OPS)) {
  for (const step of op.steps) {
    for (const [next, args] of Object.entries(NEXT)) {
      test(`${opName} killed at ${step}, then ${next}: nothing left, the operation repeats`, async () => {
        await removeAll();
        const stopped = await runUntilStep(dst.root, op.args(), step);
        await stopped.kill();
        ok(await cli(args(op)), next);
        ok(await cli(op.args()), `the repeated ${opName}`);
        const left = await leftovers();
        results.push({ op: opName, step, next, left });
        assert.deepEqual(left, []);
      });
    }
  }
}

test('system check reports a killed pull, and --repair rolls it back', async () => {
  await removeAll();
  const stopped = await runUntilStep(dst.root, ['pull', image], 'pull:after-fetch');
  await stopped.kill();
  const check = await cli(['system', 'check']);
  assert.equal(check.code, 1);
  assert.match(check.stdout, /unfinished pull of \S+fault\/bb:1 by process \d+ \(gone\)/);
  ok(await cli(['system', 'check', '--repair']), 'repair');
  assert.deepEqual(await leftovers(), []);
});

test('a pull that finds its layer unpacked meanwhile by another drops the blob it downloaded (no orphan)', async () => {
  await removeAll();
  // A has downloaded the layer and stops; B finds the blob, unpacks it and records the image; then A goes on.
  const a = await runUntilStep(dst.root, ['pull', image], 'pull:after-fetch');
  ok(await cli(['pull', image]), 'pull B');
  const done = new Promise<number | null>((resolve) => a.child.once('exit', (code) => resolve(code)));
  process.kill(a.child.pid!, 'SIGCONT');
  assert.equal(await done, 0, 'pull A');
  assert.deepEqual(await leftovers(), []);
});

test('parallel pulls of one image into one store all succeed and leave no orphan blob (bounded: 3 rounds of 4)', async () => {
  for (let round = 0; round < 3; round++) {
    await removeAll();
    const runs = await Promise.all(Array.from({ length: 4 }, () => cli(['pull', image])));
    for (const [i, r] of runs.entries()) ok(r, `pull ${i} of round ${round}`);
    assert.deepEqual(await leftovers(), [], `round ${round}`);
  }
});

test('kill points summary', (t) => {
  const dirty = results.filter((r) => r.left.length);
  t.diagnostic(
    `pull/load kill cases: ${results.length} (2 operations x 3 kill points x ${Object.keys(NEXT).length} next commands), left something behind: ${dirty.length}`,
  );
  assert.equal(dirty.length, 0);
});
