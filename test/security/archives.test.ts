/**
 * Attack battery, part 3 (issue 17): hostile archives and images. Layer tars whose entries lead out of the root (`../`,
 * absolute names, hard links to a host file, writes through a symlink to a host directory) brought in by `load`,
 * `import` and `pull` from a local registry, and sent as build contexts; a Dockerfile COPY of symlinks that point out
 * of the context; a VOLUME over a symlink to a host directory; image configs that name /proc as a volume or a
 * /proc/self/fd/N as the working directory (runc's CVE-2024-21626). Each must either be refused or stay inside: the
 * host directory the entries aim at keeps its one file, and no container sees that file's text.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { pack as tarPack } from 'tar-stream';
import { serveRegistry, type ServedRegistry } from '../helpers/registry-serve.js';
import { startBattery, type Battery, type Engine, type Result } from './battery.js';

const HOST_SECRET = 'HOST-SECRET-of-the-archive-attacks';

let b: Battery;
let hostDir: string;
let registry: ServedRegistry;

before(async () => {
  b = await startBattery('wharf-sec-archives-');
  hostDir = await fsp.mkdtemp(path.join(b.root, 'host-'));
  await fsp.writeFile(path.join(hostDir, 'secret'), HOST_SECRET);
  registry = await serveRegistry(b.root);
});

after(async () => {
  await registry?.stop();
  await b?.stop();
});

type Entry = {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link';
  linkname?: string;
  body?: string | Buffer;
};

async function tarOf(entries: Entry[]): Promise<Buffer> {
  const p = tarPack();
  const out = buffer(p);
  for (const e of entries) {
    const type = e.type ?? 'file';
    const header = {
      name: e.name,
      type,
      mode: type === 'directory' ? 0o755 : 0o644,
      ...(e.linkname ? { linkname: e.linkname } : {}),
    };
    await new Promise<void>((resolve, reject) => {
      if (type === 'file') p.entry(header, e.body ?? 'from the hostile tar', (err) => (err ? reject(err) : resolve()));
      else p.entry(header, (err) => (err ? reject(err) : resolve()));
    });
  }
  p.finalize();
  return out;
}

/** The hostile entries, each aimed at the host directory; `names` are the paths a container then reads. */
function hostileEntries(): { name: string; entries: Entry[]; reads: string[] }[] {
  const up = '../'.repeat(12);
  const rel = hostDir.slice(1);
  return [
    { name: '../ in a name', entries: [{ name: `${up}${rel}/dotdot-escape` }], reads: [] },
    { name: 'absolute name', entries: [{ name: `${hostDir}/absolute-escape` }], reads: [] },
    {
      name: 'hard link to a host file (../)',
      entries: [{ name: 'hl-rel', type: 'link', linkname: `${up}${rel}/secret` }],
      reads: ['/hl-rel'],
    },
    {
      name: 'hard link to a host file (absolute)',
      entries: [{ name: 'hl-abs', type: 'link', linkname: `${hostDir}/secret` }],
      reads: ['/hl-abs'],
    },
    {
      name: 'write through an absolute symlink',
      entries: [{ name: 'sl-abs', type: 'symlink', linkname: hostDir }, { name: 'sl-abs/through-absolute-symlink' }],
      reads: ['/sl-abs/secret'],
    },
    {
      name: 'write through a ../ symlink',
      entries: [
        { name: 'sl-rel', type: 'symlink', linkname: `${up}${rel}` },
        { name: 'sl-rel/through-relative-symlink' },
      ],
      reads: ['/sl-rel/secret'],
    },
  ];
}

const sha256 = (buf: Buffer): string => createHash('sha256').update(buf).digest('hex');

/** A `docker save` archive of busybox's layer plus one hostile layer. */
async function imageArchive(layer: Buffer, base: Buffer, repoTag: string): Promise<Buffer> {
  const config = imageConfig(base, layer);
  return tarOf([
    { name: 'base.tar', body: base },
    { name: 'hostile.tar', body: layer },
    { name: 'config.json', body: config },
    {
      name: 'manifest.json',
      body: JSON.stringify([{ Config: 'config.json', RepoTags: [repoTag], Layers: ['base.tar', 'hostile.tar'] }]),
    },
  ]);
}

