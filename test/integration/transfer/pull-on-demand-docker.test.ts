/**
 * Pulls on demand side by side with Docker: a private dockerd (docker CLI 28, classic builder) and Wharf pull the same
 * image from Wharf's registry on loopback for `run`, `run --pull always`, `create --pull never` and `build` of
 * `FROM` it. The lines must match, except the per-layer ones Docker prints racily ("Verifying Checksum", "Waiting").
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tempRoot, ok } from '../../helpers/cli.js';
import { makeBusyboxTar } from '../../helpers/busybox.js';
import { dockerdAvailable, startDockerd, type Dockerd } from '../../helpers/dockerd.js';
import { Wharf } from '../../../src/engine/index.js';
import { startTestRegistry, type TestRegistry } from '../registry/helpers.js';

process.env.DOCKER_BUILDKIT = '0';

let reg: TestRegistry;
let d: Dockerd;
let work: string;
let ref: string;
let t: Awaited<ReturnType<typeof tempRoot>>;

before(async () => {
  if (!dockerdAvailable()) throw new Error('dockerd is not installed');
  work = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-pullmissing-docker-'));
  reg = await startTestRegistry();
  ref = `${reg.host}:${reg.port}/x/app:1`;
  const src = await Wharf.open({ root: path.join(work, 'src') });
  try {
    await src.images.archives.import(await makeBusyboxTar(work), { reference: ref });
    await src.registries.push(ref);
  } finally {
    await src.close();
  }
  t = await tempRoot('wharf-pullmissing-docker-root-');
  d = await startDockerd();
});

after(async () => {
  await d?.stop();
  await t?.cleanup();
  await reg?.stop();
  if (work) await fsp.rm(work, { recursive: true, force: true });
});

/** The lines both print the same way: messages, and the layers' final "Pull complete". */
const stable = (s: string) =>
  s
    .split('\n')
    // The docker CLI rewrites "Sending build context" in place with carriage returns.
    .map(
      (l) =>
        l
          .split('\r')
          .filter((x) => x !== '')
          .pop() ?? '',
    )
    .filter((l) => !/^[0-9a-f]{12}: (?!Pull complete$)/.test(l))
    .filter((l) => !l.startsWith('DEPRECATED:') && !/^ {2,}/.test(l) && l !== '');

test('run of a missing image, run --pull always, create --pull never: the same lines as docker', async () => {
  const theirs = await d.docker(['run', '--rm', ref, 'echo', 'hi']);
  const ours = await t.cli(['run', '--rm', ref, 'echo', 'hi']);
  assert.equal(theirs.code, 0, theirs.stderr);
  assert.equal(ours.code, 0, ours.stderr);
  assert.equal(ours.stdout, theirs.stdout);
  assert.deepEqual(stable(ours.stderr), stable(theirs.stderr));
  assert.equal(stable(ours.stderr)[0], `Unable to find image '${ref}' locally`);

  const theirsAlways = await d.docker(['run', '--rm', '--pull', 'always', ref, 'echo', 'hi']);
  const oursAlways = await t.cli(['run', '--rm', '--pull', 'always', ref, 'echo', 'hi']);
  assert.equal(oursAlways.code, theirsAlways.code);
  // Neither prints a line for the layers of an image it has (pull-already-exists-docker.test.ts).
  assert.deepEqual(stable(oursAlways.stderr), stable(theirsAlways.stderr));

  ok(await t.cli(['rmi', ref]), 'rmi');
  assert.equal((await d.docker(['rmi', ref])).code, 0);
  const theirsNever = await d.docker(['create', '--pull', 'never', ref]);
  const oursNever = await t.cli(['create', '--pull', 'never', ref]);
  // Docker: "Error response from daemon: No such image: REF", exit 1 (create; run exits 125).
  assert.equal(oursNever.stderr, theirsNever.stderr);
  assert.equal(oursNever.stderr, `Error response from daemon: No such image: ${ref}\n`);
  assert.equal(oursNever.code, theirsNever.code);
  const theirsRunNever = await d.docker(['run', '--pull', 'never', ref]);
  const oursRunNever = await t.cli(['run', '--pull', 'never', ref]);
  assert.equal(oursRunNever.code, theirsRunNever.code);
});

test('build FROM a missing image: the pull under the FROM step, as the classic builder prints it', async () => {
  const ctx = path.join(work, 'ctx');
  await fsp.mkdir(ctx, { recursive: true });
  await fsp.writeFile(path.join(ctx, 'Dockerfile'), `FROM ${ref}\nRUN echo built\n`);
  await d.docker(['rmi', ref]);
  await t.cli(['rmi', ref]);
  const theirs = await d.docker(['build', ctx]);
  const ours = await t.cli(['build', ctx]);
  assert.equal(theirs.code, 0, theirs.stderr);
  assert.equal(ours.code, 0, ours.stderr);
  const upToFirstStepId = (s: string) => {
    const lines = stable(s);
    return lines.slice(
      0,
      lines.findIndex((l) => l.startsWith(' ---> ')),
    );
  };
  assert.deepEqual(upToFirstStepId(ours.stdout), upToFirstStepId(theirs.stdout));
  assert.ok(upToFirstStepId(ours.stdout).includes(`Status: Downloaded newer image for ${ref}`), ours.stdout);

  const theirsPull = await d.docker(['build', '--pull', ctx]);
  const oursPull = await t.cli(['build', '--pull', ctx]);
  assert.equal(oursPull.code, theirsPull.code);
  assert.deepEqual(upToFirstStepId(oursPull.stdout), upToFirstStepId(theirsPull.stdout));
});

test('build COPY --from a missing image: the pull under the COPY step', async () => {
  const ctx = path.join(work, 'ctx-copy');
  await fsp.mkdir(ctx, { recursive: true });
  await fsp.writeFile(path.join(ctx, 'Dockerfile'), `FROM scratch\nCOPY --from=${ref} /bin/busybox /busybox\n`);
  await d.docker(['rmi', ref]);
  await t.cli(['rmi', ref]);
  const theirs = await d.docker(['build', ctx]);
  const ours = await t.cli(['build', ctx]);
  assert.equal(theirs.code, 0, theirs.stderr);
  assert.equal(ours.code, 0, ours.stderr);
  const copyStep = (s: string) => {
    const lines = stable(s);
    const at = lines.findIndex((l) => l.startsWith('Step 2/2 : COPY'));
    return lines.slice(
      at,
      lines.findIndex((l, i) => i > at && l.startsWith(' ---> ')),
    );
  };
  assert.deepEqual(copyStep(ours.stdout), copyStep(theirs.stdout));
  assert.equal(copyStep(ours.stdout)[1], '1: Pulling from x/app', ours.stdout);
});
