/**
 * Docker's rmi rule for pulled/pushed images: untagging the last tag of a repository also drops that repository's
 * digest references (RepoDigests), and the image is deleted when no reference is left.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tempRoot, ok } from '../../helpers/cli.js';
import { makeBusyboxTar } from '../../helpers/busybox.js';
import { Wharf } from '../../../src/engine/index.js';
import { canonicalJson, MediaType } from '../../../src/oci/index.js';
import type { Digest } from '../../../src/digest/index.js';

let t: Awaited<ReturnType<typeof tempRoot>>;
let id: string;
let manifestDigest: Digest;

before(async () => {
  t = await tempRoot();
  id = ok(await t.cli(['import', await makeBusyboxTar(t.root), 'reg.example:5000/team/app:1']), 'import').stdout.trim();
  ok(await t.cli(['tag', id, 'other.example/app:2']), 'tag');
  // As a pull records it: the manifest bytes in the content store and a RepoDigest for the repository.
  const w = await Wharf.open({ root: t.root });
  try {
    const raw = canonicalJson({
      schemaVersion: 2,
      mediaType: MediaType.OCIManifest,
      config: { mediaType: MediaType.OCIConfig, digest: id, size: 1 },
      layers: [],
    });
    manifestDigest = (await w.content.writeBuffer(raw)).digest;
    w.images.records.manifests.add({
      imageId: id as Digest,
      repository: 'reg.example:5000/team/app',
      digest: manifestDigest,
      mediaType: MediaType.OCIManifest,
    });
  } finally {
    w.close();
  }
});
after(async () => t.cleanup());

test('RepoDigests show, and go with the last tag of their repository', async () => {
  const [info] = JSON.parse(ok(await t.cli(['inspect', id]), 'inspect').stdout);
  assert.deepEqual(info.RepoDigests, [`reg.example:5000/team/app@${manifestDigest}`]);
  const out = ok(await t.cli(['rmi', 'reg.example:5000/team/app:1']), 'rmi').stdout;
  assert.equal(out, `Untagged: reg.example:5000/team/app:1\nUntagged: reg.example:5000/team/app@${manifestDigest}\n`);
  // Another name still holds the image.
  assert.equal(ok(await t.cli(['images', '-q', '--no-trunc']), 'images').stdout.trim(), id);
  const last = ok(await t.cli(['rmi', 'other.example/app:2']), 'rmi').stdout;
  assert.match(last, /^Untagged: other.example\/app:2\nDeleted: sha256:/);
  assert.equal(ok(await t.cli(['images', '-a', '-q']), 'images').stdout, '');
  // The manifest blob went with its last reference: nothing is orphaned.
  assert.match(
    ok(await t.cli(['system', 'check']), 'check').stdout,
    /checked 0 blobs, 0 layers, 0 images: no problems/,
  );
});
