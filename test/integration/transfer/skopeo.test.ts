/** Pull what another client (skopeo) pushed to the reference registry: a docker-archive and a multi-arch OCI index. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tempRoot, ok } from '../../helpers/cli.js';
import { makeBusyboxTar } from '../../helpers/busybox.js';
import { writeOciLayout } from '../registry/oci-layout.js';
import { startReferenceRegistry, type ReferenceRegistry } from './helpers.js';
import { Wharf } from '../../../src/engine/index.js';
import type { TransferEvent } from '../../../src/transfer/index.js';
import { hostPlatform } from '../../../src/oci/index.js';

let reg: ReferenceRegistry;
let work: string;
let env: NodeJS.ProcessEnv;

before(async () => {
  reg = await startReferenceRegistry();
  work = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-skopeo-'));
  env = { WHARF_CONFIG: path.join(work, 'wharf-config'), DOCKER_CONFIG: path.join(work, 'docker-config') };
});

after(async () => {
  await reg?.stop();
  if (work) await fsp.rm(work, { recursive: true, force: true });
});

const skopeo = (args: string[]) =>
  execFileSync('skopeo', ['--insecure-policy', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });

test('pull an image that skopeo pushed from a docker-archive', async () => {
  const src = await tempRoot('wharf-skopeo-src-');
  const dst = await tempRoot('wharf-skopeo-dst-');
  try {
    const tarball = await makeBusyboxTar(work);
    ok(await src.cli(['import', tarball, 'local/bb:1'], { env }), 'import');
    const archive = path.join(work, 'bb-archive.tar');
    ok(await src.cli(['save', '-o', archive, 'local/bb:1'], { env }), 'save');
    skopeo(['copy', `docker-archive:${archive}`, `docker://${reg.host}/skopeo/bb:1`, '--dest-tls-verify=false']);
    const srcId = ok(
      await src.cli(['image', 'inspect', '--format', '{{.Id}}', 'local/bb:1'], { env }),
      'inspect',
    ).stdout.trim();

    const r = ok(await dst.cli(['pull', `${reg.host}/skopeo/bb:1`], { env }), 'pull');
    assert.match(r.stdout, /Pull complete/);
    const id = ok(
      await dst.cli(['image', 'inspect', '--format', '{{.Id}}', `${reg.host}/skopeo/bb:1`], { env }),
      'inspect',
    ).stdout.trim();
    assert.equal(id, srcId, 'the config skopeo carried is the same image');

    // Re-tagged and pushed within the registry: blobs are mounted and skopeo's manifest bytes are kept.
    ok(await dst.cli(['tag', `${reg.host}/skopeo/bb:1`, `${reg.host}/skopeo/copy:1`], { env }), 'tag');
    const pushed = ok(await dst.cli(['push', `${reg.host}/skopeo/copy:1`], { env }), 'push');
    assert.match(pushed.stdout, /Mounted from skopeo\/bb/);
    const digestOf = async (repo: string) =>
      (
        await fetch(`${reg.url}/v2/${repo}/manifests/1`, {
          method: 'HEAD',
          headers: {
            Accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json',
          },
        })
      ).headers.get('docker-content-digest');
    assert.equal(await digestOf('skopeo/copy'), await digestOf('skopeo/bb'));
  } finally {
    await src.cleanup();
    await dst.cleanup();
  }
});

test('a multi-arch OCI index: the host platform is chosen, --platform picks another, second pull downloads nothing', async () => {
  const host = hostPlatform().architecture;
  const other = host === 'arm64' ? 'amd64' : 'arm64';
  const layout = path.join(work, 'layout');
  const written = await writeOciLayout(layout, 'multi', [
    { arch: other, layerSizes: [3000] },
    { arch: host, layerSizes: [2000, 70_000] },
  ]);
  skopeo(['copy', '--all', `oci:${layout}:multi`, `docker://${reg.host}/skopeo/multi:1`, '--dest-tls-verify=false']);

  const dst = await tempRoot('wharf-skopeo-multi-');
  try {
    const events: TransferEvent[] = [];
    const w = await Wharf.open({ root: dst.root });
    try {
      const [res] = await w.registries.pull(`${reg.host}/skopeo/multi:1`, { onProgress: (e) => events.push(e) });
      assert.equal(res!.digest, written.digest, 'the repo digest is the index digest');
      assert.equal(res!.downloaded, 2);
      const { config } = await w.images.config(res!.imageId);
      assert.equal(config.architecture, host);
      assert.equal(events.filter((e) => e.type === 'layer' && e.status === 'Pull complete').length, 2);

      const again = await w.registries.pull(`${reg.host}/skopeo/multi:1`, { onProgress: (e) => events.push(e) });
      assert.equal(again[0]!.upToDate, true);
      assert.equal(again[0]!.downloaded, 0);

      const [foreign] = await w.registries.pull(`${reg.host}/skopeo/multi:1`, { platform: `linux/${other}` });
      assert.equal((await w.images.config(foreign!.imageId)).config.architecture, other);
      assert.equal(foreign!.upToDate, false, "the tag moved to the other platform's image");
    } finally {
      w.close();
    }
    const digests = ok(await dst.cli(['images', '--digests', '--format', '{{.Digest}}'], { env }), 'images').stdout;
    assert.match(digests, new RegExp(written.digest));

    const bad = await dst.cli(['pull', '--platform', 'linux/s390x', `${reg.host}/skopeo/multi:1`], { env });
    assert.equal(bad.code, 1);
    assert.match(
      bad.stderr,
      /^Error response from daemon: no matching manifest for linux\/s390x in the manifest list entries$/m,
    );
  } finally {
    await dst.cleanup();
  }
});
