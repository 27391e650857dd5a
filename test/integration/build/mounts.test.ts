import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { ok } from '../../helpers/cli.js';
import { buildSuite, cacheHits, imageLayers, type Root } from './helpers.js';

let t: Root;
const { ctx } = buildSuite((r) => ({ t } = r));

test('RUN --mount=type=cache keeps its directory across builds and out of the layer', async () => {
  const df = (n: number) =>
    `FROM busybox\nRUN --mount=type=cache,target=/var/cache/app echo run${n} >> /var/cache/app/log && cp /var/cache/app/log /seen\n`;
  const dir = await ctx({ Dockerfile: df(1) });
  ok(await t.cli(['build', '-t', 'cm:1', dir]), 'first');
  await writeFile(path.join(dir, 'Dockerfile'), df(2));
  ok(await t.cli(['build', '-t', 'cm:2', dir]), 'second');
  const { layers } = await imageLayers(t.root, 'cm:2');
  const top = layers.at(-1)!;
  assert.equal(
    top.find((e) => e.name === 'seen')?.data,
    'run1\nrun2\n',
    "the second build saw the first build's cache",
  );
  assert.deepEqual(
    top.map((e) => e.name).sort(),
    ['seen'],
    'neither the cache contents nor its mountpoint reach the layer',
  );
});

test('RUN --mount=type=bind reads the context, keyed by its content; tmpfs is scratch space', async () => {
  const dir = await ctx({
    Dockerfile:
      'FROM busybox\nRUN --mount=type=bind,source=src,target=/src --mount=type=tmpfs,target=/scratch cat /src/a > /scratch/x && cp /scratch/x /out\n',
    'src/a': 'one\n',
  });
  ok(await t.cli(['build', '-t', 'bind:1', dir]), 'first');
  assert.equal((await imageLayers(t.root, 'bind:1')).layers.at(-1)!.find((e) => e.name === 'out')?.data, 'one\n');
  const again = ok(await t.cli(['build', dir]), 'again');
  assert.equal(cacheHits(again.stdout), 1);
  await writeFile(path.join(dir, 'src/a'), 'two\n');
  const changed = ok(await t.cli(['build', '-t', 'bind:2', dir]), 'changed');
  assert.equal(cacheHits(changed.stdout), 0, 'a changed bind source busts the cache');
  const top = (await imageLayers(t.root, 'bind:2')).layers.at(-1)!;
  assert.equal(top.find((e) => e.name === 'out')?.data, 'two\n');
  assert.deepEqual(top.map((e) => e.name).sort(), ['out']);
});

test('heredocs: RUN <<EOF scripts (with and without #!) and COPY <<EOF', async () => {
  const dir = await ctx({
    Dockerfile:
      'FROM busybox\nRUN <<EOF\necho one > /one\necho two >> /one\nEOF\nRUN <<EOF\n#!/bin/sh\necho script > /script\nEOF\nCOPY <<EOF /etc/greeting\nhello\nEOF\n',
  });
  ok(await t.cli(['build', '-t', 'heredoc', dir]), 'build');
  const { layers } = await imageLayers(t.root, 'heredoc');
  assert.equal(layers.at(-3)!.find((e) => e.name === 'one')?.data, 'one\ntwo\n');
  assert.equal(layers.at(-2)!.find((e) => e.name === 'script')?.data, 'script\n');
  assert.deepEqual(
    layers
      .at(-2)!
      .map((e) => e.name)
      .sort(),
    ['script'],
  );
  assert.equal(layers.at(-1)!.find((e) => e.name === 'etc/greeting')?.data, 'hello\n');
  const again = ok(await t.cli(['build', dir]), 'again');
  assert.equal(cacheHits(again.stdout), 3);
});

test('--network none|host, RUN --network, --add-host and --platform', async () => {
  const dir = await ctx({ Dockerfile: 'FROM busybox\nRUN ls /sys/class/net > /nets && cat /etc/hosts > /hosts\n' });
  ok(
    await t.cli(['build', '--no-cache', '--network', 'none', '--add-host', 'db.local:10.1.2.3', '-t', 'net:none', dir]),
    'none',
  );
  const none = (await imageLayers(t.root, 'net:none')).layers.at(-1)!;
  assert.equal(none.find((e) => e.name === 'nets')?.data, 'lo\n');
  assert.match(none.find((e) => e.name === 'hosts')!.data!, /^10\.1\.2\.3\tdb\.local$/m);
  assert.deepEqual(none.map((e) => e.name).sort(), ['hosts', 'nets'], '/etc/hosts mountpoints stay out of the layer');
  ok(await t.cli(['build', '--no-cache', '--network', 'host', '-t', 'net:host', dir]), 'host');
  const host = (await imageLayers(t.root, 'net:host')).layers.at(-1)!;
  assert.notEqual(host.find((e) => e.name === 'nets')?.data, 'lo\n');
  await writeFile(path.join(dir, 'Dockerfile'), 'FROM busybox\nRUN --network=none ls /sys/class/net > /nets\n');
  ok(await t.cli(['build', '--network', 'host', '-t', 'net:flag', dir]), 'RUN --network');
  assert.equal((await imageLayers(t.root, 'net:flag')).layers.at(-1)!.find((e) => e.name === 'nets')?.data, 'lo\n');
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  ok(await t.cli(['build', '--platform', `linux/${arch}`, dir]), 'local platform');
  const other = await t.cli(['build', '--platform', 'linux/s390x', dir]);
  assert.equal(other.code, 1);
  assert.match(other.stderr, /--platform linux\/s390x is not supported/);
});
