/**
 * A container that ends while the root's disk is full (issue 16's leftovers): the teardown after its exit cannot
 * write the record.
 * - An attached `run --rm` then cannot remove the container. The docker CLI waits for an --rm container's removal
 *   (ContainerWait "removed"); when the daemon's removal fails the wait answers with its error, which the CLI prints
 *   as one line ("Error waiting for container: …") and exits 125, not with the container's status. Wharf did exit
 *   with the container's status.
 * - Readers (`ps`, `inspect`, `wait`) see the container exited although its record still says running, and the short
 *   read verbs (`ps`, `inspect`, `images`) work while the disk is full to the byte: they failed because SQLite could
 *   not make its shared-memory file (meta/db.ts opens the database for them alone then).
 * With room again, `wait` says how the container ended, `rm` removes what is left and `system check` finds nothing.
 */
import { test, before, after } from 'node:test';
import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ok, runCli, WHARF_BIN } from '../helpers/cli.js';
import { makeBusyboxTar } from '../helpers/busybox.js';
import { fillDisk, stagingLeftovers, unmountAll, waitStopped } from './helpers.js';

let work = '';
let root = '';
const cli = (args: string[]) => runCli(root, args);

before(async () => {
  work = await fsp.mkdtemp(path.join(tmpdir(), 'wharf-fault-exit-full-'));
  root = path.join(work, 'root');
  await fsp.mkdir(root);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', root]);
  const tar = await makeBusyboxTar(work);
  ok(await cli(['import', '-c', 'CMD ["sh"]', tar, 'busybox']), 'import');
});

after(async () => {
  if (root) {
    await fsp.rm(path.join(root, 'fill'), { force: true });
    const ids = (await cli(['ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean);
    if (ids.length) await cli(['rm', '-f', ...ids]);
    unmountAll(root);
  }
  if (work) await fsp.rm(work, { recursive: true, force: true });
});

/**
 * Checkpoint the database and truncate its write-ahead log, as SQLite's own checkpoints do now and then: the next
 * write must grow the log again, which a full disk refuses (else the write goes into the log's old pages and the
 * full disk is not met at all).
 */
function emptyWal(): void {
  const db = new Database(path.join(root, 'wharf.db'));
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
}

/** The PID of running container `name`'s process, once `inspect` has one (bounded). */
async function pidOf(name: string): Promise<number> {
  for (let i = 0; i < 400; i++) {
    const r = await cli(['inspect', '-f', '{{.State.Running}} {{.State.Pid}}', name]);
    const [running, pid] = r.stdout.trim().split(' ');
    if (r.code === 0 && running === 'true' && Number(pid) > 0) return Number(pid);
    await sleep(25);
  }
  throw new Error(`${name} did not start`);
}

test('attached run --rm whose removal fails on a full disk: one line and exit 125, as the docker CLI; ps, inspect, images work on the full disk and see it exited', async () => {
  // The client does the teardown after the exit (the monitor hands it over); it stops itself once it has deleted
  // runc's state and unmounted the rootfs, which frees a few pages: the disk is filled after that, so that it is
  // still full when the record is written.
  const child = spawn(WHARF_BIN, ['--root', root, 'run', '--rm', '--name', 'rmfull', 'busybox', 'sleep', '100000'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, WHARF_TEST_PAUSE_AT: 'teardown:after-unmount' },
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout!.resume();
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let code: number | null;
  const readers: string[] = [];
  try {
    process.kill(await pidOf('rmfull'), 'SIGKILL');
    await waitStopped(child.pid!, 'the teardown of run --rm');
    emptyWal();
    fillDisk(root, 0);
    child.kill('SIGCONT');
    code = await exited;
    // The disk is still full to the byte, and the record still says running (the teardown could not write it): the
    // read verbs work all the same (no process has the database open, so SQLite has no shared-memory file and
    // cannot make one), and see the container as it is, exited.
    readers.push(ok(await cli(['ps', '-a', '--filter', 'name=rmfull']), 'ps on the full disk').stdout);
    readers.push(ok(await cli(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'rmfull']), 'inspect').stdout);
    readers.push(ok(await cli(['images', '-q']), 'images on the full disk').stdout);
  } finally {
    child.kill('SIGKILL');
    await fsp.rm(path.join(root, 'fill'), { force: true });
  }
  const lines = stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line:\n${stderr}`);
  assert.match(lines[0]!, /^Error waiting for container: .*no space left on device/);
  assert.ok(lines[0]!.includes(root), `the line says where: ${lines[0]}`);
  assert.equal(code, 125);
  assert.match(readers[0]!, /Exited \(137\)/);
  assert.equal(readers[1], 'exited 137\n');
  assert.match(readers[2]!, /^[0-9a-f]{12}\n$/);
  // The container stays (its removal failed, as with Docker), exited; with room again `wait` says how it ended and
  // `rm` removes it.
  assert.equal(ok(await cli(['wait', 'rmfull']), 'wait').stdout, '137\n');
  ok(await cli(['rm', 'rmfull']), 'rm');
  assert.deepEqual(await stagingLeftovers(root), []);
});
