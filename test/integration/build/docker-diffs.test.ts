/**
 * Single differences with Docker's classic builder (issue 12), each as Docker behaves (checked against dockerd 20.10
 * with docker CLI 28, DOCKER_BUILDKIT=0): every instruction is taken from the cache, `-t` is checked before any step.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { ok, WHARF_BIN } from '../../helpers/cli.js';
import { rootWithBusybox, makeContext, cacheHits, type Root } from './helpers.js';

let t: Root;
const cleanups: Array<() => Promise<void>> = [];

before(async () => {
  ({ t } = await rootWithBusybox());
});
after(async () => {
  for (const c of cleanups) await c();
  await t?.cleanup();
});

async function context(files: Record<string, string>): Promise<string> {
  const c = await makeContext(files);
  cleanups.push(c.cleanup);
  return c.dir;
}

/** Every instruction of the classic builder, each twice (so each step's cache key also sees a changed parent). */
const EVERY_INSTRUCTION = `FROM busybox
FROM busybox
MAINTAINER a
MAINTAINER b
ARG A=1
ARG B=2
ENV E=1
ENV F=2
LABEL l=1
LABEL m=2
EXPOSE 80
EXPOSE 81/udp
WORKDIR /w
WORKDIR x
COPY f /f
COPY f /g
ADD f /h
ADD f /i
RUN echo hi >/a
RUN echo ho >/b
USER root
USER 0
VOLUME /v
VOLUME ["/u"]
STOPSIGNAL SIGTERM
STOPSIGNAL 9
HEALTHCHECK CMD true
HEALTHCHECK --interval=5s CMD true
ONBUILD RUN true
ONBUILD RUN false
SHELL ["/bin/sh", "-c"]
SHELL ["/bin/sh", "-ec"]
ENTRYPOINT ["sh"]
ENTRYPOINT ["sh", "-c"]
CMD ["true"]
CMD ["echo"]
`;

test('a rebuild takes every instruction from the cache and leaves no dangling image', async () => {
  const dir = await context({ Dockerfile: EVERY_INSTRUCTION, f: 'hello\n' });
  const first = ok(await t.cli(['build', '-t', 'every', dir]), 'first build');
  const second = ok(await t.cli(['build', '-t', 'every', dir]), 'second build');
  const steps = second.stdout.split('\n').filter((l) => /^Step \d+\/\d+ : /.test(l));
  const nonFrom = steps.filter((l) => !/^Step \d+\/\d+ : FROM /.test(l));
  assert.ok(nonFrom.length >= 34, second.stdout);
  assert.equal(cacheHits(second.stdout), nonFrom.length, second.stdout);
  assert.doesNotMatch(second.stdout, /Running in/);
  const id = (s: string) => /^Successfully built ([a-f0-9]{12})$/m.exec(s)?.[1];
  assert.equal(id(second.stdout), id(first.stdout));
  const dangling = ok(await t.cli(['images', '-q', '-f', 'dangling=true']), 'images').stdout.trim();
  assert.equal(dangling, '');
});

test('MAINTAINER then RUN is taken from the cache (the MAINTAINER is part of the key of both)', async () => {
  const dir = await context({ Dockerfile: 'FROM busybox\nMAINTAINER a\nRUN echo hi >/a\n' });
  ok(await t.cli(['build', dir]), 'first build');
  const again = ok(await t.cli(['build', dir]), 'second build');
  assert.equal(cacheHits(again.stdout), 2, again.stdout);
  // The author is still the MAINTAINER's, on the step that sets it and the next.
  const id = /^Successfully built ([a-f0-9]{12})$/m.exec(again.stdout)![1]!;
  assert.equal(ok(await t.cli(['inspect', '-f', '{{.Author}}', id]), 'inspect').stdout.trim(), 'a');
});

test('build -t with an invalid name fails as a flag error before any step, exit 125', async () => {
  const dir = await context({ Dockerfile: 'FROM busybox\nRUN echo ran-a-step\n' });
  const r = await t.cli(['build', '-t', 'ok', '-t', 'Bad:Tag', dir]);
  assert.equal(r.code, 125);
  assert.equal(r.stdout, '');
  assert.equal(
    r.stderr.split('\n')[0],
    'invalid argument "Bad:Tag" for "-t, --tag" flag: invalid reference format: repository name (library/Bad) must be lowercase',
  );
  assert.match(
    r.stderr,
    /\n\nUsage: {2}wharf build \[OPTIONS\] PATH \| URL \| -\n\nRun 'wharf build --help' for more information\n$/,
  );
  const other = await t.cli(['build', '-t', 'localhost:5000/Foo', dir]);
  assert.equal(other.code, 125);
  assert.match(other.stderr, /repository name \(Foo\) must be lowercase/);
  assert.equal(ok(await t.cli(['images', '-q', 'ok']), 'images').stdout, '');
});

test('Ctrl-C during a RUN step stops the build with exit 130 and no message, as the docker CLI', async () => {
  const dir = await context({ Dockerfile: 'FROM busybox\nRUN sleep 60\n' });
  const child = spawn(WHARF_BIN, ['--root', t.root, 'build', '--no-cache', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the RUN step did not start:\n${stdout}${stderr}`)), 60_000);
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      if (/ ---> Running in /.test(stdout)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const started = Date.now();
  child.kill('SIGINT');
  assert.equal(await exited, 130, stderr);
  assert.equal(stderr, '');
  assert.ok(Date.now() - started < 30_000, 'the step was stopped, not waited for');
  assert.doesNotMatch(stdout, /Successfully built/);
});
