/** Push to Debian's reference registry and pull back into a fresh root, through the CLI as a user would. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import tar from 'tar-stream';
import { tempRoot, ok } from '../../helpers/cli.js';
import { makeBusyboxTar, BUSYBOX } from '../../helpers/busybox.js';
import { startReferenceRegistry, type ReferenceRegistry } from './helpers.js';
import { Wharf } from '../../../src/engine/index.js';
import { RegistryClient } from '../../../src/remote/index.js';
import { chainIds } from '../../../src/image/index.js';

let reg: ReferenceRegistry;
let work: string;
let env: NodeJS.ProcessEnv;
let a: Awaited<ReturnType<typeof tempRoot>>;
let b: Awaited<ReturnType<typeof tempRoot>>;

before(async () => {
  reg = await startReferenceRegistry();
  work = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-pushpull-'));
  env = { WHARF_CONFIG: path.join(work, 'wharf-config'), DOCKER_CONFIG: path.join(work, 'docker-config') };
  a = await tempRoot('wharf-push-a-');
  b = await tempRoot('wharf-pull-b-');
  const tarball = await makeBusyboxTar(work, async (rootfs) => {
    await fsp.writeFile(path.join(rootfs, 'etc', 'motd'), 'hello from wharf\n');
  });
  ok(await a.cli(['import', tarball, `${reg.host}/team/bb:1`], { env }), 'import');
  ok(await a.cli(['tag', `${reg.host}/team/bb:1`, `${reg.host}/team/bb:2`], { env }), 'tag');
});

after(async () => {
  await a?.cleanup();
  await b?.cleanup();
  await reg?.stop();
  if (work) await fsp.rm(work, { recursive: true, force: true });
});

const digestLine = (out: string) => /^1: digest: (sha256:[a-f0-9]{64}) size: (\d+)$/m.exec(out);

test('push, push again, pull into a fresh root: same image, same digest, files intact', async () => {
  const first = ok(await a.cli(['push', `${reg.host}/team/bb:1`], { env }), 'push');
  assert.match(first.stdout, new RegExp(`^The push refers to repository \\[${reg.host}/team/bb\\]$`, 'm'));
  assert.match(first.stdout, /^[a-f0-9]{12}: Pushed$/m);
  const d1 = digestLine(first.stdout);
  assert.ok(d1, first.stdout);

  const second = ok(await a.cli(['push', `${reg.host}/team/bb:1`], { env }), 'second push');
  assert.match(second.stdout, /^[a-f0-9]{12}: Layer already exists$/m);
  assert.doesNotMatch(second.stdout, /Pushed/);
  assert.equal(digestLine(second.stdout)?.[1], d1[1], 'pushing the same image twice gives the same manifest digest');

  // The registry serves exactly what we pushed: Docker schema 2, gzip layers.
  const res = await fetch(`${reg.url}/v2/team/bb/manifests/1`, {
    headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' },
  });
  assert.equal(res.headers.get('docker-content-digest'), d1[1]);
  const manifest = JSON.parse(await res.text()) as { mediaType: string; layers: Array<{ mediaType: string }> };
  assert.equal(manifest.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
  assert.equal(manifest.layers[0]!.mediaType, 'application/vnd.docker.image.rootfs.diff.tar.gzip');

  const srcId = ok(
    await a.cli(['image', 'inspect', '--format', '{{.Id}}', `${reg.host}/team/bb:1`], { env }),
    'inspect a',
  ).stdout.trim();
  const pulled = ok(await b.cli(['pull', `${reg.host}/team/bb:1`], { env }), 'pull');
  assert.match(pulled.stdout, /^1: Pulling from team\/bb$/m);
  assert.match(pulled.stdout, /^[a-f0-9]{12}: Pull complete$/m);
  assert.match(pulled.stdout, new RegExp(`^Digest: ${d1[1]}$`, 'm'));
  assert.match(pulled.stdout, new RegExp(`^Status: Downloaded newer image for ${reg.host}/team/bb:1$`, 'm'));
  assert.equal(pulled.stdout.trim().split('\n').pop(), `${reg.host}/team/bb:1`);

  const info = ok(
    await b.cli(['image', 'inspect', '--format', '{{.Id}} {{json .RepoDigests}}', `${reg.host}/team/bb:1`], { env }),
    'inspect b',
  ).stdout.trim();
  assert.equal(info, `${srcId} ${JSON.stringify([`${reg.host}/team/bb@${d1[1]}`])}`);

  const again = ok(await b.cli(['pull', `${reg.host}/team/bb:1`], { env }), 'pull again');
  // As dockerd: no layer line for an image that is in the store (pull-already-exists-docker.test.ts compares).
  assert.doesNotMatch(again.stdout, /Already exists|Pull complete|Downloading/);
  assert.match(again.stdout, new RegExp(`^Status: Image is up to date for ${reg.host}/team/bb:1$`, 'm'));

  // Files came through byte for byte, and the compressed blob was not kept.
  const w = await Wharf.open({ root: b.root });
  try {
    const id = w.images.resolve(`${reg.host}/team/bb:1`).id;
    const { config } = await w.images.config(id);
    const top = chainIds(config.rootfs.diff_ids).pop()!;
    const files = await readTar(await w.images.layers.tar(top), ['./etc/motd', './bin/busybox']);
    assert.equal(files.get('./etc/motd')?.toString(), 'hello from wharf\n');
    assert.ok(files.get('./bin/busybox')?.equals(readFileSync(BUSYBOX)), 'busybox binary intact');
    const layerBlob = JSON.parse(
      await (
        await fetch(`${reg.url}/v2/team/bb/manifests/1`, {
          headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' },
        })
      ).text(),
    ).layers[0].digest;
    assert.equal(await w.content.info(layerBlob), undefined, 'the compressed layer is not kept after unpacking');
    assert.deepEqual(
      w.images.records.layerBlobs.ofLayer(config.rootfs.diff_ids[0]!).map((x) => x.digest),
      [layerBlob],
      'the blob digest is remembered for later pushes',
    );
  } finally {
    w.close();
  }
});

test('a pulled image pushed to another repository of the same registry is mounted, not uploaded', async () => {
  ok(await b.cli(['tag', `${reg.host}/team/bb:1`, `${reg.host}/other/copy:1`], { env }), 'tag');
  const r = ok(await b.cli(['push', `${reg.host}/other/copy:1`], { env }), 'push copy');
  assert.match(r.stdout, /^[a-f0-9]{12}: Mounted from team\/bb$/m);
  assert.doesNotMatch(r.stdout, /Pushed/);
  // Same blobs, so the manifest it was pulled with is pushed as it was: the copy keeps the digest.
  const original = (
    await fetch(`${reg.url}/v2/team/bb/manifests/1`, {
      method: 'HEAD',
      headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' },
    })
  ).headers.get('docker-content-digest');
  assert.equal(digestLine(r.stdout)?.[1], original);
});

test('push -a pushes every tag; pull -a pulls them; tags and catalog follow pagination', async () => {
  const r = ok(await a.cli(['push', '-a', `${reg.host}/team/bb`], { env }), 'push -a');
  assert.match(r.stdout, /^1: digest: sha256:/m);
  assert.match(r.stdout, /^2: digest: sha256:/m);

  const client = RegistryClient.forDomain(reg.host);
  try {
    // distribution v2.8 pages the catalog by `n` (tags pagination came later): every page is followed.
    const page = await client.catalog.page({ n: 1 });
    assert.deepEqual(page.items, ['other/copy']);
    assert.ok(page.next, 'the reference registry links to the next page');
    assert.deepEqual(await client.catalog.list({ pageSize: 1 }), ['other/copy', 'team/bb']);
    assert.deepEqual((await client.tags.list('team/bb', { pageSize: 1 })).sort(), ['1', '2']);
  } finally {
    client.close();
  }

  const c = await tempRoot('wharf-pull-all-');
  try {
    const all = ok(await c.cli(['pull', '-a', `${reg.host}/team/bb`], { env }), 'pull -a');
    assert.match(all.stdout, /^1: Pulling from team\/bb$/m);
    assert.match(all.stdout, /^2: Pulling from team\/bb$/m);
    const tags = ok(await c.cli(['images', '--format', '{{.Repository}}:{{.Tag}}'], { env }), 'images')
      .stdout.trim()
      .split('\n')
      .sort();
    assert.deepEqual(tags, [`${reg.host}/team/bb:1`, `${reg.host}/team/bb:2`]);
  } finally {
    await c.cleanup();
  }
});

test('errors are one line with exit 1', async () => {
  const r = await b.cli(['pull', `${reg.host}/team/bb:nope`], { env });
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr.trim(),
    `Error response from daemon: manifest for ${reg.host}/team/bb:nope not found: manifest unknown`,
  );
  const p = await b.cli(['push', `${reg.host}/team/none:1`], { env });
  assert.equal(p.code, 1);
  // dockerd's words, in its push stream (which the docker CLI prints bare): the repository without the tag.
  assert.equal(p.stderr.trim(), `An image does not exist locally with the tag: ${reg.host}/team/none`);
  const s = await b.cli(['search', `${reg.host}/bb`], { env });
  assert.equal(s.code, 1);
  assert.equal(
    s.stderr.trim(),
    `Error response from daemon: registry ${reg.host} does not offer search (GET /v1/search answered 404)`,
  );
});

async function readTar(src: NodeJS.ReadableStream, names: string[]): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const ex = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (h, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => {
        chunks.push(c as Buffer);
      });
      stream.on('end', () => {
        if (names.includes(h.name)) out.set(h.name, Buffer.concat(chunks));
        next();
      });
      stream.resume();
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  src.pipe(ex);
  await done;
  return out;
}

test('two pulls of the same image at once into one root both succeed', async () => {
  const c = await tempRoot('wharf-pull-concurrent-');
  try {
    const [r1, r2] = await Promise.all([
      c.cli(['pull', `${reg.host}/team/bb:1`], { env }),
      c.cli(['pull', `${reg.host}/team/bb:2`], { env }),
    ]);
    ok(r1, 'first pull');
    ok(r2, 'second pull');
    const ids = ok(await c.cli(['images', '-q', '--no-trunc'], { env }), 'images')
      .stdout.trim()
      .split('\n');
    assert.equal(new Set(ids).size, 1, 'both tags name the same image');
  } finally {
    await c.cleanup();
  }
});

test('a pull applies its layers in parallel and commits each on its parent: whiteouts and files as built', async () => {
  // Three layers: busybox, one that deletes a file and adds one (a whiteout), one more file on top.
  const ctx = await fsp.mkdtemp(path.join(work, 'multi-'));
  await fsp.writeFile(path.join(ctx, 'two'), 'two\n');
  await fsp.writeFile(
    path.join(ctx, 'Dockerfile'),
    `FROM ${reg.host}/team/bb:1\nRUN rm /etc/motd && mkdir /opt && echo one > /opt/one\nCOPY two /opt/two\n`,
  );
  const image = `${reg.host}/team/multi:1`;
  ok(await a.cli(['build', '-q', '-t', image, ctx], { env }), 'build');
  ok(await a.cli(['push', image], { env }), 'push');
  const c = await tempRoot('wharf-pull-multi-');
  try {
    ok(await c.cli(['pull', image], { env }), 'pull');
    const run = ok(
      await c.cli(
        [
          'run',
          '--rm',
          '--network',
          'none',
          image,
          'sh',
          '-c',
          'cat /opt/one /opt/two; test ! -e /etc/motd && echo gone',
        ],
        {
          env,
        },
      ),
      'run',
    );
    assert.equal(run.stdout, 'one\ntwo\ngone\n');
    const w = await Wharf.open({ root: c.root });
    try {
      const { config } = await w.images.config(w.images.resolve(image).id);
      const chain = chainIds(config.rootfs.diff_ids);
      assert.equal(chain.length, 3);
      for (const [i, id] of chain.entries()) {
        const s = await w.snapshots.stat(id);
        assert.equal(s?.kind, 'committed', `layer ${i}`);
        assert.equal(s?.parent, i === 0 ? undefined : chain[i - 1], `layer ${i}'s parent`);
      }
      // No extraction snapshot is left behind by the moves under the parents.
      for await (const s of w.snapshots.walk()) assert.ok(!s.key.startsWith('extract-'), s.key);
    } finally {
      w.close();
    }
  } finally {
    await c.cleanup();
  }
});
