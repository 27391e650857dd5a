/**
 * Interop with a real dockerd (Debian's docker.io) on a private socket: what `wharf save` writes must `docker load`,
 * and what `docker save` writes must `wharf load`, with the same image IDs, history and files.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, mkdir, readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { tempRoot, ok } from '../../helpers/cli.js';
import { makeBusyboxTar } from '../../helpers/busybox.js';
import { startDockerd, type Dockerd } from '../../helpers/dockerd.js';

let t: Awaited<ReturnType<typeof tempRoot>>;
let d: Dockerd;
let bbId: string;

const dok = (r: { code: number; stdout: string; stderr: string }, what: string) => {
  if (r.code !== 0) throw new Error(`docker ${what} failed: ${r.stderr}`);
  return r.stdout;
};

before(async () => {
  t = await tempRoot();
  d = await startDockerd();
  const tar = await makeBusyboxTar(t.root);
  bbId = ok(await t.cli(['import', '-c', 'CMD ["sh"]', tar, 'busybox:latest']), 'import').stdout.trim();
});
after(async () => {
  await d?.stop();
  await t?.cleanup();
});

test('docker load accepts wharf save, with the same image ID and history', async () => {
  const archive = path.join(t.root, 'bb.tar');
  ok(await t.cli(['save', 'busybox', '-o', archive]), 'save');
  assert.match(dok(await d.docker(['load', '-i', archive]), 'load'), /Loaded image: busybox:latest/);
  const id = dok(await d.docker(['image', 'inspect', '--format', '{{.Id}}', 'busybox']), 'inspect').trim();
  assert.equal(id, bbId);
  const theirs = dok(
    await d.docker(['history', '--no-trunc', '--format', '{{.ID}}|{{.CreatedBy}}|{{.Size}}|{{.Comment}}', 'busybox']),
    'history',
  );
  const ours = ok(
    await t.cli(['history', '--no-trunc', '--format', '{{.ID}}|{{.CreatedBy}}|{{.Size}}|{{.Comment}}', 'busybox']),
    'history',
  ).stdout;
  assert.equal(ours, theirs);
});

test('wharf loads a multi-layer image that docker built and saved, and docker loads it back identically', async () => {
  const ctx = path.join(t.root, 'ctx');
  await mkdir(ctx);
  await writeFile(path.join(ctx, 'index.html'), '<h1>hello from wharf</h1>\n');
  await writeFile(path.join(ctx, 'conf.txt'), 'a=1\n');
  await writeFile(
    path.join(ctx, 'Dockerfile'),
    'FROM busybox\nMAINTAINER Wharf Tests <t@example.com>\nCOPY index.html /www/\nENV MODE=prod\nCOPY conf.txt /etc/app/\nEXPOSE 80\nCMD ["httpd","-f","-p","80","-h","/www"]\n',
  );
  dok(await d.docker(['build', '-q', '-t', 'web:1', ctx]), 'build');
  const dockerId = dok(await d.docker(['image', 'inspect', '--format', '{{.Id}}', 'web:1']), 'inspect').trim();
  const archive = path.join(t.root, 'web-docker.tar');
  dok(await d.docker(['save', '-o', archive, 'web:1']), 'save');

  const t2 = await tempRoot();
  try {
    assert.equal(ok(await t2.cli(['load', '-i', archive]), 'load').stdout, 'Loaded image: web:1\n');
    const [info] = JSON.parse(ok(await t2.cli(['inspect', 'web:1']), 'inspect').stdout);
    assert.equal(info.Id, dockerId);
    assert.equal(info.RootFS.Layers.length, 3);
    assert.deepEqual(info.Config.Cmd, ['httpd', '-f', '-p', '80', '-h', '/www']);
    assert.equal(await readFile(path.join(info.GraphDriver.Data.UpperDir, 'etc/app/conf.txt'), 'utf8'), 'a=1\n');
    // History lines match docker's (IDs differ only where docker has local intermediate images).
    const fmt = '{{.CreatedBy}}|{{.Size}}|{{.Comment}}';
    const theirs = dok(await d.docker(['history', '--no-trunc', '--format', fmt, 'web:1']), 'history');
    const ours = ok(await t2.cli(['history', '--no-trunc', '--format', fmt, 'web:1']), 'history').stdout;
    assert.equal(ours, theirs);

    // Back to docker: remove it there, load wharf's save, same ID and layers.
    const back = path.join(t2.root, 'web-wharf.tar');
    ok(await t2.cli(['save', '-o', back, 'web:1']), 'save');
    dok(await d.docker(['rmi', '-f', 'web:1']), 'rmi');
    assert.match(dok(await d.docker(['load', '-i', back]), 'load'), /Loaded image: web:1/);
    assert.equal(dok(await d.docker(['image', 'inspect', '--format', '{{.Id}}', 'web:1']), 'inspect').trim(), dockerId);
    // A second save of the loaded image is byte-identical.
    const back2 = path.join(t2.root, 'web-wharf2.tar');
    ok(await t2.cli(['save', '-o', back2, 'web:1']), 'save');
    const h = async (f: string) =>
      createHash('sha256')
        .update(await readFile(f))
        .digest('hex');
    assert.equal(await h(back2), await h(back));
  } finally {
    await t2.cleanup();
  }
});
