/**
 * POST /build with the real docker CLI 28: the classic builder's stream (`DOCKER_BUILDKIT=0`), the CLI's own fallback
 * to it when BuildKit is the default but buildx is missing (as against a dockerd without BuildKit), and its refusal
 * when BuildKit is asked for explicitly.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { ok } from '../../helpers/cli.js';
import { startApiService, type ApiService } from '../../helpers/api-service.js';
import { withBusybox, type Fixture } from '../container/fixture.js';

let fx: Fixture;
let api: ApiService;
let ctxDir: string;

before(async () => {
  fx = await withBusybox('wharf-api-build-');
  api = await startApiService(fx.root);
  ctxDir = path.join(fx.root, 'ctx');
  await fsp.mkdir(ctxDir);
  await fsp.writeFile(path.join(ctxDir, 'greeting.txt'), 'hello\n');
  await fsp.writeFile(
    path.join(ctxDir, 'Dockerfile'),
    'FROM busybox\nARG WHO=nobody\nCOPY greeting.txt /greeting.txt\nRUN echo "built by $WHO" > /who\nCMD cat /greeting.txt /who\n',
  );
  await fsp.writeFile(path.join(ctxDir, 'Fail.Dockerfile'), 'FROM busybox\nRUN echo failing; exit 3\n');
});

after(async () => {
  await api?.stop();
  await fx?.cleanup();
});

test('DOCKER_BUILDKIT=0 docker build streams the classic output and tags the image wharf sees', async () => {
  const b = ok(
    await api.docker(['build', '-t', 'web:v1', '--build-arg', 'WHO=api', '--label', 'k=v', ctxDir], {
      env: { DOCKER_BUILDKIT: '0' },
    }),
    'docker build',
  );
  assert.match(b.stdout, /^Step 1\/6 : FROM busybox$/m);
  assert.match(b.stdout, /^Successfully tagged web:v1$/m);
  assert.match((await fx.cli(['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout, /^web:v1$/m);
  const run = ok(await api.docker(['run', '--rm', 'web:v1']), 'run');
  assert.equal(run.stdout, 'hello\nbuilt by api\n');
  const label = ok(await api.docker(['image', 'inspect', '-f', '{{.Config.Labels.k}}', 'web:v1']), 'inspect');
  assert.equal(label.stdout, 'v\n');
});

test('build -q prints only the image ID; --iidfile gets it from the aux message', async () => {
  const iid = path.join(fx.root, 'iid');
  const q = ok(
    await api.docker(['build', '-q', '--iidfile', iid, '-t', 'web:q', ctxDir], { env: { DOCKER_BUILDKIT: '0' } }),
    'build -q',
  );
  assert.match(q.stdout, /^sha256:[0-9a-f]{64}\n$/);
  // As with dockerd: the CLI writes the quiet stream (the ID and its newline) to the file.
  assert.equal(await fsp.readFile(iid, 'utf8'), q.stdout);
});

test('a failing RUN: the docker CLI prints the error and exits with its code', async () => {
  const f = await api.docker(['build', '-f', path.join(ctxDir, 'Fail.Dockerfile'), ctxDir], {
    env: { DOCKER_BUILDKIT: '0' },
  });
  assert.equal(f.code, 3, f.stderr);
  assert.match(f.stdout, /failing/);
  assert.match(f.stderr, /returned a non-zero code: 3/);
});

test('plain docker build without buildx falls back to the classic builder, as against dockerd without BuildKit', async () => {
  const b = await api.docker(['build', '-t', 'web:plain', ctxDir], { env: { DOCKER_BUILDKIT: undefined } });
  assert.equal(b.code, 0, b.stderr);
  assert.match(b.stderr, /DEPRECATED: The legacy builder is deprecated/);
  assert.match(b.stdout, /Successfully tagged web:plain/);
  const k = await api.docker(['build', ctxDir], { env: { DOCKER_BUILDKIT: '1' } });
  assert.equal(k.code, 1);
  assert.match(k.stderr, /BuildKit is enabled but the buildx component is missing or broken/);
});

test('-f outside the context (the CLI appends it to the tar without an end) and .dockerignore', async () => {
  const ctx = path.join(fx.root, 'ignored-ctx');
  await fsp.mkdir(ctx);
  await fsp.writeFile(path.join(ctx, 'kept.txt'), 'kept\n');
  await fsp.writeFile(path.join(ctx, 'secret.txt'), 'secret\n');
  await fsp.writeFile(path.join(ctx, '.dockerignore'), 'secret.txt\n');
  const df = path.join(fx.root, 'Outside.Dockerfile');
  await fsp.writeFile(df, 'FROM busybox\nCOPY . /c/\nCMD ls -A /c\n');
  ok(await api.docker(['build', '-f', df, '-t', 'outside:v1', ctx], { env: { DOCKER_BUILDKIT: '0' } }), 'build -f');
  const ls = ok(await api.docker(['run', '--rm', 'outside:v1']), 'run');
  // As with dockerd 20.10 (checked): the CLI's `.dockerfile.<random>` is dropped (the CLI lists it in the
  // .dockerignore it sends), the ignored file is not there, and .dockerignore itself is.
  assert.equal(ls.stdout, '.dockerignore\nkept.txt\n');
});
