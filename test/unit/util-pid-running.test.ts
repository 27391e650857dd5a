/** pidRunning: a zombie has ended (stopPortProxy waited up to a second for init to reap the relay it had ended). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { pidAlive, pidRunning } from '../../src/util/index.js';

const procState = (pid: number): string | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
};

test('pidRunning: this process runs, a zombie and a missing PID do not', async () => {
  assert.equal(pidRunning(process.pid), true);
  assert.equal(pidRunning(0), false);
  // `sleep 0` becomes a zombie: its parent execs `sleep 30`, which never waits for it.
  const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const zombie = Number(
      await new Promise<string>((resolve) => parent.stdout!.once('data', (d: Buffer) => resolve(d.toString()))),
    );
    for (let i = 0; i < 200 && procState(zombie) !== 'Z'; i++) await sleep(10);
    assert.equal(procState(zombie), 'Z');
    assert.equal(pidAlive(zombie), true); // kill(pid, 0) succeeds on a zombie
    assert.equal(pidRunning(zombie), false);
  } finally {
    parent.kill('SIGKILL');
  }
});
