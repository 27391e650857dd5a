/**
 * A RUN step on a full disk (issue 16, finding 7): it left a 148 MB orphan snapshot until a manual `--repair`. Now the
 * build fails with one clear line and a non-zero exit, and leaves no snapshot, mount or build directory behind
 * (`system check` clean). The failed step's container Docker keeps is a container, not a leftover: `--force-rm`.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ok, runCli } from '../helpers/cli.js';
import { makeBusyboxTar } from '../helpers/busybox.js';
import { unmountAll } from './helpers.js';

let work = '';
let root = '';
let ctx = '';
const cli = (args: string[]) => runCli(root, args);

before(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'wharf-fault-build-enospc-'));
  root = path.join(work, 'root');
  ctx = path.join(work, 'ctx');
  await mkdir(root);
  await mkdir(ctx);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=150m', 'tmpfs', root]);
  const tar = await makeBusyboxTar(work);
  ok(await cli(['import', '-c', 'CMD ["sh"]', tar, 'busybox']), 'import');
});

after(async () => {
  if (root) {
    unmountAll(root);
  }
  if (work) await rm(work, { recursive: true, force: true });
});

/** Mounts under the root other than the tmpfs itself. */
const mountsUnder = () =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m.startsWith(`${root}/`));

/** Active snapshots (build steps) left in the store: `system check` would call them orphans or stale. */
async function leftovers(): Promise<string[]> {
  const out = mountsUnder().map((m) => `mounted: ${m}`);
  for (const d of await readdir(path.join(root, 'run', 'build')).catch(() => [])) out.push(`build directory ${d}`);
  const check = await cli(['system', 'check']);
  if (check.code !== 0 || !check.stdout.includes('no problems')) out.push(`system check: ${check.stdout.trim()}`);
  return out;
}

for (const [name, run] of [
  // The step's own command fails on the full disk: a failed step.
  ['a RUN whose command fails on the full disk', 'dd if=/dev/zero of=/big bs=1M count=400'],
  // The command swallows its error and leaves the disk full: committing its layer has no room left.
  ['a RUN that fills the disk and exits 0', 'dd if=/dev/zero of=/big bs=1M count=400 2>/dev/null; true'],
] as const) {
  test(`${name}: the build fails with one line, nothing is left behind`, async () => {
    await writeFile(path.join(ctx, 'Dockerfile'), `FROM busybox\nRUN ${run}\n`);
    const r = await cli(['build', '--force-rm', '-q', ctx]);
    assert.notEqual(r.code, 0, `build exited 0: ${r.stdout}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length <= 2, true, r.stderr); // dd's own complaint may come first
    assert.match(lines[lines.length - 1]!, /no space left on device|returned a non-zero code/);
    assert.deepEqual(await leftovers(), []);
    const df = execFileSync('df', ['--output=used', '-B1M', root], { encoding: 'utf8' });
    assert.ok(Number(df.split('\n')[1]) < 40, `the space is given back: ${df}`);
  });
}

test('the build succeeds once it fits', async () => {
  await writeFile(path.join(ctx, 'Dockerfile'), 'FROM busybox\nRUN echo fits > /f\n');
  ok(await cli(['build', '-q', ctx]), 'build');
  assert.deepEqual(await leftovers(), []);
});
