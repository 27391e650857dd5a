import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { ok } from '../../helpers/cli.js';
import { buildSuite, cacheHits, imageLayers, type Root } from './helpers.js';

let t: Root;
const { ctx } = buildSuite((r) => ({ t } = r));

const MULTI = `FROM busybox AS build
ARG GREETING=hello
RUN echo "$GREETING from build" > /artifact
FROM busybox AS unused
RUN exit 1
FROM busybox AS final
COPY --from=build /artifact /out/artifact
COPY --from=0 /artifact /out/by-index
CMD ["cat", "/out/artifact"]
`;

test('multi-stage: COPY --from by name and index, unused stages skipped, build args', async () => {
  const dir = await ctx({ Dockerfile: MULTI });
  const r = ok(await t.cli(['build', '--build-arg', 'GREETING=hi', '-t', 'multi', dir]), 'build');
  assert.doesNotMatch(r.stdout, /exit 1/, 'the unused stage is not built');
  assert.match(r.stdout, /Step 1\/7 : FROM busybox AS build\n/);
  const { layers, config } = await imageLayers(t.root, 'multi');
  const top = layers.at(-1)!;
  assert.deepEqual(
    top.map((e) => [e.name, e.data]),
    [
      ['out/', undefined],
      ['out/by-index', 'hi from build\n'],
    ],
  );
  assert.equal(layers.at(-2)!.find((e) => e.name === 'out/artifact')?.data, 'hi from build\n');
  assert.deepEqual(config.config.Cmd, ['cat', '/out/artifact']);
  const again = ok(await t.cli(['build', '--build-arg', 'GREETING=hi', dir]), 'again');
  assert.equal(cacheHits(again.stdout), 5);
});

test('--target builds a stage and what it needs only', async () => {
  const dir = await ctx({ Dockerfile: MULTI });
  const r = ok(await t.cli(['build', '--target', 'build', '-t', 'target', dir]), 'build');
  assert.match(r.stdout, /Step 3\/3 : RUN/);
  const { layers } = await imageLayers(t.root, 'target');
  assert.equal(layers.at(-1)!.find((e) => e.name === 'artifact')?.data, 'hello from build\n');
  const bad = await t.cli(['build', '--target', 'nope', dir]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /target stage "nope" could not be found/);
});

test('context as a tar on stdin, and a Dockerfile on stdin', async () => {
  const dir = await ctx({ Dockerfile: 'FROM busybox\nCOPY data /data\n', data: 'from tar\n' });
  const tarBytes = execFileSync('tar', ['-C', dir, '-cf', '-', '.']);
  ok(await t.cli(['build', '-t', 'fromtar', '-'], { input: tarBytes }), 'tar on stdin');
  assert.equal(
    (await imageLayers(t.root, 'fromtar')).layers.at(-1)!.find((e) => e.name === 'data')?.data,
    'from tar\n',
  );
  const gz = execFileSync('gzip', ['-c'], { input: tarBytes });
  ok(await t.cli(['build', '-t', 'fromtgz', '-'], { input: gz }), 'gzip tar on stdin');

  ok(await t.cli(['build', '-t', 'dfstdin', '-f', '-', dir], { input: 'FROM busybox\nCOPY data /other\n' }), '-f -');
  assert.equal(
    (await imageLayers(t.root, 'dfstdin')).layers.at(-1)!.find((e) => e.name === 'other')?.data,
    'from tar\n',
  );

  ok(
    await t.cli(['build', '-t', 'onlydf', '-'], { input: 'FROM busybox\nRUN echo made > /made\n' }),
    'Dockerfile on stdin',
  );
  assert.equal((await imageLayers(t.root, 'onlydf')).layers.at(-1)!.find((e) => e.name === 'made')?.data, 'made\n');
});

test('--label adds a final LABEL step; -f names another Dockerfile', async () => {
  const dir = await ctx({ 'build/App.dockerfile': 'FROM busybox\nENV A=1\n' });
  const r = ok(
    await t.cli([
      'build',
      '-f',
      `${dir}/build/App.dockerfile`,
      '--label',
      'b=2',
      '--label',
      'a=1',
      '-t',
      'labelled',
      dir,
    ]),
    'build',
  );
  assert.match(r.stdout, /Step 3\/3 : LABEL "a"="1" "b"="2"\n/);
  const { config } = await imageLayers(t.root, 'labelled');
  assert.deepEqual(config.config.Labels, { a: '1', b: '2' });
  assert.equal(config.history.at(-1)!.created_by, '/bin/sh -c #(nop)  LABEL a=1 b=2');
});

