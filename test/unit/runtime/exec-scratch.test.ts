import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeExecScratch } from '../../../src/runtime/exec-scratch.js';

/** A pid that no process has now: one of a child that has exited (and been reaped). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  return Number(r.stdout.trim());
}

test("an exec's scratch dir is private and named by its client; a gone client's old dir is removed by the next exec", async (t) => {
  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-scratch-test-'));
  t.after(() => fsp.rm(tmp, { recursive: true, force: true }));
  const uid = process.getuid?.() ?? 0;
  const parent = path.join(tmp, `wharf-exec-${uid}`);

  const first = await makeExecScratch(tmp);
  assert.equal(path.dirname(first), parent);
  assert.match(path.basename(first), new RegExp(`^${process.pid}-`));
  assert.equal((await fsp.stat(parent)).mode & 0o777, 0o700);

  const dead = deadPid();
  const killedClient = path.join(parent, `${dead}-abcdef`);
  const justMade = path.join(parent, `${dead}-ghijkl`);
  const liveClient = path.join(parent, `${process.ppid}-mnopqr`);
  for (const d of [killedClient, justMade, liveClient]) {
    await fsp.mkdir(d);
    await fsp.writeFile(path.join(d, 'process.json'), '{}');
  }
  const old = new Date(Date.now() - 120_000);
  await fsp.utimes(killedClient, old, old);
  await fsp.utimes(liveClient, old, old);

  const second = await makeExecScratch(tmp);
  const left = new Set(await fsp.readdir(parent));
  assert.ok(!left.has(path.basename(killedClient)), "a dead client's old dir is removed");
  assert.ok(left.has(path.basename(justMade)), 'a dir younger than a minute stays (another pid namespace may own it)');
  assert.ok(left.has(path.basename(liveClient)), "a live client's dir stays");
  assert.ok(left.has(path.basename(first)) && left.has(path.basename(second)), "this process's own dirs stay");
});

test('a scratch parent that is not private to this user is not used: the dir goes to the temp dir itself', async (t) => {
  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-scratch-test-'));
  t.after(() => fsp.rm(tmp, { recursive: true, force: true }));
  const uid = process.getuid?.() ?? 0;
  const elsewhere = path.join(tmp, 'elsewhere');
  await fsp.mkdir(elsewhere, { mode: 0o700 });
  await fsp.symlink(elsewhere, path.join(tmp, `wharf-exec-${uid}`));
  const viaLink = await makeExecScratch(tmp);
  assert.equal(path.dirname(viaLink), tmp);
  assert.match(path.basename(viaLink), /^wharf-exec-/);
  assert.deepEqual(await fsp.readdir(elsewhere), [], 'nothing is made behind the symlink');

  const tmp2 = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-scratch-test-'));
  t.after(() => fsp.rm(tmp2, { recursive: true, force: true }));
  await fsp.mkdir(path.join(tmp2, `wharf-exec-${uid}`), { mode: 0o755 });
  await fsp.chmod(path.join(tmp2, `wharf-exec-${uid}`), 0o777);
  assert.equal(path.dirname(await makeExecScratch(tmp2)), tmp2, 'a parent others can write is not used');
});
