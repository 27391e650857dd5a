import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile, mkdir, readdir, stat } from 'node:fs/promises';
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { tempRoot, ok, WHARF_BIN } from '../../helpers/cli.js';
import { makeBusyboxTar } from '../../helpers/busybox.js';

let t: Awaited<ReturnType<typeof tempRoot>>;
let bbId: string;
let saved: string;

const sha = async (f: string) =>
  createHash('sha256')
    .update(await readFile(f))
    .digest('hex');

before(async () => {
  t = await tempRoot();
  const tar = await makeBusyboxTar(t.root);
  bbId = ok(await t.cli(['import', '-c', 'CMD ["sh"]', tar, 'busybox:latest']), 'import').stdout.trim();
  saved = path.join(t.root, 'bb-save.tar');
  ok(await t.cli(['save', '-o', saved, 'busybox']), 'save');
});
after(async () => t.cleanup());

test("save writes docker save's layout: OCI layout + manifest.json + repositories", async () => {
  const names = execFileSync('tar', ['-tf', saved], { encoding: 'utf8' }).trim().split('\n');
  for (const n of ['oci-layout', 'index.json', 'manifest.json', 'repositories'])
    assert.ok(names.includes(n), `missing ${n}`);
  assert.ok(names.includes(`blobs/sha256/${bbId.slice(7)}`), 'config blob');
  const manifest = JSON.parse(execFileSync('tar', ['-xOf', saved, 'manifest.json'], { encoding: 'utf8' }));
  assert.deepEqual(manifest[0].RepoTags, ['busybox:latest']);
  assert.equal(manifest[0].Config, `blobs/sha256/${bbId.slice(7)}`);
  const index = JSON.parse(execFileSync('tar', ['-xOf', saved, 'index.json'], { encoding: 'utf8' }));
  assert.equal(index.manifests[0].annotations['io.containerd.image.name'], 'docker.io/library/busybox:latest');
  assert.equal(index.manifests[0].annotations['org.opencontainers.image.ref.name'], 'latest');
});

test('save → load into a fresh root → save is byte-identical, and the image ID is kept', async () => {
  const t2 = await tempRoot();
  try {
    const out = ok(await t2.cli(['load', '-i', saved]), 'load').stdout;
    assert.equal(out, 'Loaded image: busybox:latest\n');
    assert.equal(ok(await t2.cli(['images', '-q', '--no-trunc', 'busybox']), 'images').stdout.trim(), bbId);
    const again = path.join(t2.root, 'again.tar');
    ok(await t2.cli(['save', 'busybox', '-o', again]), 'save');
    assert.equal(await sha(again), await sha(saved));
    // Loading the same archive again stores nothing twice.
    ok(await t2.cli(['load'], { input: await readFile(saved) }), 'load from stdin');
    assert.match(
      ok(await t2.cli(['system', 'check']), 'check').stdout,
      /checked 2 blobs, 1 layers, 1 images: no problems/,
    );
  } finally {
    await t2.cleanup();
  }
});

test("skopeo reads what save writes, and wharf loads skopeo's docker-archive and oci-archive", async () => {
  const inspect = JSON.parse(
    execFileSync('skopeo', ['inspect', '--raw', `docker-archive:${saved}`], { encoding: 'utf8' }),
  );
  assert.equal(inspect.config.digest, bbId);
  const dockerArchive = path.join(t.root, 'skopeo-docker.tar');
  const ociArchive = path.join(t.root, 'skopeo-oci.tar');
  execFileSync('skopeo', [
    'copy',
    '--quiet',
    `docker-archive:${saved}`,
    `docker-archive:${dockerArchive}:skopeo/bb:v1`,
  ]);
  execFileSync('skopeo', ['copy', '--quiet', `docker-archive:${saved}`, `oci-archive:${ociArchive}:skopeo/bb:v2`]);
  const t2 = await tempRoot();
  try {
    assert.equal(
      ok(await t2.cli(['load', '-i', dockerArchive]), 'load docker-archive').stdout,
      'Loaded image: skopeo/bb:v1\n',
    );
    const ociOut = ok(await t2.cli(['load', '-i', ociArchive]), 'load oci-archive').stdout;
    assert.match(ociOut, /^Loaded image/);
    assert.match(ociOut, /skopeo\/bb:v2/);
    // skopeo re-encodes the config (a new image ID), but the layer and the settings are the same.
    const [ours] = JSON.parse(ok(await t.cli(['inspect', bbId]), 'inspect').stdout);
    const [info] = JSON.parse(ok(await t2.cli(['inspect', 'skopeo/bb:v1']), 'inspect').stdout);
    const [info2] = JSON.parse(ok(await t2.cli(['inspect', 'skopeo/bb:v2']), 'inspect').stdout);
    for (const x of [info, info2]) {
      assert.deepEqual(x.RootFS.Layers, ours.RootFS.Layers);
      assert.deepEqual(x.Config.Cmd, ['sh']);
    }
    // One layer on disk for both images.
    assert.match(ok(await t2.cli(['system', 'check']), 'check').stdout, /1 layers, 2 images: no problems/);
    assert.equal(
      (await readFile(path.join(info.GraphDriver.Data.UpperDir, 'etc/passwd'), 'utf8')).split('\n')[0],
      'root:x:0:0:root:/root:/bin/sh',
    );
  } finally {
    await t2.cleanup();
  }
});

