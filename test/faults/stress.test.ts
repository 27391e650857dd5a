/**
 * Mixed verbs in parallel on one store (issue 16, concurrency): a bounded number of rounds, each running at once
 * `run --rm`, `run -d` + `rm -f`, `commit`, `tag`/`rmi`, a cached `build`, `images`, `ps`, `volume create`/`rm`.
 * Every command must succeed, and afterwards `system check` must be clean and no mount, network namespace,
 * runc container or process of the root be left.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fsp, readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { ok } from '../helpers/cli.js';
import { withBusybox, type Fixture } from '../integration/container/fixture.js';

/** Bounded: a few rounds in the suite; WHARF_STRESS_ROUNDS=N for a longer run by hand. */
const ROUNDS = Number(process.env.WHARF_STRESS_ROUNDS ?? 3);

let f: Fixture;
let ctx = '';
/** IDs of the containers started with -d: none may keep a network namespace (`wharf-<id>`). */
const started: string[] = [];
before(async () => {
  f = await withBusybox('wharf-fault-stress-');
  ctx = path.join(f.root, 'ctx');
  await fsp.mkdir(ctx);
  await fsp.writeFile(path.join(ctx, 'Dockerfile'), 'FROM busybox\nRUN echo cached > /cached\n');
  started.push(
    ok(await f.cli(['run', '-d', '--name', 'base', 'busybox', 'sleep', '100000']), 'run base').stdout.trim(),
  );
});
after(async () => {
  await f?.cleanup();
});

/** One round: every verb at once; the failures, by verb. */
async function round(r: number): Promise<string[]> {
  const jobs: Record<string, () => Promise<void>> = {
    'run --rm': async () => {
      const out = ok(await f.cli(['run', '--rm', 'busybox', 'echo', `r${r}`]), 'run --rm').stdout;
      assert.equal(out.trim(), `r${r}`);
    },
    'run -d + rm -f': async () => {
      started.push(
        ok(await f.cli(['run', '-d', '--name', `d${r}`, 'busybox', 'sleep', '1000']), 'run -d').stdout.trim(),
      );
      ok(await f.cli(['rm', '-f', `d${r}`]), 'rm -f');
    },
    commit: async () => {
      ok(await f.cli(['commit', 'base', `committed:${r}`]), 'commit');
    },
    'tag + rmi': async () => {
      ok(await f.cli(['tag', 'busybox', `tagged:${r}`]), 'tag');
      ok(await f.cli(['rmi', `tagged:${r}`]), 'rmi');
    },
    build: async () => {
      ok(await f.cli(['build', '-q', '-t', `built:${r}`, ctx]), 'build');
    },
    images: async () => {
      ok(await f.cli(['images']), 'images');
    },
    ps: async () => {
      ok(await f.cli(['ps', '-a']), 'ps');
    },
    volume: async () => {
      ok(await f.cli(['volume', 'create', `v${r}`]), 'volume create');
      ok(await f.cli(['volume', 'rm', `v${r}`]), 'volume rm');
    },
  };
  const settled = await Promise.allSettled(Object.values(jobs).map((j) => j()));
  const names = Object.keys(jobs);
  return settled.flatMap((s, i) => (s.status === 'rejected' ? [`${names[i]}: ${(s.reason as Error).message}`] : []));
}

/** Mount namespaces' view: mounts under the root other than the one running container's rootfs. */
function mountsUnderRoot(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m.startsWith(`${f.root}/`));
}

/** Processes whose root is a mount of this root's snapshots. */
function processesUnderRoot(): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const lines = readFileSync(`/proc/${p}/mountinfo`, 'utf8').split('\n');
      if (lines.some((l) => l.split(' ')[4] === '/' && l.includes(`${f.root}/`))) out.push(Number(p));
    } catch {}
  }
  return out;
}

test(`${ROUNDS} rounds of mixed verbs in parallel: all succeed, then nothing leaked and system check is clean`, async () => {
  const failures: string[] = [];
  for (let r = 0; r < ROUNDS; r++) failures.push(...(await round(r)).map((m) => `round ${r}: ${m}`));
  assert.deepEqual(failures, []);
  const check = await f.cli(['system', 'check']);
  assert.equal(check.code, 0, check.stdout + check.stderr);
  assert.match(check.stdout, /no problems/);
  // Only `base` is left running: its rootfs mount and its processes; no other container, mount or netns.
  const runc = execFileSync('runc', ['--root', path.join(f.root, 'run', 'runc'), 'list', '-q'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
  const baseId = ok(await f.cli(['inspect', '-f', '{{.Id}}', 'base']), 'inspect').stdout.trim();
  assert.deepEqual(runc, [baseId]);
  const mounts = mountsUnderRoot().filter((m) => !m.includes(baseId.slice(0, 12)) && !m.includes(baseId));
  assert.deepEqual(mounts, []);
  const ps = ok(await f.cli(['ps', '-aq', '--no-trunc']), 'ps')
    .stdout.trim()
    .split('\n');
  assert.deepEqual(ps, [baseId]);
  ok(await f.cli(['rm', '-f', 'base']), 'rm base');
  const netns = await fsp.readdir('/run/netns').catch(() => [] as string[]);
  assert.deepEqual(
    netns.filter((n) => started.some((id) => n === `wharf-${id}`)),
    [],
    'network namespaces left',
  );
  assert.deepEqual(mountsUnderRoot(), []);
  assert.deepEqual(processesUnderRoot(), []);
  const after = await f.cli(['system', 'check']);
  assert.match(after.stdout, /no problems/);
});
