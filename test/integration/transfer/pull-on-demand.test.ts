/**
 * Pulls on demand, as Docker does: `run`/`create` of an image that is only in a registry (`--pull missing|always|never`)
 * and `build` of `FROM` such an image (`--pull`). Against Wharf's own registry on loopback (insecure by default); the
 * expected lines are what docker CLI 28 + dockerd 20.10 print for the same steps.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tempRoot, ok } from '../../helpers/cli.js';
import { makeBusyboxTar } from '../../helpers/busybox.js';
import { Wharf } from '../../../src/engine/index.js';
import { startTestRegistry, type TestRegistry } from '../registry/helpers.js';

let reg: TestRegistry;
let work: string;
/** The image, only in the registry: `127.0.0.1:PORT/x/app:1`. */
let ref: string;
let addr: string;
const roots: Array<Awaited<ReturnType<typeof tempRoot>>> = [];

before(async () => {
  work = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-pullmissing-'));
  reg = await startTestRegistry();
  addr = `${reg.host}:${reg.port}`;
  ref = `${addr}/x/app:1`;
  const src = await Wharf.open({ root: path.join(work, 'src') });
  try {
    await src.images.archives.import(await makeBusyboxTar(work), { reference: ref });
    await src.registries.push(ref);
  } finally {
    await src.close();
  }
});

after(async () => {
  for (const r of roots) await r.cleanup();
  await reg?.stop();
  if (work) await fsp.rm(work, { recursive: true, force: true });
});