function imageConfig(base: Buffer, layer: Buffer): Buffer {
  return Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['sh'] },
      rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(base)}`, `sha256:${sha256(layer)}`] },
    }),
  );
}

/** After an attempt: the host directory still holds only its secret, unchanged; and what the reads showed. */
async function verdict(what: string, accepted: boolean, seen: string): Promise<Result> {
  const files = (await fsp.readdir(hostDir)).sort();
  const secret = await fsp.readFile(path.join(hostDir, 'secret'), 'utf8');
  const escaped = files.join() !== 'secret' || secret !== HOST_SECRET || seen.includes(HOST_SECRET);
  return {
    outcome: escaped ? 'escaped' : 'blocked',
    detail: `${accepted ? 'accepted' : 'refused'}${files.join() !== 'secret' ? `; host dir got ${files.join(' ')}` : ''}${seen.includes(HOST_SECRET) ? '; secret read' : ''}${what ? `; ${what}` : ''}`,
  };
}

/** Reads paths in an image from a container (the text of any that exist). */
async function readIn(engine: Engine, image: string, reads: string[]): Promise<string> {
  if (!reads.length) return '';
  const r = await engine(['run', '--rm', '--network', 'none', image, 'cat', ...reads]);
  return r.stdout;
}

let baseLayer: Buffer | undefined;
/** busybox's own layer, from a save of it (so the hostile image has a shell to read with). */
async function busyboxLayer(): Promise<Buffer> {
  if (baseLayer) return baseLayer;
  const r = await b.wharf(['save', 'busybox', '-o', path.join(b.root, 'bb.tar')]);
  assert.equal(r.code, 0, r.stderr);
  const dir = await fsp.mkdtemp(path.join(b.root, 'bb-'));
  const { execFileSync } = await import('node:child_process');
  execFileSync('tar', ['-C', dir, '-xf', path.join(b.root, 'bb.tar')]);
  const manifest = JSON.parse(await fsp.readFile(path.join(dir, 'manifest.json'), 'utf8')) as [{ Layers: string[] }];
  baseLayer = await fsp.readFile(path.join(dir, manifest[0].Layers[0]!));
  return baseLayer;
}

const both = async (name: string, attempt: (engine: Engine, which: string) => Promise<Result>): Promise<void> => {
  const ours = await attempt(b.wharf, 'wharf');
  b.record(name, ours, await attempt(b.docker, 'docker'));
};

test('layer tars that lead out of the root, by load', async () => {
  for (const [i, c] of hostileEntries().entries()) {
    await both(`load: ${c.name}`, async (engine, which) => {
      const archive = path.join(b.root, `hostile-load-${which}-${i}.tar`);
      await fsp.writeFile(
        archive,
        await imageArchive(await tarOf(c.entries), await busyboxLayer(), `hostile-load:${i}`),
      );
      const r = await engine(['load', '-i', archive]);
      return verdict('', r.code === 0, r.code === 0 ? await readIn(engine, `hostile-load:${i}`, c.reads) : '');
    });
  }
});

test('layer tars that lead out of the root, by import', async () => {
  for (const [i, c] of hostileEntries().entries()) {
    await both(`import: ${c.name}`, async (engine, which) => {
      const file = path.join(b.root, `hostile-import-${which}-${i}.tar`);
      await fsp.writeFile(file, await tarOf(c.entries));
      const r = await engine(['import', file, `hostile-import:${i}`]);
      // The imported image has no shell: a container made of busybox and it would need a second layer; the host
      // directory is what tells here (reads are checked through load and pull).
      return verdict('', r.code === 0, '');
    });
  }
});

/** Pushes an image (busybox's layer plus `layer`) to the local registry by its HTTP API, as a hostile registry would. */
async function pushRaw(repo: string, layer: Buffer): Promise<string> {
  const base = await busyboxLayer();
  const config = imageConfig(base, layer);
  const blobs = [base, layer, config];
  for (const blob of blobs) {
    const start = await fetch(`http://${registry.host}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    assert.equal(start.status, 202, await start.text());
    const loc = new URL(start.headers.get('location')!, `http://${registry.host}`);
    loc.searchParams.set('digest', `sha256:${sha256(blob)}`);
    const put = await fetch(loc, {
      method: 'PUT',
      body: blob,
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(put.status, 201, await put.text());
  }
  const layerDesc = (blob: Buffer) => ({
    mediaType: 'application/vnd.docker.image.rootfs.diff.tar',
    size: blob.length,
    digest: `sha256:${sha256(blob)}`,
  });
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: {
      mediaType: 'application/vnd.docker.container.image.v1+json',
      size: config.length,
      digest: `sha256:${sha256(config)}`,
    },
    layers: [layerDesc(base), layerDesc(layer)],
  };
  const put = await fetch(`http://${registry.host}/v2/${repo}/manifests/latest`, {
    method: 'PUT',
    body: JSON.stringify(manifest),
    headers: { 'content-type': manifest.mediaType },
  });
  assert.equal(put.status, 201, await put.text());
  return `${registry.host}/${repo}:latest`;
}

test('layer tars that lead out of the root, by pull from a registry', async () => {
  for (const [i, c] of hostileEntries().entries()) {
    const ref = await pushRaw(`hostile/pull${i}`, await tarOf(c.entries));
    await both(`pull: ${c.name}`, async (engine) => {
      const r = await engine(['pull', '-q', ref]);
      return verdict('', r.code === 0, r.code === 0 ? await readIn(engine, ref, c.reads) : '');
    });
  }
});

test('build contexts that lead out of the root', async () => {
  for (const [i, c] of hostileEntries().entries()) {
    await both(`build context: ${c.name}`, async (engine, which) => {
      const context = await tarOf([{ name: 'Dockerfile', body: 'FROM busybox\nCOPY . /ctx/\n' }, ...c.entries]);
      const tag = `hostile-ctx-${which}:${i}`;
      const r = await engine(['build', '-q', '-t', tag, '-'], { input: context });
      const reads = c.reads.map((p) => `/ctx${p}`);
      return verdict('', r.code === 0, r.code === 0 ? await readIn(engine, tag, reads) : '');
    });
  }
});

