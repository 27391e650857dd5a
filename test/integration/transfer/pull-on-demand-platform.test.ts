/**
 * `run`/`create --platform` pass the platform to the pull on demand, as docker CLI 28 does: with dockerd, a create of
 * a stored image of another platform fails with "does not match the specified platform", which the CLI treats as
 * missing: it prints "Unable to find image" and pulls that platform's image of the index. Against Wharf's own
 * registry on loopback, with an index of two platforms (the host's and another).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tempRoot, ok } from '../../helpers/cli.js';
import { makeBusyboxTar } from '../../helpers/busybox.js';
import { Wharf } from '../../../src/engine/index.js';
import { hostPlatform } from '../../../src/oci/index.js';
import { OCI_INDEX, pushBlob, sha256, startTestRegistry, type TestRegistry } from '../registry/helpers.js';

let reg: TestRegistry;
let work: string;
let ref: string;
const host = hostPlatform().architecture;
const other = host === 'arm64' ? 'amd64' : 'arm64';
const roots: Array<Awaited<ReturnType<typeof tempRoot>>> = [];

/** Pushes busybox for the host, the same layers with a config that says `other`, and an index of both as `multi:1`. */
before(async () => {
  work = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-platform-'));
  reg = await startTestRegistry();
  const addr = `${reg.host}:${reg.port}`;
  ref = `${addr}/x/multi:1`;
  const single = `${addr}/x/multi:host`;
  const src = await Wharf.open({ root: path.join(work, 'src') });
  try {
    await src.images.archives.import(await makeBusyboxTar(work), { reference: single });
    await src.registries.push(single);
  } finally {
    await src.close();
  }
  const accept = {
    Accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json',
  };
  const res = await fetch(`${reg.url}/v2/x/multi/manifests/host`, { headers: accept });
  const hostManifest = Buffer.from(await res.arrayBuffer());
  const mediaType = res.headers.get('content-type')!;
  const m = JSON.parse(hostManifest.toString()) as { config: { digest: string; size: number } };
  const config = JSON.parse(
    Buffer.from(await (await fetch(`${reg.url}/v2/x/multi/blobs/${m.config.digest}`)).arrayBuffer()).toString(),
  ) as Record<string, unknown>;
  const otherConfig = Buffer.from(JSON.stringify({ ...config, architecture: other }));
  const otherConfigDigest = await pushBlob(reg.url, 'x/multi', otherConfig);
  const otherManifest = Buffer.from(
    JSON.stringify({ ...m, config: { ...m.config, digest: otherConfigDigest, size: otherConfig.length } }),
  );
  const put = async (tag: string, body: Buffer, type: string): Promise<void> => {
    const r = await fetch(`${reg.url}/v2/x/multi/manifests/${tag}`, {
      method: 'PUT',
      body,
      headers: { 'Content-Type': type },
    });
    assert.equal(r.status, 201, await r.text());
  };
  await put(sha256(otherManifest), otherManifest, mediaType);
  const entry = (body: Buffer, architecture: string) => ({
    mediaType,
    digest: sha256(body),
    size: body.length,
    platform: { os: 'linux', architecture },
  });
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [entry(otherManifest, other), entry(hostManifest, host)],
    }),
  );
  await put('1', index, OCI_INDEX);
});

after(async () => {
  for (const r of roots) await r.cleanup();
  await reg?.stop();
  if (work) await fsp.rm(work, { recursive: true, force: true });
});

test('create --platform pulls that platform; a stored image of another platform counts as missing', async () => {
  const r = await tempRoot('wharf-platform-root-');
  roots.push(r);
  const arch = async (): Promise<string> =>
    ok(await r.cli(['image', 'inspect', '-f', '{{.Architecture}}', ref]), 'inspect').stdout.trim();

  const first = ok(await r.cli(['create', '--platform', `linux/${other}`, ref, 'true']), 'create --platform other');
  assert.ok(first.stderr.startsWith(`Unable to find image '${ref}' locally\n`), first.stderr);
  assert.equal(await arch(), other);

  // Present, and of the platform asked for (or none asked for): no pull.
  const same = ok(await r.cli(['create', `--platform=linux/${other}`, ref, 'true']), 'create --platform other again');
  assert.equal(same.stderr, '');
  assert.equal(ok(await r.cli(['create', ref, 'true']), 'create').stderr, '');

  // Present, of another platform: "Unable to find", then the host's image of the index.
  const back = ok(
    await r.cli(['container', 'create', '--platform', `linux/${host}`, ref, 'true']),
    'create --platform host',
  );
  assert.ok(back.stderr.startsWith(`Unable to find image '${ref}' locally\n`), back.stderr);
  assert.equal(await arch(), host);

  // A platform the index does not have: the daemon's message after the pull fails; create exits 1 (run: 125).
  const none = await r.cli(['create', '--platform', 'linux/s390x', ref, 'true']);
  assert.equal(none.code, 1, none.stderr);
  assert.match(none.stderr, /no matching manifest for linux\/s390x in the manifest list entries/);
});