test("the OCI layout inside a save passes umoci's checks", async () => {
  const dir = path.join(t.root, 'layout');
  await mkdir(dir);
  execFileSync('tar', ['-xf', saved, '-C', dir]);
  const refs = execFileSync('umoci', ['ls', '--layout', dir], { encoding: 'utf8' }).trim();
  assert.equal(refs, 'latest');
  const st = execFileSync('umoci', ['stat', '--image', `${dir}:latest`, '--json'], { encoding: 'utf8' });
  assert.ok(JSON.parse(st).history.length >= 1);
  const bundle = path.join(t.root, 'bundle');
  execFileSync('umoci', ['unpack', '--image', `${dir}:latest`, bundle]);
  assert.ok((await stat(path.join(bundle, 'rootfs', 'bin', 'busybox'))).size > 100_000);
});

test('a bad archive is one clear error and stores nothing', async () => {
  const t2 = await tempRoot();
  try {
    const data = await readFile(saved);
    const cases: Array<[string, Buffer, RegExp]> = [
      ['truncated', data.subarray(0, Math.floor(data.length / 2)), /invalid archive|unexpected end|truncated/i],
      ['not a tar', randomBytes(5000), /invalid archive/i],
    ];
    // A layer whose bytes do not match its diff ID.
    const dir = path.join(t2.root, 'tamper');
    await mkdir(dir);
    execFileSync('tar', ['-xf', saved, '-C', dir]);
    const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8'));
    const layerPath = path.join(dir, manifest[0].Layers[0]);
    const layer = await readFile(layerPath);
    const mid = Math.floor(layer.length / 2); // inside busybox's contents
    layer[mid] = layer[mid]! ^ 0xff;
    await writeFile(layerPath, layer);
    const tampered = path.join(t2.root, 'tampered.tar');
    execFileSync('tar', ['-cf', tampered, '-C', dir, ...(await readdir(dir))]);
    cases.push(['tampered layer', await readFile(tampered), /digest|diff ID/i]);
    // A layer entry that tries to escape the root.
    const evil = path.join(t2.root, 'evil');
    await mkdir(evil);
    cases.push(['traversal', Buffer.from(''), /escapes/]);
    execFileSync('sh', [
      '-c',
      `cd ${evil} && mkdir -p a && echo x > a/f && tar -cf layer.tar --transform 's,^a/f,../../../etc/evil-wharf,' a/f`,
    ]);
    const layerSha = createHash('sha256')
      .update(await readFile(path.join(evil, 'layer.tar')))
      .digest('hex');
    const cfg = JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [`sha256:${layerSha}`] },
    });
    const cfgSha = createHash('sha256').update(cfg).digest('hex');
    await writeFile(path.join(evil, `${cfgSha}.json`), cfg);
    await writeFile(
      path.join(evil, 'manifest.json'),
      JSON.stringify([{ Config: `${cfgSha}.json`, RepoTags: ['evil:1'], Layers: ['layer.tar'] }]),
    );
    execFileSync('tar', [
      '-cf',
      path.join(t2.root, 'evil.tar'),
      '-C',
      evil,
      'manifest.json',
      `${cfgSha}.json`,
      'layer.tar',
    ]);
    cases[cases.length - 1]![1] = await readFile(path.join(t2.root, 'evil.tar'));

    for (const [name, input, re] of cases) {
      const r = await t2.cli(['load'], { input });
      assert.notEqual(r.code, 0, name);
      assert.match(r.stderr, re, `${name}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, `${name}: ${r.stderr}`);
    }
    await assert.rejects(stat('/etc/evil-wharf'));
    assert.equal(ok(await t2.cli(['images', '-q']), 'images').stdout, '');
    const check = await t2.cli(['system', 'check']);
    assert.equal(check.code, 0, check.stdout);
  } finally {
    await t2.cleanup();
  }
});

test('SIGKILL in the middle of a large load leaves a consistent store; a second load succeeds', async () => {
  const t2 = await tempRoot();
  try {
    // A ~80 MB incompressible layer makes the load slow enough to interrupt.
    const big = path.join(t2.root, 'big');
    await mkdir(big);
    await writeFile(path.join(big, 'random.bin'), randomBytes(80 * 1024 * 1024));
    const bigTar = path.join(t2.root, 'big.tar');
    execFileSync('tar', ['-cf', bigTar, '-C', big, 'random.bin']);
    ok(await t2.cli(['import', bigTar, 'big:1']), 'import');
    const archive = path.join(t2.root, 'big-save.tar');
    ok(await t2.cli(['save', '-o', archive, 'big:1']), 'save');
    const t3 = await tempRoot();
    try {
      const child = spawn(WHARF_BIN, ['--root', t3.root, 'load', '-i', archive], { stdio: 'ignore' });
      // Kill once the load is under way (its staging dir or a snapshot has data), bounded wait.
      for (let i = 0; i < 400; i++) {
        const tmp = await readdir(path.join(t3.root, 'tmp')).catch(() => [] as string[]);
        const snaps = await readdir(path.join(t3.root, 'snapshots')).catch(() => [] as string[]);
        if (tmp.length > 0 || snaps.length > 0) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      await new Promise((r) => setTimeout(r, 150));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('close', r));
      const images = ok(await t3.cli(['images', '-q']), 'images after kill').stdout;
      assert.equal(images, '', 'no half-loaded image is visible');
      assert.equal(ok(await t3.cli(['load', '-i', archive]), 'second load').stdout, 'Loaded image: big:1\n');
      await t3.cli(['system', 'check', '--repair']);
      const check = await t3.cli(['system', 'check']);
      assert.equal(check.code, 0, check.stdout);
      assert.match(check.stdout, /no problems/);
      const again = path.join(t3.root, 'again.tar');
      ok(await t3.cli(['save', '-o', again, 'big:1']), 'save');
      assert.equal(await sha(again), await sha(archive));
    } finally {
      await t3.cleanup();
    }
  } finally {
    await t2.cleanup();
  }
});
