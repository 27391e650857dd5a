import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { symlink, chmod } from 'node:fs/promises';
import * as path from 'node:path';
import { ok } from '../../helpers/cli.js';
import { buildSuite, imageLayers, type Root } from './helpers.js';

let t: Root;
const { ctx } = buildSuite((r) => ({ t } = r));

test('COPY: wildcards, directory contents, symlinks kept, --chown by name, --chmod, existing directory destination', async () => {
  const dir = await ctx({
    Dockerfile:
      'FROM busybox\nCOPY *.txt /txt/\nCOPY tree /opt/tree\nCOPY --chown=www:www tree/a /var/www\nCOPY --chmod=600 tree/a /secret\n',
    'a.txt': 'A\n',
    'b.txt': 'B\n',
    'c.md': 'C\n',
    'tree/a': 'a\n',
    'tree/sub/b': 'b\n',
  });
  await symlink('a', path.join(dir, 'tree/link'));
  await chmod(path.join(dir, 'tree/sub/b'), 0o751);
  ok(await t.cli(['build', '-t', 'copies', dir]), 'build');
  const { layers } = await imageLayers(t.root, 'copies');
  const [txt, tree, www, secret] = layers.slice(-4);
  assert.deepEqual(
    txt!.map((e) => e.name),
    ['txt/', 'txt/a.txt', 'txt/b.txt'],
  );
  const byName = new Map(tree!.map((e) => [e.name, e]));
  assert.equal(byName.get('opt/tree/link')?.type, 'symlink');
  assert.equal(byName.get('opt/tree/link')?.linkname, 'a');
  assert.equal(byName.get('opt/tree/sub/b')?.mode, 0o751);
  assert.ok(!byName.has('opt/tree/tree/'), 'a directory source copies its contents');
  const copied = www!.find((e) => e.name === 'var/www/a')!;
  assert.deepEqual([copied.uid, copied.gid], [33, 33], '/var/www exists: the file goes inside it, owned by www');
  assert.equal(secret!.find((e) => e.name === 'secret')?.mode, 0o600);
  const multi = await t.cli(['build', '-f', '-', dir], { input: 'FROM busybox\nCOPY a.txt b.txt /notadir\n' });
  assert.equal(multi.code, 1);
  assert.match(
    multi.stderr,
    /When using COPY with more than one source file, the destination must be a directory and end with a \//,
  );
  const none = await t.cli(['build', '-f', '-', dir], { input: 'FROM busybox\nCOPY *.nope /x/\n' });
  assert.equal(none.code, 1);
  assert.match(none.stderr, /COPY failed: no source files were specified/);
});

test('ADD unpacks a local tar archive; COPY does not', async () => {
  const dir = await ctx({
    Dockerfile: 'FROM busybox\nADD bundle.tar.gz /unpacked/\nCOPY bundle.tar.gz /kept/\n',
    'payload/inner.txt': 'inner\n',
  });
  execFileSync('tar', ['-C', dir, '-czf', path.join(dir, 'bundle.tar.gz'), 'payload']);
  ok(await t.cli(['build', '-t', 'adds', dir]), 'build');
  const { layers } = await imageLayers(t.root, 'adds');
  assert.equal(layers.at(-2)!.find((e) => e.name === 'unpacked/payload/inner.txt')?.data, 'inner\n');
  assert.ok(layers.at(-1)!.some((e) => e.name === 'kept/bundle.tar.gz'));
  const url = await t.cli(['build', '-f', '-', dir], { input: 'FROM busybox\nADD http://127.0.0.1:1/x /x\n' });
  assert.equal(url.code, 1);
  assert.match(url.stderr, /ADD from a URL is not supported/);
});

test('USER and WORKDIR apply to RUN; ENV and build args reach its environment', async () => {
  const dir = await ctx({
    Dockerfile:
      'FROM busybox\nARG TOKEN\nENV MODE=prod\nWORKDIR /work\nUSER www\nRUN id -u > /tmp/uid && pwd > /tmp/pwd && echo "$MODE $TOKEN" > /tmp/env\n',
  });
  ok(await t.cli(['build', '--build-arg', 'TOKEN=t0k', '-t', 'user', dir]), 'build');
  const top = (await imageLayers(t.root, 'user')).layers.at(-1)!;
  assert.equal(top.find((e) => e.name === 'tmp/uid')?.data, '33\n');
  assert.equal(top.find((e) => e.name === 'tmp/pwd')?.data, '/work\n');
  assert.equal(top.find((e) => e.name === 'tmp/env')?.data, 'prod t0k\n');
  assert.equal(top.find((e) => e.name === 'tmp/uid')?.uid, 33);
  const { config } = await imageLayers(t.root, 'user');
  assert.ok(!config.config.Env!.some((e: string) => e.startsWith('TOKEN=')), 'build args stay out of the image config');
  const bad = await t.cli(['build', '-f', '-', dir], { input: 'FROM busybox\nUSER nobody-here\nRUN true\n' });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /unable to find user nobody-here/);
});

test('ONBUILD triggers run in the child build and are not inherited further', async () => {
  const dir = await ctx({ Dockerfile: 'FROM busybox\nONBUILD RUN echo triggered > /triggered\n' });
  ok(await t.cli(['build', '-t', 'parent-onbuild', dir]), 'parent');
  const r = ok(
    await t.cli(['build', '-t', 'child-onbuild', '-f', '-', dir], { input: 'FROM parent-onbuild\nENV X=1\n' }),
    'child',
  );
  assert.match(r.stdout, /Step 1\/2 : FROM parent-onbuild\n ---> [a-f0-9]{12}\n# Executing 1 build trigger\n/);
  const { layers, config } = await imageLayers(t.root, 'child-onbuild');
  assert.equal(layers.at(-1)!.find((e) => e.name === 'triggered')?.data, 'triggered\n');
  assert.equal(config.config.OnBuild, null);
});
