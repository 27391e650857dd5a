/**
 * kill -9 of `run -d -p` and of `rm -f` at each of their named steps (issue 16, finding 3: a `run -d -p` killed in its
 * first 0.15 s leaked the container's network namespace, veth, address lease and port rules, which neither `rm -f` nor
 * `system check --repair` saw). After each kill: `system check` reports what was left (or nothing when nothing was),
 * the next command (`system check --repair`, or `rm -f` of the container) clears it — no namespace, no veth, no
 * lease, no iptables rule of the container's ID, address or port, no port relay, no mount under the root — and (once
 * per kill point) a repeated `run -d -p` of the same port succeeds and is removed cleanly.
 *
 * Cases: `run -d -p` × 8 kill points × 2 next commands + `rm -f` × 4 kill points × 2 next commands + `run -d --rm -p`
 * × 2 kill points × 2 next commands (the container must be gone: Docker's AutoRemove) = 28; the last test prints how
 * many left anything behind: none (0 of 28). Also: `system check --repair` and `rm -f` or `start` of a container whose
 * monitor died take the container's lock, so that they do not tear it down at once.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { ok } from '../helpers/cli.js';
import { freePort, withBusybox, type Fixture } from '../integration/container/fixture.js';
import { hostIfNameFor } from '../../src/network/native-endpoint.js';
import { runUntilStep, type Stopped } from './helpers.js';
import { MetaDb } from '../../src/meta/index.js';

/** `run -d -p`'s kill points, in order (docs/development.md). */
const START_STEPS = [
  'start:after-mount',
  'start:after-ipam',
  'start:after-netns',
  'start:after-veth',
  'start:after-port-rules',
  'start:before-running',
  'start:after-running',
  'start:after-monitor',
];
/** `rm -f`'s kill points of a running container, in order. */
const RM_STEPS = ['stop:after-kill', 'teardown:after-unmount', 'teardown:mid-network', 'rm:before-delete'];
/** The first command after the kill. */
const NEXT: Record<string, (name: string) => string[]> = {
  'system check --repair': () => ['system', 'check', '--repair'],
  'rm -f': (n) => ['rm', '-f', n],
};

const FIRST_NEXT = Object.keys(NEXT)[0];
const LEASES = '/var/lib/cni/networks/wharf';

let f: Fixture;
let port = 0;
let rulesBefore = new Set<string>();
before(async () => {
  f = await withBusybox('wharf-fault-run-');
  port = await freePort();
  rulesBefore = new Set(iptablesSave());
});
after(async () => {
  await f?.cleanup();
});

function iptablesSave(): string[] {
  return execFileSync('iptables-save', ['-t', 'nat'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.startsWith('-A '));
}

/** The address container `id` holds a lease of on the default bridge, if any. */
function leaseOf(id: string): string | undefined {
  for (const ip of existsSync(LEASES) ? readdirSync(LEASES) : []) {
    try {
      if (readFileSync(`${LEASES}/${ip}`, 'utf8').split(/\r?\n/)[0] === id) return ip;
    } catch {
      /* released meanwhile */
    }
  }
  return undefined;
}

/** The mount points under the root (this test's mount namespace is the CLI's). */
function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m.startsWith(`${dir}/`));
}

/** What of container `id` (address `ip` when known) is on the host: its namespace, veth, lease, rules, relay, mounts. */
function hostState(id: string, ip: string | undefined): string[] {
  const out: string[] = [];
  if (existsSync(`/var/run/netns/wharf-${id}`)) out.push('netns');
  const veth = hostIfNameFor(id, 'eth0');
  if (execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).includes(`${veth}@`)) out.push(`veth ${veth}`);
  const lease = leaseOf(id);
  if (lease) out.push(`lease ${lease}`);
  const marks = [`wharf:${id}`, `--dport ${port} `, ...(ip ? [`${ip}/32`, `${ip}:`] : [])];
  // A rule that names another container is not this one's: its address, once released, may be another root's now
  // (other tests share the host's default bridge).
  const ours = (l: string): boolean => (/wharf:([0-9a-f]{64})/.exec(l)?.[1] ?? id) === id;
  const rules = iptablesSave().filter((l) => !rulesBefore.has(l) && ours(l) && marks.some((m) => `${l} `.includes(m)));
  if (rules.length) out.push(`rules ${rules.join(' | ')}`);
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (argv.includes('port-proxy') && argv.includes(id)) out.push(`port relay ${pid}`);
    } catch {
      /* gone */
    }
  }
  out.push(
    ...mountsUnder(f.root)
      .filter((m) => m.includes(id))
      .map((m) => `mount ${m}`),
  );
  return out;
}

