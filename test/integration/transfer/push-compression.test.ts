/**
 * `wharf push` compression against real peers: the same image pushed to two registries gives the same blobs (the
 * second push compresses again, deterministically), for gzip and for zstd; skopeo and `wharf pull` read the zstd
 * image; a registry that refuses the zstd manifest gets a message that says so.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as http from 'node:http';
import type * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { tempRoot, ok } from '../../helpers/cli.js';
import { makeBusyboxTar } from '../../helpers/busybox.js';
import { startReferenceRegistry, type ReferenceRegistry } from './helpers.js';

let regA: ReferenceRegistry;
let regB: ReferenceRegistry;
let work: string;
let env: NodeJS.ProcessEnv;
let src: Awaited<ReturnType<typeof tempRoot>>;

before(async () => {
  [regA, regB] = await Promise.all([startReferenceRegistry(), startReferenceRegistry()]);
  work = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-push-compression-'));
  env = { WHARF_CONFIG: path.join(work, 'wharf-config'), DOCKER_CONFIG: path.join(work, 'docker-config') };
  src = await tempRoot('wharf-push-compression-src-');
  ok(await src.cli(['import', await makeBusyboxTar(work), 'local/bb:1'], { env }), 'import');
});

after(async () => {
  await src?.cleanup();
  await regA?.stop();
  await regB?.stop();
  if (work) await fsp.rm(work, { recursive: true, force: true });
});

const skopeo = (args: string[]) =>
  execFileSync('skopeo', ['--insecure-policy', ...args], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

/** Tag and push local/bb:1 as HOST/REPO:1 with extra flags; returns the manifest digest push printed. */
async function pushTo(host: string, repo: string, flags: string[]): Promise<string> {
  ok(await src.cli(['tag', 'local/bb:1', `${host}/${repo}:1`], { env }), 'tag');
  const r = ok(await src.cli(['push', ...flags, `${host}/${repo}:1`], { env }), 'push');
  const m = /digest: (sha256:[0-9a-f]{64})/.exec(r.stdout);
  assert.ok(m, `push printed a digest: ${r.stdout}`);
  return m[1]!;
}

for (const format of ['gzip', 'zstd'] as const) {
  test(`${format}: a second push to another registry gives byte-identical blobs`, async () => {
    const flags = ['--compression-format', format];
    const a = await pushTo(regA.host, `det/${format}`, flags);
    const b = await pushTo(regB.host, `det/${format}`, flags);
    assert.equal(b, a, 'same manifest digest, so the same layer and config digests');
    const manifest = JSON.parse(
      skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${regB.host}/det/${format}:1`]),
    );
    const want =
      format === 'zstd'
        ? 'application/vnd.oci.image.layer.v1.tar+zstd'
        : 'application/vnd.docker.image.rootfs.diff.tar.gzip';
    assert.deepEqual(
      manifest.layers.map((l: { mediaType: string }) => l.mediaType),
      [want],
    );
  });
}

test('zstd: skopeo copies and wharf pulls what was pushed, the same image', async () => {
  await pushTo(regA.host, 'zs/bb', ['--compression-format', 'zstd', '--compression-level', '9']);
  // skopeo checks every blob against its digest while copying.
  skopeo(['copy', '--src-tls-verify=false', `docker://${regA.host}/zs/bb:1`, `oci:${path.join(work, 'oci')}:bb`]);
  const dst = await tempRoot('wharf-push-compression-dst-');
  try {
    ok(await dst.cli(['pull', `${regA.host}/zs/bb:1`], { env }), 'pull');
    const idOf = async (root: typeof src, ref: string) =>
      ok(await root.cli(['image', 'inspect', '--format', '{{.Id}}', ref], { env }), 'inspect').stdout.trim();
    assert.equal(await idOf(dst, `${regA.host}/zs/bb:1`), await idOf(src, 'local/bb:1'));
  } finally {
    await dst.cleanup();
  }
});

test('a registry that refuses zstd layers: a clear error', async () => {
  // Accepts blobs; answers a manifest PUT as a registry that does not know the zstd layer type.
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const url = req.url ?? '';
      if (req.method === 'PUT' && url.includes('/manifests/')) {
        res.writeHead(400, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ code: 'MANIFEST_INVALID', message: 'manifest invalid', detail: {} }] }));
      } else if (req.method === 'HEAD' && url.includes('/blobs/')) {
        res.writeHead(404).end();
      } else if (req.method === 'POST' || req.method === 'PATCH') {
        res.writeHead(202, { Location: '/v2/up/blobs/uploads/x', Range: '0-0', 'Docker-Upload-UUID': 'x' }).end();
      } else if (req.method === 'PUT') {
        res.writeHead(201, { Location: url }).end();
      } else {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const host = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  try {
    ok(await src.cli(['tag', 'local/bb:1', `${host}/up:1`], { env }), 'tag');
    const r = await src.cli(['push', '--compression-format', 'zstd', `${host}/up:1`], { env });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /refused the manifest with zstd layers.*--compression-format gzip/s);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
