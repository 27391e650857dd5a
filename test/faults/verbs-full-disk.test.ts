/**
 * Every writing verb on a nearly full root (issue 16: "errors are never swallowed: every failure path ends in one
 * clear line and a non-zero exit; a full disk says 'no space left on device' and where").
 *
 * One small tmpfs is the root, with busybox, containers, a volume, a network and a tag made while there was room.
 * Each verb then climbs a ladder of free space: the disk full to the byte (not even the database can grow), then
 * more and more room for the database's notes and small files. On every rung the verb either succeeds or fails
 * cleanly: a non-zero exit, nothing on stdout (but what it did before the disk stopped it), exactly one line on stderr
 * saying "no space left on device" and where, no stack trace, and no partial or temporary file where it writes. It
 * stops climbing once it succeeds. A container that ends while the disk is full is a test of its own. Then the filler
 * goes, `system check` must find nothing, and every verb that never succeeded must succeed now. (`commit`, `build`,
 * `pull` and `load` of a new image have files of their own: test/faults/*-full-disk.test.ts.)
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import * as path from 'node:path';
import { ok, runCli, type CliResult } from '../helpers/cli.js';
import { makeBusyboxTar } from '../helpers/busybox.js';
import { serveRegistry, type ServedRegistry } from '../helpers/registry-serve.js';
import { fillDisk, stagingLeftovers, unmountAll } from './helpers.js';

/**
 * Free space of each rung, in KiB: none at all, then more and more room for the database's notes and small files (no
 * layer fits in any). Where each verb's first write fails moves with the rungs: finer rungs found more (a start's
 * network made but not recorded at ~160 KiB, a database write failing half-way at 32 KiB).
 */
const RUNGS_KIB = [0, 32, 96, 160, 256, 512];

let work = '';
let root = '';
let reg: ServedRegistry | undefined;
let busyboxTar = '';
let otherArchive = '';
let payload = '';
/** The PID of container `up`'s process: its files as the host sees them are under /proc/<pid>/root. */
let upPid = 0;
const cli = (args: string[], opts?: Parameters<typeof runCli>[2]) => runCli(root, args, opts);

before(async () => {
  work = await fsp.mkdtemp(path.join(tmpdir(), 'wharf-fault-enospc-verbs-'));
  root = path.join(work, 'root');
  const src = path.join(work, 'src');
  await fsp.mkdir(root);
  await fsp.mkdir(src);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=40m', 'tmpfs', root]);
  busyboxTar = await makeBusyboxTar(work);
  // An image the small root does not have, for `load` (its layer must be written), from a root with room.
  const otherDir = path.join(work, 'other');
  await fsp.mkdir(otherDir);
  const otherTar = await makeBusyboxTar(otherDir, (fs) => fsp.writeFile(path.join(fs, 'extra'), 'other image\n'));
  ok(await runCli(src, ['import', otherTar, 'other:1']), 'import other');
  otherArchive = path.join(work, 'other.tar');
  ok(await runCli(src, ['save', '-o', otherArchive, 'other:1']), 'save other');
  // `cp` into a container: 768 KiB, more than the last rung leaves.
  payload = path.join(work, 'payload');
  await fsp.writeFile(payload, Buffer.alloc(768 * 1024, 'x'));
  reg = await serveRegistry(src);

  ok(await cli(['import', '-c', 'CMD ["sh"]', busyboxTar, 'busybox']), 'import');
  ok(await cli(['run', '-d', '--name', 'up', 'busybox', 'sh', '-c', 'echo started; exec sleep 100000']), 'run up');
  upPid = Number(ok(await cli(['inspect', '-f', '{{.State.Pid}}', 'up']), 'inspect up').stdout.trim());
  ok(await cli(['run', '-d', '--name', 'up2', 'busybox', 'sleep', '100000']), 'run up2');
  ok(await cli(['run', '-d', '--name', 'ends', 'busybox', 'sleep', '100000']), 'run ends');
  // `made` is started by the sweep and runs on: a container that ended on the full disk is a case of its own below.
  ok(await cli(['create', '--name', 'made', 'busybox', 'sleep', '100000']), 'create made');
  for (const name of ['old', 'ren']) ok(await cli(['create', '--name', name, 'busybox', 'true']), name);
  ok(await cli(['create', '--label', 'sweep=prune', 'busybox', 'true']), 'create a container to prune');
  ok(await cli(['volume', 'create', 'vold']), 'volume create');
  ok(await cli(['network', 'create', 'nold']), 'network create');
  ok(await cli(['tag', 'busybox', 'old:tag']), 'tag');
});