const inspect = async (name: string, fmt: string) =>
  ok(await f.cli(['inspect', '-f', fmt, name]), `inspect ${name}`).stdout.trim();

/** `system check` exits 0 with "no problems". */
async function checkClean(): Promise<string[]> {
  const c = await f.cli(['system', 'check']);
  return c.code === 0 && c.stdout.includes('no problems') ? [] : [`system check: ${c.stdout.trim()}`];
}

/** The same port published again by a new container, which `rm -f` then removes with everything it had. */
async function repeatRun(name: string): Promise<string[]> {
  const id = ok(
    await f.cli(['run', '-d', '--name', name, '-p', `${port}:80`, 'busybox', 'sleep', '100000']),
    'repeat',
  ).stdout.trim();
  const ip = leaseOf(id);
  ok(await f.cli(['rm', '-f', name]), 'rm -f of the repeat');
  return [...(ip ? [] : ['the repeat got no address']), ...hostState(id, ip).map((l) => `repeat: ${l}`)];
}

const results: { op: string; step: string; next: string; left: string[] }[] = [];
let n = 0;

/**
 * After a kill: `system check` reports what was left on the host (when nothing is, it may still name the killed
 * operation's note), `next` clears it (unless the container runs: a start killed after its monitor took over), then
 * the container is removed and the port published again. What is wrong, or nothing.
 */
async function afterKill(name: string, id: string, ip: string | undefined, next: string, runs: boolean) {
  const out: string[] = [];
  const left = runs ? [] : hostState(id, ip);
  const check = await f.cli(['system', 'check']);
  if (left.length && (check.code === 0 || !check.stdout.includes(id.slice(0, 12))))
    out.push(`system check did not report ${left.join(', ')}: ${check.stdout.trim()}`);
  ok(await f.cli(NEXT[next]!(name)), next);
  if (runs && next !== 'rm -f') assert.equal(await inspect(name, '{{.State.Status}}'), 'running');
  else out.push(...hostState(id, ip).map((l) => `after ${next}: ${l}`));
  out.push(...(await checkClean()));
  if (next !== 'rm -f') ok(await f.cli(['rm', '-f', name]), 'rm -f');
  out.push(...hostState(id, ip).map((l) => `after rm -f: ${l}`));
  out.push(...mountsUnder(f.root).map((m) => `mount ${m}`));
  // Once per kill point (after the first next command): the port is free again for a new container.
  if (next === FIRST_NEXT) out.push(...(await repeatRun(`again-${name}`)));
  return out;
}

/** Run a case; whatever it leaves running is removed after it, so that one failure does not fail the rest. */
async function runCase(name: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } finally {
    await f.cli(['rm', '-f', name, `again-${name}`]);
  }
}

for (const step of START_STEPS) {
  for (const next of Object.keys(NEXT)) {
    test(`run -d -p killed at ${step}, then ${next}: nothing left, the port published again`, async () => {
      const name = `start-${++n}`;
      await runCase(name, async () => {
        const stopped = await runUntilStep(
          f.root,
          ['run', '-d', '--name', name, '-p', `${port}:80`, 'busybox', 'sleep', '100000'],
          step,
        );
        await stopped.kill();
        const id = await inspect(name, '{{.Id}}');
        const left = await afterKill(name, id, leaseOf(id), next, step === 'start:after-monitor');
        results.push({ op: 'run -d -p', step, next, left });
        assert.deepEqual(left, []);
      });
    });
  }
}

