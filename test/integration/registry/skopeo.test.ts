import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { run } from '../../../src/util/index.js';
import { startTestRegistry, type TestRegistry } from './helpers.js';
import { writeOciLayout } from './oci-layout.js';

const skopeo = (args: string[]) => run('skopeo', args, { signal: AbortSignal.timeout(120_000) });

async function layoutBlobs(dir: string): Promise<string[]> {
  return (await fsp.readdir(path.join(dir, 'blobs', 'sha256'))).sort();
}

describe('registry with skopeo', () => {
  let r: TestRegistry;
  let tmp: string;
  let host: string;
  before(async () => {
    tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-reg-skopeo-'));
    r = await startTestRegistry({}, await fsp.mkdtemp(path.join(tmp, 'data-')));
    host = r.url.replace('http://', '');
  });
  after(async () => {
    await r.stop();
    await fsp.rm(tmp, { recursive: true, force: true });
  });

  it('copies an OCI image in and out byte for byte, and inspects it', async () => {
    const src = await writeOciLayout(path.join(tmp, 'src1'), 'v1', [
      { arch: 'amd64', layerSizes: [200_000, 2_000_000] },
    ]);
    await skopeo(['copy', '--dest-tls-verify=false', `oci:${src.dir}:v1`, `docker://${host}/sk/app:v1`]);
    const inspect = JSON.parse(
      (await skopeo(['inspect', '--tls-verify=false', `docker://${host}/sk/app:v1`])).stdout,
    ) as { Digest: string; Architecture: string; Layers: string[] };
    assert.equal(inspect.Digest, src.digest);
    assert.equal(inspect.Architecture, 'amd64');
    assert.equal(inspect.Layers.length, 2);
    const out = path.join(tmp, 'out1');
    await skopeo(['copy', '--src-tls-verify=false', `docker://${host}/sk/app:v1`, `oci:${out}:v1`]);
    assert.deepEqual(await layoutBlobs(out), await layoutBlobs(src.dir));
  });

  it('stores a Docker schema2 manifest when asked (--format v2s2)', async () => {
    const src = await writeOciLayout(path.join(tmp, 'src2'), 'v1', [{ arch: 'amd64', layerSizes: [50_000] }]);
    await skopeo([
      'copy',
      '--dest-tls-verify=false',
      '--format',
      'v2s2',
      `oci:${src.dir}:v1`,
      `docker://${host}/sk/docker:v1`,
    ]);
    const raw = JSON.parse(
      (await skopeo(['inspect', '--tls-verify=false', '--raw', `docker://${host}/sk/docker:v1`])).stdout,
    ) as { mediaType: string };
    assert.equal(raw.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
    const out = path.join(tmp, 'out2');
    await skopeo(['copy', '--src-tls-verify=false', `docker://${host}/sk/docker:v1`, `dir:${out}`]);
    assert.ok((await fsp.readdir(out)).includes('manifest.json'));
  });

  it('copies a multi-arch index with --all, and back', async () => {
    const src = await writeOciLayout(path.join(tmp, 'src3'), 'multi', [
      { arch: 'amd64', layerSizes: [30_000] },
      { arch: 'arm64', layerSizes: [40_000] },
    ]);
    await skopeo([
      'copy',
      '--all',
      '--dest-tls-verify=false',
      `oci:${src.dir}:multi`,
      `docker://${host}/sk/multi:latest`,
    ]);
    const raw = JSON.parse(
      (await skopeo(['inspect', '--tls-verify=false', '--raw', `docker://${host}/sk/multi:latest`])).stdout,
    ) as { mediaType: string; manifests: Array<{ digest: string }> };
    assert.equal(raw.mediaType, 'application/vnd.oci.image.index.v1+json');
    assert.deepEqual(
      raw.manifests.map((m) => m.digest),
      src.manifests,
    );
    const arm = JSON.parse(
      (await skopeo(['inspect', '--tls-verify=false', '--override-arch', 'arm64', `docker://${host}/sk/multi:latest`]))
        .stdout,
    ) as { Architecture: string };
    assert.equal(arm.Architecture, 'arm64');
    const out = path.join(tmp, 'out3');
    await skopeo(['copy', '--all', '--src-tls-verify=false', `docker://${host}/sk/multi:latest`, `oci:${out}:multi`]);
    assert.deepEqual(await layoutBlobs(out), await layoutBlobs(src.dir));
  });

  it('lists tags and deletes with skopeo delete', async () => {
    const src = await writeOciLayout(path.join(tmp, 'src4'), 'v1', [{ arch: 'amd64', layerSizes: [10_000] }]);
    for (const t of ['a', 'b'])
      await skopeo(['copy', '--dest-tls-verify=false', `oci:${src.dir}:v1`, `docker://${host}/sk/tags:${t}`]);
    const other = await writeOciLayout(path.join(tmp, 'src5'), 'v1', [{ arch: 'amd64', layerSizes: [10_000] }]);
    await skopeo(['copy', '--dest-tls-verify=false', `oci:${other.dir}:v1`, `docker://${host}/sk/tags:c`]);
    const tags = JSON.parse((await skopeo(['list-tags', '--tls-verify=false', `docker://${host}/sk/tags`])).stdout) as {
      Tags: string[];
    };
    assert.deepEqual(tags.Tags, ['a', 'b', 'c']);
    // skopeo deletes by digest: every tag of that manifest goes, other manifests stay.
    await skopeo(['delete', '--tls-verify=false', `docker://${host}/sk/tags:a`]);
    const after = JSON.parse(
      (await skopeo(['list-tags', '--tls-verify=false', `docker://${host}/sk/tags`])).stdout,
    ) as { Tags: string[] };
    assert.deepEqual(after.Tags, ['c']);
    const gone = await run('skopeo', ['inspect', '--tls-verify=false', `docker://${host}/sk/tags:b`], { check: false });
    assert.notEqual(gone.code, 0);
  });
});