after(async () => {
  if (root) {
    await fsp.rm(path.join(root, 'fill'), { force: true });
    const ids = (await cli(['ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean);
    if (ids.length) await cli(['rm', '-f', ...ids]);
    for (const n of ['nold', 'nnew']) await cli(['network', 'rm', n]);
    unmountAll(root);
  }
  await reg?.stop();
  if (work) await fsp.rm(work, { recursive: true, force: true });
});

interface Verb {
  name: string;
  args: () => string[];
  opts?: () => Parameters<typeof runCli>[2];
  /** What it prints when it succeeds. */
  stdout?: RegExp;
  /** A file the verb writes, which a failure must not leave behind (a partial file). */
  writes?: () => string;
  /** Where the error may also say the disk is full, other than a path under the root. */
  where?: string;
  /** What a failure may have printed on stdout before the disk stopped it (else nothing). */
  printedBefore?: RegExp;
}

/**
 * Docker's `start` and `rename` add one line of their own after the daemon's error (docker CLI 28): naming the
 * containers that failed to start, or the container that could not be renamed.
 */
const SUMMARY: Record<string, RegExp> = {
  start: /^Error: failed to start containers: made$/,
  rename: /^Error: failed to rename container named ren$/,
};

// In an order where no verb takes what a later one needs; prune only takes what carries its label.
const VERBS: Verb[] = [
  { name: 'create', args: () => ['create', '--name', 'v-create', 'busybox', 'true'], stdout: /^[0-9a-f]{64}\n$/ },
  // Not named: a run whose start fails keeps its created container, as Docker's does.
  { name: 'run -d', args: () => ['run', '-d', 'busybox', 'sleep', '100000'], stdout: /^[0-9a-f]{64}\n$/ },
  {
    // The container may have run (and printed) before recording its end found the disk full. A failed one may stay
    // behind (created or exited) in spite of --rm: removing it needs room in the database too.
    name: 'run --rm (attached)',
    args: () => ['run', '--rm', 'busybox', 'echo', 'hi'],
    stdout: /^hi\n$/,
    printedBefore: /^hi\n$/,
  },
  { name: 'start', args: () => ['start', 'made'], stdout: /^made\n$/ },
  { name: 'stop', args: () => ['stop', '-t', '0', 'up2'], stdout: /^up2\n$/ },
  { name: 'rm', args: () => ['rm', 'old'], stdout: /^old\n$/ },
  { name: 'rename', args: () => ['rename', 'ren', 'ren2'], stdout: /^$/ },
  { name: 'tag', args: () => ['tag', 'busybox', 'bb:new'], stdout: /^$/ },
  { name: 'rmi', args: () => ['rmi', 'old:tag'], stdout: /^Untagged: old:tag\n$/ },
  { name: 'import', args: () => ['import', busyboxTar, 'imp:1'], stdout: /^sha256:[0-9a-f]{64}\n$/ },
  {
    name: 'save -o (onto the full disk)',
    args: () => ['save', '-o', path.join(root, 'saved.tar'), 'busybox'],
    stdout: /^$/,
    writes: () => path.join(root, 'saved.tar'),
  },
  { name: 'load', args: () => ['load', '-i', otherArchive], stdout: /^Loaded image: other:1\n$/ },
  {
    // The container's path: a running container's files are reached through /proc/<pid>/root on the host.
    name: 'cp into a container',
    args: () => ['cp', payload, 'up:/payload'],
    stdout: /^$/,
    where: '/payload in container up',
    writes: () => `/proc/${upPid}/root/payload`,
  },
  {
    name: 'cp out of a container (onto the full disk)',
    args: () => ['cp', 'up:/bin/busybox', path.join(root, 'cp-out')],
    stdout: /^$/,
    writes: () => path.join(root, 'cp-out'),
  },
  { name: 'exec', args: () => ['exec', 'up', 'echo', 'hi'], stdout: /^hi\n$/ },
  { name: 'volume create', args: () => ['volume', 'create', 'vnew'], stdout: /^vnew\n$/ },
  { name: 'volume rm', args: () => ['volume', 'rm', 'vold'], stdout: /^vold\n$/ },
  { name: 'network create', args: () => ['network', 'create', 'nnew'], stdout: /^[0-9a-f]{64}\n$/ },
  { name: 'network rm', args: () => ['network', 'rm', 'nold'], stdout: /^nold\n$/ },
  {
    // Login writes no file under the root but Wharf's config file: put that on the full disk too.
    name: 'login',
    args: () => ['login', '-u', 'sweeper', '--password-stdin', reg!.host],
    opts: () => ({ input: 'secret\n', env: { WHARF_CONFIG: path.join(root, 'config') } }),
    stdout: /^Login Succeeded\n$/,
    writes: () => path.join(root, 'config', 'config.json'),
  },
  { name: 'logs', args: () => ['logs', 'up'], stdout: /^started\n$/ },
  { name: 'image prune', args: () => ['image', 'prune', '-f'], stdout: /Total reclaimed space/ },
  {
    name: 'system prune',
    args: () => ['system', 'prune', '-f', '--filter', 'label=sweep=prune'],
    stdout: /Total reclaimed space/,
    // What it deleted before the disk stopped it (the containers come first) is said, as it is gone.
    printedBefore: /^Deleted Containers:\n[0-9a-f]{64}\n\n$/,
  },
];

const run = (v: Verb): Promise<CliResult> => cli(v.args(), v.opts?.());

function assertSucceeded(v: Verb, r: CliResult): void {
  assert.equal(r.code, 0, `${v.name}: ${r.stderr}`);
  if (v.stdout) assert.match(r.stdout, v.stdout, `${v.name}'s output`);
}

/** Failed as every failure on a full disk must: one line naming the cause and a place, nothing half-written. */
async function assertFullDiskFailure(v: Verb, r: CliResult, freeKiB: number): Promise<void> {
  const what = `${v.name} with ${freeKiB} KiB free`;
  assert.notEqual(r.code, 0, `${what} exited 0`);
  if (!(r.stdout && v.printedBefore?.test(r.stdout))) assert.equal(r.stdout, '', `${what} printed on stdout`);
  assert.doesNotMatch(r.stderr, /^\s+at /m, `${what} printed a stack trace:\n${r.stderr}`);
  // `run` frames its error as docker run does: "wharf: ERROR", a blank line and a line sending to --help.
  const lines = r.stderr
    .replace(/\n\nRun 'wharf run --help' for more information\n$/, '\n')
    .trimEnd()
    .split('\n');
  if (lines.length === 2 && SUMMARY[v.name]?.test(lines[1]!)) lines.pop();
  assert.equal(lines.length, 1, `${what} printed more than one line:\n${r.stderr}`);
  assert.match(lines[0]!, /no space left on device/, `${what}: ${lines[0]}`);
  const where = [root, ...(v.where ? [v.where] : [])];
  assert.ok(
    where.some((w) => lines[0]!.includes(w)),
    `${what}: the error says where: ${lines[0]}`,
  );
  if (v.writes) assert.equal(existsSync(v.writes()), false, `${what} left ${v.writes()} behind`);
  const temps = tempFiles();
  // Removed once reported, so that the next verb is not blamed for them.
  for (const f of temps) await fsp.rm(f, { force: true });
  assert.deepEqual(temps, [], `${what} left temporary files`);
}

/** util's atomic writes' temporary files (`.NAME.PID.N.tmp`) on the root's own file system. */
const tempFiles = (): string[] =>
  execFileSync('find', [root, '-xdev', '-name', '.*.tmp'], { encoding: 'utf8' }).split('\n').filter(Boolean);

/** What a failed verb may leave behind that it should not: staging files and `system check`'s findings. */
const leftovers = (): Promise<string[]> => stagingLeftovers(root);

test('each writing verb on a nearly full root succeeds or fails with one clear line, and succeeds with room again', async (t) => {
  const neverSucceeded: Verb[] = [];
  const outcomes: string[] = [];
  // Every verb's findings at once, not only the first one's.
  const problems: string[] = [];
  try {
    for (const v of VERBS) {
      let succeededAt: number | undefined;
      for (const kib of RUNGS_KIB) {
        fillDisk(root, kib);
        const r = await run(v);
        try {
          if (r.code === 0) assertSucceeded(v, r);
          else await assertFullDiskFailure(v, r, kib);
        } catch (err) {
          problems.push((err as Error).message);
        }
        if (r.code === 0) {
          succeededAt = kib;
          break;
        }
      }
      outcomes.push(`${v.name}: ${succeededAt === undefined ? 'failed on every rung' : `ok with ${succeededAt} KiB`}`);
      if (succeededAt === undefined) neverSucceeded.push(v);
    }
  } finally {
    await fsp.rm(path.join(root, 'fill'), { force: true });
    t.diagnostic(outcomes.join('; '));
  }
  assert.deepEqual(problems, []);
  // With the disk full to the byte the database cannot grow: no verb that writes can work there (`logs` only reads,
  // and does: meta/db.ts opens the database for a short read verb alone when SQLite cannot make its -shm file).
  assert.ok(!outcomes.some((o) => o.endsWith(' 0 KiB') && !o.startsWith('logs:')), outcomes.join('\n'));
  assert.ok(outcomes.includes('logs: ok with 0 KiB'), outcomes.join('\n'));

  assert.deepEqual(await leftovers(), []);
  for (const v of neverSucceeded) assertSucceeded(v, await run(v));
  assert.deepEqual(await leftovers(), []);
});

test('a container that ends while the disk is full is seen as exited, and --repair finishes its teardown', async () => {
  const id = ok(await cli(['inspect', '-f', '{{.Id}}', 'ends']), 'inspect').stdout.trim();
  const pid = Number(ok(await cli(['inspect', '-f', '{{.State.Pid}}', 'ends']), 'inspect').stdout.trim());
  const state = path.join(root, 'run', 'c', id.slice(0, 12), 'state.json');
  fillDisk(root, 0);
  try {
    process.kill(pid, 'SIGKILL');
    // The monitor notes the end and runs the teardown (which cannot write the record now), then exits.
    for (let i = 0; i < 200; i++) {
      const s = await fsp.readFile(state, 'utf8').catch(() => '{}');
      if ((JSON.parse(s) as { cleanedUp?: boolean }).cleanedUp) break;
      await sleep(50);
    }
  } finally {
    await fsp.rm(path.join(root, 'fill'), { force: true });
  }
  assert.match(ok(await cli(['ps', '-a', '--filter', 'name=ends']), 'ps').stdout, /Exited \(137\)/);
  // So do the other readers, from the monitor's state, while the record still says running.
  const seen = ok(await cli(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'ends']), 'inspect').stdout;
  assert.equal(seen, 'exited 137\n');
  assert.equal(ok(await cli(['wait', 'ends']), 'wait').stdout, '137\n');
  // The teardown that failed on the full disk left the record saying running (and, when it could not even open
  // the database, the mount and the network in place); nothing retries it but a start or rm of that container, or
  // --repair, which must then leave nothing to report.
  const check = (await cli(['system', 'check'])).stdout; // exits 1 when it finds a problem
  if (!check.includes('no problems')) {
    assert.match(check, /container [0-9a-f]{12} \(ends\)/);
    ok(await cli(['system', 'check', '--repair']), 'system check --repair');
  }
  assert.deepEqual(await leftovers(), []);
  ok(await cli(['start', 'ends']), 'start again');
});
