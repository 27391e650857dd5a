import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import { ok } from '../../helpers/cli.js';
import { buildSuite, arrowIds, cacheHits, builtId, imageLayers, type Root } from './helpers.js';

let t: Root;
let busyboxId: string;
const { ctx } = buildSuite((r) => ({ t, busyboxId } = r));

const WEB = `FROM busybox
MAINTAINER Jane Doe <jane@example.com>
COPY ./index.html /www/
EXPOSE 80
CMD ["httpd","-f","-p","80","-h","/www"]
`;

test('the busybox web image: classic output, history, config and files', async () => {
  const dir = await ctx({ Dockerfile: WEB, 'index.html': '<h1>hello</h1>\n' });
  const r = ok(await t.cli(['build', '-t', 'web', dir]), 'build web');
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines[0], 'Sending build context to Docker daemon  3.072kB');
  assert.equal(lines[1], 'Step 1/5 : FROM busybox');
  assert.equal(lines[2], ` ---> ${busyboxId.slice(7, 19)}`);
  assert.equal(lines[3], 'Step 2/5 : MAINTAINER Jane Doe <jane@example.com>');
  assert.match(lines[4]!, /^ ---> Running in [a-f0-9]{12}$/);
  assert.equal(lines[5], `Removing intermediate container ${lines[4]!.slice(-12)}`);
  assert.equal(lines[7], 'Step 3/5 : COPY ./index.html /www/');
  assert.match(lines[8]!, /^ ---> [a-f0-9]{12}$/, 'COPY runs no container');
  assert.equal(lines.at(-2), `Successfully built ${builtId(r.stdout)}`);
  assert.equal(lines.at(-1), 'Successfully tagged web:latest');
  assert.equal(arrowIds(r.stdout).at(-1), builtId(r.stdout));

  const hist = ok(await t.cli(['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'web']), 'history')
    .stdout.trim()
    .split('\n');
  assert.equal(hist[0], '/bin/sh -c #(nop)  CMD ["httpd" "-f" "-p" "80" "-h" "/www"]');
  assert.equal(hist[1], '/bin/sh -c #(nop)  EXPOSE 80');
  assert.match(hist[2]!, /^\/bin\/sh -c #\(nop\) COPY file:[a-f0-9]{64} in \/www\/ $/);
  assert.equal(hist[3], '/bin/sh -c #(nop)  MAINTAINER Jane Doe <jane@example.com>');

  const { layers, config } = await imageLayers(t.root, 'web');
  assert.equal(layers.length, 2, 'busybox + the COPY layer');
  assert.deepEqual(
    layers[1]!.map((e) => [e.name, e.type, e.mode.toString(8), e.uid, e.gid, e.data]),
    [
      ['www/', 'directory', '755', 0, 0, undefined],
      ['www/index.html', 'file', '644', 0, 0, '<h1>hello</h1>\n'],
    ],
  );
  assert.deepEqual(config.config.Cmd, ['httpd', '-f', '-p', '80', '-h', '/www']);
  assert.deepEqual(config.config.ExposedPorts, { '80/tcp': {} });
  assert.equal(config.author, 'Jane Doe <jane@example.com>');
  assert.equal(config.config.Image!.slice(7, 19), arrowIds(r.stdout).at(-2));
  assert.deepEqual(
    config.history.map((h: { empty_layer?: boolean }) => h.empty_layer === true),
    [false, true, false, true, true],
  );
  // Each step is an image whose parent is the step before: `inspect` of the result names step 4.
  const parent = ok(await t.cli(['inspect', '--format', '{{.Parent}}', 'web']), 'inspect').stdout.trim();
  assert.equal(parent.slice(7, 19), arrowIds(r.stdout).at(-2));
});

test('FROM scratch + COPY hello + CMD', async () => {
  const dir = await ctx({ Dockerfile: 'FROM scratch\nCOPY hello /\nCMD ["/hello"]\n', hello: '#!/bin/sh\necho hi\n' });
  await import('node:fs/promises').then((f) => f.chmod(path.join(dir, 'hello'), 0o755));
  const r = ok(await t.cli(['build', '-t', 'hello', dir]), 'build scratch');
  assert.match(r.stdout, /Step 1\/3 : FROM scratch\n ---> \nStep 2\/3 : COPY hello \/\n ---> [a-f0-9]{12}\n/);
  const { layers, config } = await imageLayers(t.root, 'hello');
  assert.equal(layers.length, 1);
  assert.deepEqual(
    layers[0]!.map((e) => [e.name, e.mode.toString(8)]),
    [['hello', '755']],
  );
  assert.deepEqual(config.config.Cmd, ['/hello']);
  assert.deepEqual(config.config.Env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
  assert.equal(config.rootfs.diff_ids.length, 1);
  const hist = ok(await t.cli(['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'hello']), 'history')
    .stdout.trim()
    .split('\n');
  assert.equal(hist.length, 2);
});

test('RUN: output, build args in history, the layer holds only what the step wrote', async () => {
  const dir = await ctx({
    Dockerfile: 'FROM busybox\nARG V=1\nRUN echo "value $V" && echo x > /f && mkdir -p /etc/app\nRUN true\n',
  });
  const r = ok(await t.cli(['build', '--build-arg', 'V=2', '-t', 'runner', dir]), 'build');
  assert.match(
    r.stdout,
    /Step 3\/4 : RUN echo "value \$V" && echo x > \/f && mkdir -p \/etc\/app\n ---> Running in ([a-f0-9]{12})\nvalue 2\nRemoving intermediate container \1\n/,
  );
  const hist = ok(await t.cli(['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'runner']), 'history')
    .stdout.trim()
    .split('\n');
  assert.equal(hist[0], '|1 V=2 /bin/sh -c true');
  assert.equal(hist[1], '|1 V=2 /bin/sh -c echo "value $V" && echo x > /f && mkdir -p /etc/app');
  assert.equal(hist[2], '/bin/sh -c #(nop)  ARG V=1');
  const { layers, config } = await imageLayers(t.root, 'runner');
  assert.equal(layers.length, 2, 'RUN true changes nothing: an empty_layer entry, no layer');
  const names = layers[1]!.map((e) => e.name).sort();
  // No /etc/hosts, /etc/resolv.conf or /etc/hostname mountpoints, no /proc or /dev leftovers.
  assert.deepEqual(names, ['etc/', 'etc/app/', 'f']);
  assert.equal(config.history.at(-1)!.empty_layer, true);
});

test('rebuild hits every step and gives the same image', async () => {
  const dir = await ctx({
    Dockerfile: 'FROM busybox\nRUN echo one > /1\nCOPY a /a\nRUN echo two > /2\nENV X=1\n',
    a: 'A\n',
  });
  const first = ok(await t.cli(['build', dir]), 'first');
  assert.equal(cacheHits(first.stdout), 0);
  const second = ok(await t.cli(['build', dir]), 'second');
  assert.equal(cacheHits(second.stdout), 4);
  assert.equal(builtId(second.stdout), builtId(first.stdout));
  assert.deepEqual(arrowIds(second.stdout), arrowIds(first.stdout));
  const noCache = ok(await t.cli(['build', '--no-cache', dir]), 'no-cache');
  assert.equal(cacheHits(noCache.stdout), 0);
  assert.notEqual(builtId(noCache.stdout), builtId(first.stdout), 'new creation times');
});

test('swapping two RUN steps rebuilds every step from the first change', async () => {
  const dir = await ctx({ Dockerfile: 'FROM busybox\nENV A=1\nRUN echo a > /a\nRUN echo b > /b\nRUN echo c > /c\n' });
  ok(await t.cli(['build', dir]), 'first');
  await writeFile(
    path.join(dir, 'Dockerfile'),
    'FROM busybox\nENV A=1\nRUN echo b > /b\nRUN echo a > /a\nRUN echo c > /c\n',
  );
  const r = ok(await t.cli(['build', dir]), 'swapped');
  assert.equal(cacheHits(r.stdout), 1, 'only ENV hits');
  assert.equal((r.stdout.match(/Running in/g) ?? []).length, 3);
});

test('changing a copied file rebuilds only its step and the ones after', async () => {
  const dir = await ctx({
    Dockerfile: 'FROM busybox\nRUN echo base > /base\nCOPY one /one\nCOPY two /two\nRUN cat /one /two > /both\n',
    one: '1\n',
    two: '2\n',
  });
  ok(await t.cli(['build', dir]), 'first');
  // Same content with a new mtime still hits.
  await writeFile(path.join(dir, 'one'), '1\n');
  const touched = ok(await t.cli(['build', dir]), 'touched');
  assert.equal(cacheHits(touched.stdout), 4);
  await writeFile(path.join(dir, 'two'), '22\n');
  const r = ok(await t.cli(['build', '-t', 'changed', dir]), 'changed');
  assert.equal(cacheHits(r.stdout), 2, 'RUN and COPY one hit; COPY two and the RUN after it rebuild');
  const { layers } = await imageLayers(t.root, 'changed');
  assert.equal(layers.at(-1)!.find((e) => e.name === 'both')?.data, '1\n22\n');
  // A mode change is a change too.
  await import('node:fs/promises').then((f) => f.chmod(path.join(dir, 'one'), 0o600));
  const m = ok(await t.cli(['build', dir]), 'chmod');
  assert.equal(cacheHits(m.stdout), 1);
});

test('RUN with unchanged text hits although its output would differ', async () => {
  const dir = await ctx({ Dockerfile: 'FROM busybox\nRUN cat /proc/sys/kernel/random/uuid > /id\n' });
  const a = ok(await t.cli(['build', '-t', 'uuid:a', dir]), 'a');
  const b = ok(await t.cli(['build', '-t', 'uuid:b', dir]), 'b');
  assert.equal(cacheHits(b.stdout), 1);
  assert.equal(builtId(a.stdout), builtId(b.stdout));
  const la = (await imageLayers(t.root, 'uuid:a')).layers.at(-1)!.find((e) => e.name === 'id')!.data;
  const lb = (await imageLayers(t.root, 'uuid:b')).layers.at(-1)!.find((e) => e.name === 'id')!.data;
  assert.equal(la, lb);
});

test("a failing third step leaves step two's image, exits with the command's code, tags nothing", async () => {
  const dir = await ctx({ Dockerfile: 'FROM busybox\nRUN echo good > /good\nRUN echo bad; exit 3\nRUN echo never\n' });
  const r = await t.cli(['build', '-t', 'broken', dir]);
  assert.equal(r.code, 3);
  assert.match(r.stdout, /\nbad\n/);
  assert.doesNotMatch(r.stdout, /never|Successfully/);
  assert.equal(r.stderr.trim(), "The command '/bin/sh -c echo bad; exit 3' returned a non-zero code: 3");
  const ids = arrowIds(r.stdout);
  const stepTwo = ids.at(-1)!;
  assert.match(stepTwo, /^[a-f0-9]{12}$/);
  const { layers } = await imageLayers(t.root, stepTwo);
  assert.equal(layers.at(-1)!.find((e) => e.name === 'good')?.data, 'good\n');
  assert.equal((await t.cli(['inspect', 'broken'])).code, 1, 'no half-made image tagged');
  // The next build reuses what is still valid.
  await writeFile(path.join(dir, 'Dockerfile'), 'FROM busybox\nRUN echo good > /good\nRUN echo fixed\n');
  const fixed = ok(await t.cli(['build', '-t', 'broken', dir]), 'fixed');
  assert.equal(cacheHits(fixed.stdout), 1);
});

test('.dockerignore keeps .git out, with exceptions and **', async () => {
  const dir = await ctx({
    Dockerfile: 'FROM busybox\nCOPY . /src/\n',
    '.dockerignore': '.git\n**/*.log\n!keep.log\n/Dockerfile\n',
    '.git/HEAD': 'ref: refs/heads/main\n',
    'a.txt': 'a\n',
    'sub/x.log': 'x\n',
    'sub/y.txt': 'y\n',
    'keep.log': 'k\n',
  });
  ok(await t.cli(['build', '-t', 'ignored', dir]), 'build');
  const { layers } = await imageLayers(t.root, 'ignored');
  const names = layers
    .at(-1)!
    .map((e) => e.name)
    .sort();
  assert.deepEqual(names, ['src/', 'src/.dockerignore', 'src/a.txt', 'src/keep.log', 'src/sub/', 'src/sub/y.txt']);
  // An ignored file does not exist for COPY.
  await writeFile(path.join(dir, 'Dockerfile'), 'FROM busybox\nCOPY sub/x.log /x\n');
  const r = await t.cli(['build', dir]);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /^COPY failed: file not found in build context or excluded by \.dockerignore: stat sub\/x\.log: file does not exist$/m,
  );
});

test('bad input: one clear error, non-zero exit, nothing tagged', async () => {
  const dir = await ctx({ Dockerfile: 'FROM busybox\nCOPY ../x /x\n' });
  const esc = await t.cli(['build', '-t', 'bad', dir]);
  assert.equal(esc.code, 1);
  assert.equal(esc.stderr.trim(), 'COPY failed: forbidden path outside the build context: ../x ()');
  await writeFile(path.join(dir, 'Dockerfile'), 'FROM busybox\nRUNN echo\n');
  const unknown = await t.cli(['build', '-t', 'bad', dir]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /unknown instruction: RUNN/i);
  await writeFile(path.join(dir, 'Dockerfile'), 'FROM nosuchimage\n');
  const noBase = await t.cli(['build', '-t', 'bad', dir]);
  assert.equal(noBase.code, 1);
  // As Docker: the base image is pulled at its step, which names it; the pull's error (docker.io is out of reach
  // here) follows on stderr.
  assert.match(noBase.stdout, /Step 1\/1 : FROM nosuchimage\n$/);
  assert.notEqual(noBase.stderr, '');
  const noFile = await t.cli(['build', '-f', path.join(dir, 'Nope'), dir]);
  assert.equal(noFile.code, 1);
  assert.match(noFile.stderr, /Nope: no such file or directory/);
  assert.equal((await t.cli(['inspect', 'bad'])).code, 1);
  await mkdir(path.join(dir, 'd'));
});

test('-q prints only the image ID; --iidfile writes it', async () => {
  const dir = await ctx({ Dockerfile: 'FROM busybox\nLABEL q=1\n' });
  const iid = path.join(dir, 'iid');
  const r = ok(await t.cli(['build', '-q', '--iidfile', iid, dir]), 'quiet');
  assert.match(r.stdout, /^sha256:[a-f0-9]{64}\n$/);
  assert.equal(await import('node:fs/promises').then((f) => f.readFile(iid, 'utf8')), r.stdout.trim());
});
