/** withFileLock (util/flock.ts): flock(2) taken natively, else through flock(1); either way the same lock. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fsp, readdirSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { withFileLock } from '../../../src/util/index.js';

/** The command lines of this process's children. */
function children(): string[] {
  const out: string[] = [];
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === process.pid)
        out.push(readFileSync(`/proc/${p}/cmdline`, 'utf8').replaceAll('\0', ' '));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** Whether another process finds `file` locked (flock(1) without waiting: exit 1 when busy). */
const busyForOthers = (file: string): boolean => spawnSync('flock', ['--nonblock', file, 'true']).status === 1;

test('withFileLock holds flock(2) itself (no flock(1) child), and without the addon through flock(1): the same lock', async () => {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-file-lock-'));
  const file = path.join(dir, 'x.lock');
  const saved = process.env.WHARF_NATIVE;
  try {
    assert.equal(busyForOthers(file), false);
    await withFileLock(file, async () => {
      assert.equal(busyForOthers(file), true, 'another process sees the lock taken');
      assert.deepEqual(
        children().filter((c) => c.startsWith('flock ')),
        [],
        'taken natively, not by a flock(1) child',
      );
      // Nested in this process on the same file: another open file description, so busy too (no re-entry).
      await assert.rejects(
        withFileLock(file, async () => 'no', { timeoutSec: 0 }),
        /another process held it/,
      );
    });
    assert.equal(busyForOthers(file), false, 'released');

    process.env.WHARF_NATIVE = '0'; // read on every call (util/native.ts): the flock(1) fallback
    await withFileLock(file, async () => {
      assert.equal(busyForOthers(file), true);
      assert.ok(
        children().some((c) => c.startsWith('flock ')),
        'the fallback holds it through flock(1)',
      );
    });
    // flock(1) lets go when it exits, just after its stdin closes: soon, not at once.
    for (let i = 0; i < 100 && busyForOthers(file); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(busyForOthers(file), false, 'released by the fallback');
  } finally {
    if (saved === undefined) delete process.env.WHARF_NATIVE;
    else process.env.WHARF_NATIVE = saved;
    await fsp.rm(dir, { recursive: true, force: true });
  }
});
