/**
 * `create`'s error cases side by side with Docker (a private dockerd 20.10 + docker CLI 28): what the CLI checks itself
 * fails with 125 and the usage hint, what the daemon refuses with 1 and "Error response from daemon:", a reference
 * that does not parse with 1 and the bare message. Same exit status for every case; the same words where Wharf's
 * message is Docker's.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { ok, tempRoot } from '../helpers/cli.js';
import { makeBusyboxTar } from '../helpers/busybox.js';
import { dockerdAvailable, startDockerd, type Dockerd } from '../helpers/dockerd.js';

let t: Awaited<ReturnType<typeof tempRoot>>;
let d: Dockerd;

before(async () => {
  if (!dockerdAvailable()) throw new Error('dockerd is not installed');
  t = await tempRoot('wharf-create-errors-');
  const tar = await makeBusyboxTar(t.root);
  ok(await t.cli(['import', '-c', 'CMD ["sh"]', tar, 'busybox']), 'import busybox');
  ok(await t.cli(['import', tar, 'nocmd']), 'import nocmd');
  const archive = path.join(t.root, 'images.tar');
  ok(await t.cli(['save', 'busybox', 'nocmd', '-o', archive]), 'save');
  d = await startDockerd();
  const loaded = await d.docker(['load', '-i', archive]);
  assert.equal(loaded.code, 0, loaded.stderr);
  for (const cli of [(a: string[]) => t.cli(a), d.docker]) {
    assert.equal((await cli(['create', '--name', 'taken', 'busybox', 'true'])).code, 0);
  }
});

after(async () => {
  await d?.stop();
  await t?.cleanup();
});

/** [argv, 'same' when the words are Docker's too, else only the exit status and the frame of the message]. */
const CASES: Array<[string[], 'same' | 'status']> = [
  // The daemon's refusals: exit 1.
  [['create', '--pull', 'never', 'missing:1'], 'same'],
  [['create', '--name', 'taken', 'busybox', 'true'], 'same'],
  [['create', '--name', 'bad/name', 'busybox', 'true'], 'same'],
  [['create', '--mount', 'type=bind,src=/nonexistent,dst=/x', 'busybox', 'true'], 'same'],
  [['create', '--volumes-from', 'nope', 'busybox', 'true'], 'same'],
  [['create', '-w', 'rel', 'busybox', 'true'], 'same'],
  [['create', '--memory', '1k', 'busybox', 'true'], 'same'],
  [['create', 'nocmd'], 'status'],
  [['create', '-v', '/a:/b:zz', 'busybox', 'true'], 'status'],
  [['create', '127.0.0.1:1/x:1', 'true'], 'status'],
  // A reference that does not parse: exit 1, no prefix.
  [['create', 'BAD:Tag', 'true'], 'same'],
  // The CLI's own checks: exit 125 and the hint.
  [['create', '--pull', 'bogus', 'busybox', 'true'], 'same'],
  [['create', '-e', 'A', '--env-file', '/nonexistent', 'busybox', 'true'], 'same'],
  [['create', '--cpus', 'x', 'busybox', 'true'], 'same'],
  [['create', '-p', 'abc', 'busybox', 'true'], 'status'],
  [['create', '--bogus', 'busybox'], 'same'],
  [['create'], 'same'],
];

/** docker → wharf, and container IDs (each engine makes its own) as one placeholder. */
const norm = (s: string): string =>
  s
    .replaceAll('docker ', 'wharf ')
    .replaceAll('docker:', 'wharf:')
    .replace(/\b[0-9a-f]{64}\b/g, '<id>');
/** The frame of a message: each line's leading words (who says it), and the hint lines as they are. */
const frame = (s: string): string =>
  norm(s)
    .split('\n')
    .map((l) => /^(wharf: |Error response from daemon: |Unable to find image )/.exec(l)?.[0] ?? l)
    .join('\n');

test('create: every error case exits as with Docker, in the same words where the message is the same', async () => {
  const differences: string[] = [];
  for (const [argv, how] of CASES) {
    const theirs = await d.docker(argv);
    const ours = await t.cli(argv);
    const same =
      how === 'same' ? norm(ours.stderr) === norm(theirs.stderr) : frame(ours.stderr) === frame(theirs.stderr);
    if (ours.code !== theirs.code || !same || ours.stdout !== '') {
      differences.push(
        `${argv.join(' ')}: exit ${ours.code} (docker ${theirs.code})\n${ours.stderr}--- docker\n${theirs.stderr}`,
      );
    }
  }
  assert.deepEqual(differences, []);
});
