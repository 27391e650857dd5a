import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { ok, WHARF_BIN } from '../../helpers/cli.js';
import { buildSuite, cacheHits, builtId, imageLayers, type Root } from './helpers.js';
import { Wharf } from '../../../src/engine/index.js';

let t: Root;
const { ctx } = buildSuite((r) => ({ t } = r));

/** Start a build, wait for `marker` on stdout, then send `signal`; resolves with the exit code and output. */
function interruptedBuild(
  dir: string,
  tag: string,
  marker: RegExp,
  signal: NodeJS.Signals,
): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(WHARF_BIN, ['--root', t.root, 'build', '-t', tag, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let sent = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      if (!sent && marker.test(stdout)) {
        sent = true;
        setTimeout(() => child.kill(signal), 300);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout });
    });
  });
}

function mountsUnder(root: string): string[] {
  return execFileSync('findmnt', ['-rn', '-o', 'TARGET'], { encoding: 'utf8' })
    .split('\n')
    .filter((m) => m.startsWith(`${root}/`));
}

async function activeBuildSnapshots(): Promise<number> {
  const w = await Wharf.open({ root: t.root });
  try {
    let n = 0;
    for await (const s of w.snapshots.walk()) if (s.kind !== 'committed' && s.labels['wharf.build']) n++;
    return n;
  } finally {
    w.close();
  }
}

test('Ctrl-C during a RUN: non-zero exit, nothing tagged, nothing mounted, the cache still serves', async () => {
  const dir = await ctx({ Dockerfile: 'FROM busybox\nRUN echo first > /first\nRUN echo started && sleep 30\n' });
  const r = await interruptedBuild(dir, 'interrupted', /started/, 'SIGINT');
  assert.notEqual(r.code, 0);
  assert.equal((await t.cli(['inspect', 'interrupted'])).code, 1);
  assert.deepEqual(mountsUnder(t.root), []);
  assert.equal(await activeBuildSnapshots(), 0);
  const next = ok(
    await t.cli(['build', '-f', '-', dir], { input: 'FROM busybox\nRUN echo first > /first\nRUN echo done\n' }),
    'next build',
  );
  assert.equal(cacheHits(next.stdout), 1);
});

test('SIGKILL during a RUN: the next build cleans up the leftovers and reuses the cache', async () => {
  const dir = await ctx({ Dockerfile: 'FROM busybox\nRUN echo first > /first\nRUN echo started && sleep 30\n' });
  ok(await t.cli(['build', '-f', '-', dir], { input: 'FROM busybox\nRUN echo first > /first\n' }), 'warm the cache');
  const r = await interruptedBuild(dir, 'killed', /started/, 'SIGKILL');
  assert.notEqual(r.code, 0);
  assert.equal((await t.cli(['inspect', 'killed'])).code, 1);
  const next = ok(
    await t.cli(['build', '-f', '-', '-t', 'after-kill', dir], {
      input: 'FROM busybox\nRUN echo first > /first\nRUN echo done > /done\n',
    }),
    'next build',
  );
  assert.equal(cacheHits(next.stdout), 1);
  assert.deepEqual(mountsUnder(t.root), []);
  assert.equal(await activeBuildSnapshots(), 0);
  const { layers } = await imageLayers(t.root, 'after-kill');
  assert.equal(layers.at(-1)!.find((e) => e.name === 'done')?.data, 'done\n');
});

test('--timestamp (and SOURCE_DATE_EPOCH): the same inputs give the same image digest without the cache', async () => {
  const dir = await ctx({
    Dockerfile: 'FROM busybox\nCOPY f /f\nRUN mkdir -p /out && echo built > /out/x && touch /out\nENV A=1\n',
    f: 'F\n',
  });
  const a = ok(await t.cli(['build', '--no-cache', '--timestamp', '1700000000', dir]), 'a');
  const b = ok(await t.cli(['build', '--no-cache', '--timestamp', '1700000000', dir]), 'b');
  assert.equal(builtId(a.stdout), builtId(b.stdout));
  const c = ok(await t.cli(['build', '--no-cache', dir], { env: { SOURCE_DATE_EPOCH: '1700000000' } }), 'c');
  assert.equal(builtId(c.stdout), builtId(a.stdout));
  // A cache hit is exactly the image a miss made.
  const hit = ok(await t.cli(['build', '--timestamp', '1700000000', dir]), 'hit');
  assert.equal(cacheHits(hit.stdout), 3);
  assert.equal(builtId(hit.stdout), builtId(a.stdout));
  const { config } = await imageLayers(t.root, builtId(a.stdout));
  assert.equal(config.created, '2023-11-14T22:13:20Z');
});