for (const step of RM_STEPS) {
  for (const next of Object.keys(NEXT)) {
    test(`rm -f killed at ${step}, then ${next}: nothing left, the port published again`, async () => {
      const name = `rm-${++n}`;
      await runCase(name, async () => {
        const id = ok(
          await f.cli(['run', '-d', '--name', name, '-p', `${port}:80`, 'busybox', 'sleep', '100000']),
          'run',
        ).stdout.trim();
        const ip = leaseOf(id);
        const stopped = await runUntilStep(f.root, ['rm', '-f', name], step);
        await stopped.kill();
        const left = await afterKill(name, id, ip, next, false);
        results.push({ op: 'rm -f', step, next, left });
        assert.deepEqual(left, []);
      });
    });
  }
}

test('system check --repair leaves a start in progress alone', async () => {
  const name = 'live-start';
  const stopped = await runUntilStep(
    f.root,
    ['run', '-d', '--name', name, '-p', `${port}:80`, 'busybox', 'sleep', '100000'],
    // Its network is made and recorded, the machine-wide port lock released (a stop inside it would hold up every
    // other `run -p` on the host meanwhile); the record says created.
    'start:before-running',
  );
  const id = await inspect(name, '{{.Id}}');
  const before = hostState(id, leaseOf(id));
  assert.ok(before.length >= 4, `the start has made its network and mount: ${before.join(', ')}`);
  ok(await f.cli(['system', 'check', '--repair']), 'repair during the start');
  assert.deepEqual(hostState(id, leaseOf(id)), before); // the stopped start's namespace, veth, lease and rules stay
  stopped.child.kill('SIGCONT');
  await new Promise((r) => stopped.child.once('exit', r));
  assert.equal(await inspect(name, '{{.State.Status}}'), 'running');
  ok(await f.cli(['rm', '-f', name]), 'rm -f');
  assert.deepEqual(hostState(id, undefined), []);
  assert.deepEqual(await checkClean(), []);
});

/** What `run -d --rm -p` killed at a step, then `next`, leaves: the container must be gone with everything it had. */
const RM_START_STEPS = ['start:after-veth', 'start:before-running'];
const RM_NEXT: Record<string, string[]> = {
  'system check --repair': ['system', 'check', '--repair'],
  'ps -a': ['ps', '-a'],
};
/** The IDs of the containers with a directory under the root. */
const containerDirs = (): string[] => (existsSync(`${f.root}/containers`) ? readdirSync(`${f.root}/containers`) : []);

for (const step of RM_START_STEPS) {
  for (const [next, args] of Object.entries(RM_NEXT)) {
    test(`run -d --rm -p killed at ${step}, then ${next}: the container is removed, nothing left`, async () => {
      const name = `autorm-${++n}`;
      await runCase(name, async () => {
        const before = new Set(containerDirs());
        const stopped = await runUntilStep(
          f.root,
          ['run', '-d', '--rm', '--name', name, '-p', `${port}:80`, 'busybox', 'sleep', '100000'],
          step,
        );
        await stopped.kill();
        // Found without a Wharf command: any command that looks at the container rolls the killed start back.
        const id = containerDirs().find((d) => !before.has(d));
        assert.ok(id, 'the killed run made its container');
        const ip = leaseOf(id);
        // Docker's AutoRemove: a --rm container whose start failed does not stay as Created.
        const out = ok(await f.cli(args), next).stdout;
        assert.doesNotMatch(out, new RegExp(name));
        const left: string[] = [];
        if ((await f.cli(['inspect', name])).code === 0) left.push('the container still exists');
        left.push(...hostState(id, ip), ...(await checkClean()));
        results.push({ op: 'run -d --rm -p', step, next, left });
        assert.deepEqual(left, []);
      });
    });
  }
}

