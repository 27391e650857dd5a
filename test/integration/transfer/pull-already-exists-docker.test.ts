/**
 * "Already exists" side by side with Docker (a private dockerd 20.10 + CLI 28, pulling from Wharf's registry on
 * loopback): a pull of a new image whose lower layers are in the store prints "<id>: Already exists" for each of them
 * and pulls only the rest; a pull of an image that is already there prints no layer line at all (dockerd finds the
 * image's config in its store and stops: "Status: Image is up to date").
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tempRoot, ok, type CliResult } from '../../helpers/cli.js';
import { makeBusyboxTar } from '../../helpers/busybox.js';
import { dockerdAvailable, startDockerd, type Dockerd } from '../../helpers/dockerd.js';
import { startTestRegistry, type TestRegistry } from '../registry/helpers.js';

let reg: TestRegistry;
let d: Dockerd;
let work: string;
let base: string;
let child: string;
let src: Awaited<ReturnType<typeof tempRoot>>;
let t: Awaited<ReturnType<typeof tempRoot>>;

before(async () => {
  if (!dockerdAvailable()) throw new Error('dockerd is not installed');
  work = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-already-'));
  reg = await startTestRegistry();
  base = `${reg.host}:${reg.port}/x/base:1`;
  child = `${reg.host}:${reg.port}/x/child:1`;
  src = await tempRoot('wharf-already-src-');
  ok(await src.cli(['import', '-c', 'CMD ["sh"]', await makeBusyboxTar(work), base]), 'import base');
  const ctx = path.join(work, 'ctx');
  await fsp.mkdir(ctx);
  await fsp.writeFile(path.join(ctx, 'f'), 'child\n');
  await fsp.writeFile(path.join(ctx, 'Dockerfile'), `FROM ${base}\nCOPY f /f\n`);
  ok(await src.cli(['build', '-q', '-t', child, ctx]), 'build child');
  ok(await src.cli(['push', base]), 'push base');
  ok(await src.cli(['push', child]), 'push child');
  t = await tempRoot('wharf-already-root-');
  d = await startDockerd();
});

after(async () => {
  await d?.stop();
  await t?.cleanup();
  await src?.cleanup();
  await reg?.stop();
  if (work) await fsp.rm(work, { recursive: true, force: true });
});

/** The layer lines that do not race (Docker prints "Waiting"/"Verifying Checksum" as timing goes), and the rest. */
const lines = (r: CliResult): string[] =>
  r.stdout
    .trimEnd()
    .split('\n')
    .filter((l) => !/^[0-9a-f]{12}: (?!Already exists$|Pull complete$)/.test(l));

test('pull: "Already exists" for the layers in the store, nothing per layer when the image is there', async () => {
  for (const ref of [base, child]) {
    const theirs = await d.docker(['pull', ref]);
    const ours = await t.cli(['pull', ref]);
    assert.equal(theirs.code, 0, theirs.stderr);
    assert.equal(ours.code, 0, ours.stderr);
    assert.deepEqual(lines(ours), lines(theirs), ref);
  }
  const shared = lines(await t.cli(['pull', '--quiet', child]));
  assert.deepEqual(shared, [child]);

  // The child's pull above: its base layer already there, its own layer pulled.
  const again = await d.docker(['pull', child]);
  const oursAgain = await t.cli(['pull', child]);
  assert.deepEqual(lines(oursAgain), lines(again));
  assert.ok(!oursAgain.stdout.includes('Already exists'), oursAgain.stdout);
  assert.match(oursAgain.stdout, /^Status: Image is up to date for /m);
});

test('pull of an image whose layers are all in the store under another name: "Already exists" for each', async () => {
  ok(await t.cli(['rmi', child]), 'rmi child');
  assert.equal((await d.docker(['rmi', child])).code, 0);
  // The base is still there; the child's own layer went with it: one "Already exists", one pull.
  const theirs = await d.docker(['pull', child]);
  const ours = await t.cli(['pull', child]);
  assert.deepEqual(lines(ours), lines(theirs));
  assert.equal(lines(ours).filter((l) => l.endsWith(': Already exists')).length, 1, ours.stdout);
});
