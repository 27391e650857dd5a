/**
 * `commit` on a full disk (issue 16, finding 1): it exited 0 with no output and no image, left the container frozen and
 * the partial layer on the disk. Now: one clear line saying "no space left on device" and where, a non-zero exit, the
 * container running and unfrozen, and nothing left behind.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ok, runCli } from '../helpers/cli.js';
import { makeBusyboxTar } from '../helpers/busybox.js';
import { unmountAll } from './helpers.js';

let work = '';
let root = '';
const cli = (args: string[]) => runCli(root, args);

before(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'wharf-fault-enospc-'));
  root = path.join(work, 'root');
  execFileSync('mkdir', ['-p', root]);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=150m', 'tmpfs', root]);
  const tar = await makeBusyboxTar(work);
  ok(await cli(['import', '-c', 'CMD ["sh"]', tar, 'busybox']), 'import');
});

after(async () => {
  if (root) {
    const ids = (await cli(['ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean);
    if (ids.length) await cli(['rm', '-f', ...ids]);
    unmountAll(root);
  }
  if (work) await rm(work, { recursive: true, force: true });
});

test('commit on a full disk fails with ENOSPC and where, resumes the container, and leaves no partial layer', async () => {
  const id = ok(
    await cli([
      'run',
      '-d',
      '--name',
      'filler',
      'busybox',
      'sh',
      '-c',
      'dd if=/dev/zero of=/big bs=1M count=85 2>/dev/null; touch /ready; sleep 100000',
    ]),
    'run',
  ).stdout.trim();
  for (let i = 0; i < 100; i++) if ((await cli(['exec', 'filler', 'test', '-e', '/ready'])).code === 0) break;
  const images = ok(await cli(['images', '-q']), 'images').stdout;

  const r = await cli(['commit', 'filler', 'full']);
  assert.notEqual(r.code, 0, `commit exited 0: ${r.stdout}`);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /no space left on device/);
  assert.ok(lines[0]!.includes(root), `the error says where: ${lines[0]}`);

  const runc = execFileSync('runc', ['--root', path.join(root, 'run', 'runc'), 'state', id], { encoding: 'utf8' });
  assert.equal((JSON.parse(runc) as { status: string }).status, 'running');
  ok(await cli(['exec', 'filler', 'true']), 'exec');
  assert.equal(ok(await cli(['images', '-q']), 'images').stdout, images, 'no image was made');
  const check = ok(await cli(['system', 'check']), 'system check');
  assert.match(check.stdout, /no problems/);
});

test('a disk too full for the database fails commit with one line saying so and where; the container runs on', async () => {
  const id = ok(await cli(['inspect', '-f', '{{.Id}}', 'filler']), 'inspect').stdout.trim();
  const fill = path.join(root, 'fill');
  try {
    execFileSync('dd', ['if=/dev/zero', `of=${fill}`, 'bs=1M'], { stdio: 'ignore' });
  } catch {
    // dd stops at ENOSPC: the disk is full
  }
  try {
    const r = await cli(['commit', 'filler', 'full']);
    assert.notEqual(r.code, 0);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /no space left on device/);
    assert.ok(lines[0]!.includes(root), lines[0]);
    const runc = execFileSync('runc', ['--root', path.join(root, 'run', 'runc'), 'state', id], { encoding: 'utf8' });
    assert.equal((JSON.parse(runc) as { status: string }).status, 'running');
  } finally {
    await rm(fill, { force: true });
  }
  assert.match(ok(await cli(['system', 'check']), 'system check').stdout, /no problems/);
});