test('WORKDIR creates its directory as a layer; relative COPY destinations follow it', async () => {
  const dir = await ctx({ Dockerfile: 'FROM busybox\nWORKDIR /app\nCOPY f .\nWORKDIR sub\nWORKDIR /tmp\n', f: 'F\n' });
  ok(await t.cli(['build', '-t', 'wd', dir]), 'build');
  const { layers, config } = await imageLayers(t.root, 'wd');
  assert.equal(config.config.WorkingDir, '/tmp');
  assert.deepEqual(
    layers[1]!.map((e) => e.name),
    ['app/'],
  );
  assert.deepEqual(
    layers[2]!.map((e) => e.name),
    ['app/', 'app/f'],
  );
  assert.deepEqual(
    layers[3]!.map((e) => e.name),
    ['app/', 'app/sub/'],
  );
  assert.equal(layers.length, 4, 'WORKDIR /tmp exists already: no layer');
  const hist = config.history.slice(-4).map((h) => h.created_by ?? '');
  assert.deepEqual(hist, [
    '/bin/sh -c #(nop) WORKDIR /app',
    '/bin/sh -c #(nop) COPY file:' + hist[1]!.split('file:')[1],
    '/bin/sh -c #(nop) WORKDIR /app/sub',
    '/bin/sh -c #(nop) WORKDIR /tmp',
  ]);
  void readFile;
});

test('independent stages build in parallel, output in Dockerfile order', async () => {
  // Each stage waits (up to 20 s) for the other's mark in a shared cache mount: only a parallel build gets through.
  const id = `sync-${Math.random().toString(36).slice(2)}`;
  const wait = (me: string, other: string) =>
    `RUN --mount=type=cache,id=${id},target=/sync touch /sync/${me} && i=0; while [ ! -f /sync/${other} ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done; test -f /sync/${other} && echo ${me} > /${me}`;
  const dir = await ctx({
    Dockerfile: `FROM busybox AS a\n${wait('a', 'b')}\nFROM busybox AS b\n${wait('b', 'a')}\nFROM busybox\nCOPY --from=a /a /a\nCOPY --from=b /b /b\n`,
  });
  const r = ok(await t.cli(['build', '-t', 'parallel', dir], { timeoutMs: 60_000 }), 'build');
  const steps = [...r.stdout.matchAll(/^Step (\d+)\/7 : /gm)].map((m) => Number(m[1]));
  assert.deepEqual(steps, [1, 2, 3, 4, 5, 6, 7]);
  assert.match(
    r.stdout,
    /Step 2\/7 : RUN --mount[^\n]*\n ---> Running in ([a-f0-9]{12})\nRemoving intermediate container \1\n ---> [a-f0-9]{12}\nStep 3\/7 : FROM busybox AS b\n/,
  );
  const { layers } = await imageLayers(t.root, 'parallel');
  assert.equal(layers.at(-2)!.find((e) => e.name === 'a')?.data, 'a\n');
  assert.equal(layers.at(-1)!.find((e) => e.name === 'b')?.data, 'b\n');
});

test("a failing stage stops the build; the error is the failing step's", async () => {
  const dir = await ctx({
    Dockerfile:
      'FROM busybox AS a\nRUN sleep 60\nFROM busybox AS b\nRUN exit 7\nFROM busybox\nCOPY --from=a /bin/sh /x\nCOPY --from=b /bin/sh /y\n',
  });
  const started = Date.now();
  const r = await t.cli(['build', '-t', 'stagefail', dir]);
  assert.equal(r.code, 7);
  assert.ok(Date.now() - started < 30_000, 'the other stage is cancelled, not waited for');
  assert.equal(r.stderr.trim().split('\n').at(-1), "The command '/bin/sh -c exit 7' returned a non-zero code: 7");
  assert.equal((await t.cli(['inspect', 'stagefail'])).code, 1);
});

test("--squash merges the stage's new layers into one on its base", async () => {
  const dir = await ctx({
    Dockerfile: 'FROM busybox\nRUN echo a > /a\nRUN echo b > /b && rm /bin/yes\nRUN rm /a\nENV X=1\n',
  });
  const r = ok(await t.cli(['build', '--squash', '-t', 'squashed', dir]), 'build');
  const { layers, config, id } = await imageLayers(t.root, 'squashed');
  assert.equal(id.slice(7, 19), /Successfully built ([a-f0-9]{12})/.exec(r.stdout)![1]);
  assert.equal(layers.length, 2);
  assert.deepEqual(layers[1]!.map((e) => [e.name, e.data]).sort(), [
    ['b', 'b\n'],
    ['bin/', undefined],
    ['bin/.wh.yes', ''],
  ]);
  assert.equal(config.history.length, 6);
  assert.deepEqual(
    config.history.slice(1, 5).map((h: { empty_layer?: boolean }) => h.empty_layer),
    [true, true, true, true],
  );
  assert.match(config.history[5]!.comment!, /^merge sha256:[a-f0-9]{64} to sha256:[a-f0-9]{64}$/);
  assert.deepEqual(config.config.Env!.at(-1), 'X=1');
});