async function freshRoot(): Promise<Awaited<ReturnType<typeof tempRoot>>> {
  const r = await tempRoot('wharf-pullmissing-root-');
  roots.push(r);
  return r;
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The pull's progress as the daemon streams it for run/create/build: no "Using default tag", no reference line after the status. */
function assertPullProgress(text: string, status: 'Downloaded newer image' | 'Image is up to date'): void {
  const lines = text.trimEnd().split('\n');
  const start = lines.indexOf('1: Pulling from x/app');
  assert.ok(start >= 0, text);
  const end = lines.indexOf(`Status: ${status} for ${ref}`);
  assert.ok(end > start, text);
  assert.match(lines[end - 1]!, /^Digest: sha256:[0-9a-f]{64}$/);
  if (status === 'Downloaded newer image') assert.ok(lines.slice(start, end).some((l) => /: Pull complete$/.test(l)));
  assert.ok(!text.includes('Using default tag'), text);
  assert.ok(!lines.slice(end + 1).some((l) => l === ref || l.startsWith(`${addr}/`)), text);
}

test('run of an image only in a registry: "Unable to find image" and the pull on stderr, then the container runs', async () => {
  const r = await freshRoot();
  const run = ok(await r.cli(['run', '--rm', ref, 'echo', 'hi']), 'run');
  assert.equal(run.stdout, 'hi\n');
  assert.ok(run.stderr.startsWith(`Unable to find image '${ref}' locally\n1: Pulling from x/app\n`), run.stderr);
  assertPullProgress(run.stderr, 'Downloaded newer image');
  assert.match(
    ok(await r.cli(['images', '--format', '{{.Repository}}:{{.Tag}}']), 'images').stdout,
    new RegExp(`^${esc(ref)}$`, 'm'),
  );

  // Present now: no pull at all.
  const again = ok(await r.cli(['run', '--rm', ref, 'echo', 'again']), 'run again');
  assert.equal(again.stdout, 'again\n');
  assert.equal(again.stderr, '');

  // --pull always pulls even so, without "Unable to find" (docker run --pull always).
  const always = ok(await r.cli(['run', '--rm', '--pull', 'always', ref, 'echo', 'hi2']), 'run --pull always');
  assert.equal(always.stdout, 'hi2\n');
  assert.ok(always.stderr.startsWith('1: Pulling from x/app\n'), always.stderr);
  assertPullProgress(always.stderr, 'Image is up to date');
});

test('create pulls what is missing; --pull never fails with "No such image"; a bad --pull value is refused', async () => {
  const r = await freshRoot();
  const never = await r.cli(['create', '--pull', 'never', ref, 'true']);
  assert.equal(never.code, 1);
  assert.equal(never.stderr, `Error response from daemon: No such image: ${ref}\n`);
  assert.equal(ok(await r.cli(['images', '-q']), 'images').stdout, '');

  const bad = await r.cli(['run', '--pull', 'bogus', ref]);
  assert.equal(bad.code, 125);
  assert.match(bad.stderr, /invalid pull option: 'bogus': must be one of "always", "missing" or "never"/);
  assert.equal(ok(await r.cli(['images', '-q']), 'images').stdout, '');

  const created = ok(await r.cli(['create', ref, 'true']), 'create');
  assert.match(created.stdout, /^[0-9a-f]{64}\n$/);
  assert.ok(created.stderr.startsWith(`Unable to find image '${ref}' locally\n`), created.stderr);
  assertPullProgress(created.stderr, 'Downloaded newer image');

  // -q: the pull happens, its output does not (docker run -q).
  const q = await freshRoot();
  const quiet = ok(await q.cli(['run', '--rm', '-q', ref, 'echo', 'quiet']), 'run -q');
  assert.equal(quiet.stdout, 'quiet\n');
  assert.equal(quiet.stderr, '');
});

test('a pull that fails: the name gets its default tag in the message, exit 1 with the registry error', async () => {
  const r = await freshRoot();
  const missing = await r.cli(['create', `${addr}/x/nope`]);
  assert.equal(missing.code, 1);
  assert.ok(missing.stderr.startsWith(`Unable to find image '${addr}/x/nope:latest' locally\n`), missing.stderr);
  assert.match(missing.stderr, new RegExp(`manifest for ${esc(addr)}/x/nope:latest not found`));
  assert.ok(!missing.stderr.includes('Using default tag'), missing.stderr);
});

test('build: a FROM image only in a registry is pulled at its step; --pull pulls it again', async () => {
  const r = await freshRoot();
  const ctx = path.join(work, 'ctx');
  await fsp.mkdir(ctx, { recursive: true });
  await fsp.writeFile(path.join(ctx, 'Dockerfile'), `FROM ${ref}\nRUN echo built\n`);
  const built = ok(await r.cli(['build', ctx]), 'build');
  const lines = built.stdout.split('\n');
  const from = lines.indexOf(`Step 1/2 : FROM ${ref}`);
  assert.equal(lines[from + 1], '1: Pulling from x/app', built.stdout);
  const status = lines.indexOf(`Status: Downloaded newer image for ${ref}`);
  assert.ok(status > from, built.stdout);
  assert.match(lines[status + 1]!, /^ ---> [0-9a-f]{12}$/);
  assert.equal(lines[status + 2], 'Step 2/2 : RUN echo built');
  assertPullProgress(built.stdout, 'Downloaded newer image');

  const cached = ok(await r.cli(['build', ctx]), 'build again');
  assert.ok(!cached.stdout.includes('Pulling from'), cached.stdout);
  assert.match(cached.stdout, /Step 2\/2 : RUN echo built\n ---> Using cache\n/);

  const pulled = ok(await r.cli(['build', '--pull', ctx]), 'build --pull');
  assert.match(pulled.stdout, new RegExp(`Step 1/2 : FROM ${esc(ref)}\n1: Pulling from x/app\n`));
  assertPullProgress(pulled.stdout, 'Image is up to date');
  assert.match(pulled.stdout, /Step 2\/2 : RUN echo built\n ---> Using cache\n/);

  // COPY --from an image only in a registry: pulled at that step.
  const c = await freshRoot();
  await fsp.writeFile(path.join(ctx, 'Dockerfile'), `FROM scratch\nCOPY --from=${ref} /bin/busybox /busybox\n`);
  const copied = ok(await c.cli(['build', ctx]), 'build COPY --from');
  assert.match(
    copied.stdout,
    new RegExp(
      `Step 1/2 : FROM scratch\n ---> \nStep 2/2 : COPY --from=${esc(ref)} /bin/busybox /busybox\n1: Pulling from x/app\n`,
    ),
  );
  assertPullProgress(copied.stdout, 'Downloaded newer image');

  // A FROM that no registry has: the step is printed, then the registry's error; exit 1.
  await fsp.writeFile(path.join(ctx, 'Dockerfile'), `FROM ${addr}/x/nope:1\nRUN echo built\n`);
  const failed = await r.cli(['build', ctx]);
  assert.equal(failed.code, 1);
  assert.match(failed.stdout, new RegExp(`Step 1/2 : FROM ${esc(addr)}/x/nope:1\n$`));
  assert.match(failed.stderr, new RegExp(`manifest for ${esc(addr)}/x/nope:1 not found`));
});