/** The verbs that tear down a container whose monitor died, as `system check --repair` does, and what they leave. */
const RACERS: Record<string, { args: string[]; after: 'removed' | 'running' }> = {
  'rm -f': { args: ['rm', '-f'], after: 'removed' },
  start: { args: ['start'], after: 'running' },
};
for (const [verb, racer] of Object.entries(RACERS)) {
  test(`system check --repair and ${verb} of a container whose monitor died do not tear it down at once`, async () => {
    const name = `monitor-gone-${verb.split(' ')[0]}`;
    const id = ok(await f.cli(['run', '-d', '--name', name, 'busybox', 'sleep', '100000']), 'run').stdout.trim();
    try {
      const pid = Number(await inspect(name, '{{.State.Pid}}'));
      const state = JSON.parse(readFileSync(`${f.root}/run/c/${id.slice(0, 12)}/state.json`, 'utf8')) as {
        monitorPid: number;
      };
      // The monitor and the container's process die: the record says running and nobody is to tear it down.
      process.kill(state.monitorPid, 'SIGKILL');
      process.kill(pid, 'SIGKILL');
      // Gone, or a zombie; read once (it may be reaped between a check that it exists and the read).
      const ended = (): boolean => {
        try {
          return readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z');
        } catch {
          return true;
        }
      };
      for (let i = 0; i < 200 && !ended(); i++) await new Promise((r) => setTimeout(r, 25));
      const repair = await runUntilStep(f.root, ['system', 'check', '--repair'], 'teardown:after-unmount');
      const repairExit = new Promise<number | null>((r) => repair.child.once('exit', (code) => r(code)));
      // With the repair stopped inside its teardown, the verb must wait for the container's lock, not tear it down
      // too (a start went on and the repair, resumed, recorded the new run's end). It stops itself where it finds
      // the lock taken (lock:busy); ending before that fails here (runUntilStep).
      let other: Stopped;
      try {
        other = await runUntilStep(f.root, [...racer.args, name], 'lock:busy');
      } finally {
        repair.child.kill('SIGCONT');
      }
      const otherExit = new Promise<number | null>((r) => other.child.once('exit', (code) => r(code)));
      assert.equal(await repairExit, 0, 'system check --repair');
      other.child.kill('SIGCONT'); // waits on for the lock the repair let go, then does its work
      assert.equal(await otherExit, 0, `${verb}: ${other.stderr()}`);
      if (racer.after === 'removed')
        assert.notEqual((await f.cli(['inspect', name])).code, 0, 'the container is removed');
      else assert.equal(await inspect(name, '{{.State.Status}}'), 'running');
      assert.deepEqual(await checkClean(), []);
    } finally {
      await f.cli(['rm', '-f', name]);
    }
    assert.deepEqual(hostState(id, undefined), []);
  });
}

test('the start note of a container that is gone is cleared by the next list, without --repair', async () => {
  // What a failed start leaves when the full disk lets its container's removal through but not the note's delete
  // (test/faults/verbs-full-disk.test.ts): no command looks at a removed container again but a list, which sees the
  // notes of all.
  const id = ok(await f.cli(['create', '--name', 'note-left', 'busybox', 'true']), 'create').stdout.trim();
  ok(await f.cli(['rm', 'note-left']), 'rm');
  const db = new MetaDb(path.join(f.root, 'wharf.db'));
  try {
    db.prepare(
      "INSERT INTO intents(kind, subject, payload, owner_pid, owner_start, created) VALUES ('start', ?, '{}', ?, NULL, 'x')",
    ).run(id, spawnSync('true').pid!); // exited and reaped
  } finally {
    db.close();
  }
  const check = await f.cli(['system', 'check']);
  assert.match(check.stdout, new RegExp(`unfinished start of ${id.slice(0, 12)} .*nothing left but the note`));
  ok(await f.cli(['ps', '-a']), 'ps -a');
  assert.deepEqual(await checkClean(), []);
});

test('kill points summary', (t) => {
  const dirty = results.filter((r) => r.left.length);
  t.diagnostic(
    `run/rm kill cases: ${results.length} (run -d -p: ${START_STEPS.length} kill points, rm -f: ${RM_STEPS.length}, x ${Object.keys(NEXT).length} next commands; run -d --rm -p: ${RM_START_STEPS.length} x ${Object.keys(RM_NEXT).length}), left something behind: ${dirty.length}`,
  );
  for (const d of dirty) t.diagnostic(`${d.op} at ${d.step}, then ${d.next}: ${d.left.join('; ')}`);
  assert.equal(dirty.length, 0);
});
