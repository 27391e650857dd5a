/**
 * Attack battery, part 2 (issue 17): the CVE-2018-15664 race against `cp`, both directions. Inside a running
 * container the attack probe exchanges a directory /w with a symlink to a host directory (renameat2 RENAME_EXCHANGE,
 * in a bounded loop) while the host runs `cp` in and out of /w over and over: an engine that resolves /w inside the
 * container and then opens the result by name follows the symlink on the host. Nothing of the host directory may be
 * read, nothing may be written into it. The same under a private dockerd.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { ok } from '../helpers/cli.js';
import { startBattery, type Battery, type Engine, type Result } from './battery.js';

/**
 * cp runs per direction and engine: each one is a fresh chance for the swap to land between resolve and use. Ten
 * keep the file near 40 s with dockerd's turns (an unsafe engine loses in the first few: Wharf's cp before the fix
 * did); WHARF_CP_RACE_ROUNDS=200 for a longer hunt by hand.
 */
const ROUNDS = Number(process.env.WHARF_CP_RACE_ROUNDS ?? 10);
const HOST_SECRET = 'HOST-SECRET-of-the-cp-race';

let b: Battery;
let hostDir: string;

before(async () => {
  b = await startBattery('wharf-sec-cp-');
  // A host directory that does not exist inside the container: the symlink's target.
  hostDir = await fsp.mkdtemp(path.join(b.root, 'host-'));
  await fsp.writeFile(path.join(hostDir, 'secret'), HOST_SECRET);
});

after(async () => {
  await b?.stop();
});

async function withSwapper<T>(engine: Engine, name: string, body: () => Promise<T>): Promise<T> {
  const setup = `mkdir /w && echo CONTAINER > /w/secret && ln -s ${hostDir} /s && exec attack-probe swap /w /s 200000000`;
  ok(await engine(['run', '-d', '--name', name, '--network', 'none', 'busybox', 'sh', '-c', setup]), 'run -d');
  try {
    return await body();
  } finally {
    await engine(['exec', name, 'touch', '/tmp/stop-swapping']);
    await engine(['rm', '-f', name]);
  }
}

const files = async (dir: string): Promise<string[]> => (await fsp.readdir(dir)).sort();

/** What a copy brought out: a regular file's text (a symlink is named, never followed: that would read the host). */
async function contentsOf(p: string): Promise<string[]> {
  const st = await fsp.lstat(p).catch(() => undefined);
  if (!st) return ['nothing'];
  if (st.isSymbolicLink()) return [`a symlink to ${await fsp.readlink(p)}`];
  if (st.isFile()) return [(await fsp.readFile(p, 'utf8')).trim()];
  if (!st.isDirectory()) return ['something else'];
  return (await Promise.all((await files(p)).map((f) => contentsOf(path.join(p, f))))).flat();
}

async function copyOut(engine: Engine, which: string): Promise<Result> {
  const name = `sec-cp-out-${which}`;
  const outDir = await fsp.mkdtemp(path.join(b.root, `out-${which}-`));
  return withSwapper(engine, name, async () => {
    const seen = new Set<string>();
    for (let i = 0; i < ROUNDS; i++) {
      const file = path.join(outDir, `file-${i}`);
      const r = await engine(['cp', `${name}:/w/secret`, file]);
      for (const c of r.code === 0 ? await contentsOf(file) : ['refused']) seen.add(c);
      const dir = path.join(outDir, `dir-${i}`);
      const d = await engine(['cp', `${name}:/w/.`, dir]);
      for (const c of d.code === 0 ? await contentsOf(dir) : ['refused']) seen.add(c);
    }
    const got = [...seen].sort().join(', ');
    return { outcome: seen.has(HOST_SECRET) ? 'escaped' : 'blocked', detail: `${ROUNDS}×2 copies read: ${got}` };
  });
}

async function copyIn(engine: Engine, which: string): Promise<Result> {
  const name = `sec-cp-in-${which}`;
  const payload = path.join(b.root, `payload-${which}`);
  await fsp.writeFile(payload, 'written by cp');
  const before = await files(hostDir);
  return withSwapper(engine, name, async () => {
    let copied = 0;
    for (let i = 0; i < ROUNDS; i++) {
      if ((await engine(['cp', payload, `${name}:/w/dropped-${which}-${i}`])).code === 0) copied++;
      const dir = path.join(b.root, `payload-dir-${which}`);
      await fsp.mkdir(dir, { recursive: true });
      await fsp.writeFile(path.join(dir, `dir-dropped-${which}-${i}`), 'written by cp');
      if ((await engine(['cp', `${dir}/.`, `${name}:/w/`])).code === 0) copied++;
    }
    const added = (await files(hostDir)).filter((f) => !before.includes(f));
    return {
      outcome: added.length ? 'escaped' : 'blocked',
      detail: `${copied} of ${ROUNDS * 2} copies done; host directory ${added.length ? `got ${added.join(' ')}` : 'unchanged'}`,
    };
  });
}

test('cp out of a container while it swaps a directory with a symlink to the host', async () => {
  const ours = await copyOut(b.wharf, 'wharf');
  b.record('cp race, container to host (CVE-2018-15664)', ours, await copyOut(b.docker, 'docker'));
});

test('cp into a container while it swaps a directory with a symlink to the host', async () => {
  const ours = await copyIn(b.wharf, 'wharf');
  b.record('cp race, host to container (CVE-2018-15664)', ours, await copyIn(b.docker, 'docker'));
  assert.deepEqual(await files(hostDir), ['secret']);
});