test('COPY of a symlink that points out of the context', async () => {
  const ctx = await fsp.mkdtemp(path.join(b.root, 'ctx-'));
  await fsp.symlink(path.join(hostDir, 'secret'), path.join(ctx, 'file-link'));
  await fsp.symlink(hostDir, path.join(ctx, 'dir-link'));
  await fsp.symlink(`${'../'.repeat(12)}${hostDir.slice(1)}`, path.join(ctx, 'rel-link'));
  const cases: [string, string][] = [
    ['file-link', '/a'],
    ['dir-link/secret', '/b'],
    ['dir-link/', '/c/'],
    ['rel-link/secret', '/d'],
  ];
  for (const [i, [src, dest]] of cases.entries()) {
    await both(`COPY ${src} (a symlink out of the context)`, async (engine, which) => {
      await fsp.writeFile(path.join(ctx, 'Dockerfile'), `FROM busybox\nCOPY ${src} ${dest}\n`);
      const tag = `hostile-copy-${which}:${i}`;
      const r = await engine(['build', '-q', '-t', tag, ctx]);
      const seen =
        r.code === 0
          ? (
              await engine([
                'run',
                '--rm',
                '--network',
                'none',
                tag,
                'sh',
                '-c',
                `cat ${dest}* ${dest}/* 2>/dev/null; true`,
              ])
            ).stdout
          : '';
      return verdict('', r.code === 0, seen);
    });
  }
});

test('a VOLUME over a symlink to a host directory', async () => {
  const ctx = await fsp.mkdtemp(path.join(b.root, 'ctx-vol-'));
  await fsp.writeFile(path.join(ctx, 'Dockerfile'), `FROM busybox\nRUN ln -s ${hostDir} /vol\nVOLUME /vol\n`);
  await both('VOLUME over a symlink', async (engine, which) => {
    const tag = `hostile-vol-${which}`;
    const built = await engine(['build', '-q', '-t', tag, ctx]);
    if (built.code !== 0) return verdict('build refused', false, '');
    const r = await engine([
      'run',
      '--rm',
      '--network',
      'none',
      tag,
      'sh',
      '-c',
      'cat /vol/secret; echo x > /vol/written; ls /vol',
    ]);
    return verdict(r.code === 0 ? 'ran' : 'run refused', r.code === 0, r.stdout);
  });
});

test('an image config that names /proc as a volume or a /proc/self/fd as the working directory', async () => {
  await both('VOLUME /proc', async (engine, which) => {
    const img = `hostile-procvol-${which}`;
    const c = await engine([
      'commit',
      '--change',
      'VOLUME /proc',
      (await engine(['create', 'busybox'])).stdout.trim(),
      img,
    ]);
    if (c.code !== 0) return verdict('commit refused', false, '');
    const r = await engine([
      'run',
      '--rm',
      '--network',
      'none',
      img,
      'sh',
      '-c',
      'dd if=/proc/kcore bs=4096 count=1 2>/dev/null | wc -c; cat /proc/1/root' + hostDir + '/secret',
    ]);
    const kcore = Number(r.stdout.split('\n')[0]);
    return {
      ...(await verdict(r.code === 0 ? `ran, /proc/kcore gave ${kcore} bytes` : 'run refused', r.code === 0, r.stdout)),
      ...(kcore > 0 ? { outcome: 'escaped' as const } : {}),
    };
  });
  // runc before 1.1.12 leaked a host directory fd into the container, which WORKDIR /proc/self/fd/N reached.
  await both('WORKDIR /proc/self/fd/N (N = 3..6)', async (engine) => {
    let seen = '';
    let ran = 0;
    for (let fd = 3; fd <= 6; fd++) {
      const r = await engine([
        'run',
        '--rm',
        '--network',
        'none',
        '-w',
        `/proc/self/fd/${fd}`,
        'busybox',
        'sh',
        '-c',
        `cat ${'../'.repeat(12)}${hostDir.slice(1)}/secret`,
      ]);
      if (r.code === 0) ran++;
      seen += r.stdout;
    }
    return verdict(`${ran} of 4 started`, ran > 0, seen);
  });
  // The same named by the image's config (WorkingDir), as a hostile image would.
  await both('image WorkingDir /proc/self/fd/5', async (engine, which) => {
    const img = `hostile-procwd-${which}`;
    const ctr = (await engine(['create', 'busybox'])).stdout.trim();
    const c = await engine(['commit', '--change', 'WORKDIR /proc/self/fd/5', ctr, img]);
    await engine(['rm', ctr]);
    if (c.code !== 0) return verdict('commit refused', false, '');
    const r = await engine([
      'run',
      '--rm',
      '--network',
      'none',
      img,
      'sh',
      '-c',
      `pwd; cat ${'../'.repeat(12)}${hostDir.slice(1)}/secret`,
    ]);
    return verdict(r.code === 0 ? `ran in ${r.stdout.split('\n')[0]}` : 'run refused', r.code === 0, r.stdout);
  });
});
