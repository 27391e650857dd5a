/**
 * Wharf as a library, end to end: import a base, build on it, serve a registry, push, pull into a second store.
 * Everything through the package entries (src/index.ts, src/images.ts, …), as `import … from 'wharf'`,
 * `'wharf/images'`, `'wharf/build'`, `'wharf/registry'` and `'wharf/remote'` users see them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { Wharf, is, readEvents } from '../../src/index.js';
import { imageHistory, inspectImage, listImages, type ImageListRow } from '../../src/images.js';
import { Builder, BuildContext } from '../../src/build.js';
import { startRegistry, loadRegistryConfig } from '../../src/registry.js';
import { DEFAULT_COMPRESSION_LEVEL, type PullResult } from '../../src/remote.js';
import { makeBusyboxTar } from '../helpers/busybox.js';

test('import, build, serve, push and pull through the library API', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'wharf-lib-'));
  const a = await Wharf.open({ root: path.join(dir, 'a') });
  const b = await Wharf.open({ root: path.join(dir, 'b') });
  let registry: Awaited<ReturnType<typeof startRegistry>> | undefined;
  try {
    const base = await a.images.archives.import(createReadStream(await makeBusyboxTar(dir)), {
      changes: ['CMD ["sh"]'],
      reference: 'busybox',
    });
    assert.equal(a.images.resolve('busybox').id, base.id);
    const rows: ImageListRow[] = listImages(a.images);
    assert.deepEqual(
      rows.map((r) => r.id),
      [base.id],
    );
    assert.equal((await inspectImage(a.images, 'busybox')).Id, base.id);
    assert.equal((await imageHistory(a.images, 'busybox')).length, 1);
    // The library reads no environment: a bare NAME (the CLI expands `-e NAME`) is refused before anything is made.
    await assert.rejects(a.containers.create({ image: 'busybox', env: ['A=1', 'HOME'] }), (err: unknown) =>
      is(err, 'INVALID_ARGUMENT'),
    );
    assert.deepEqual(await a.containers.list(), []);

    const ctxDir = path.join(dir, 'ctx');
    await import('node:fs/promises').then((f) => f.mkdir(ctxDir));
    await writeFile(path.join(ctxDir, 'hello.txt'), 'hello\n');
    const dockerfile = 'FROM busybox\nCOPY hello.txt /srv/\nRUN cat /srv/hello.txt > /srv/copy.txt\n';
    registry = await startRegistry(
      await loadRegistryConfig({ wharfRoot: path.join(dir, 'reg'), addr: '127.0.0.1:0' }),
      { log: () => {} },
    );
    const ref = `${registry.host}:${registry.port}/lib/app:1`;
    const out = new PassThrough().resume();
    const built = await new Builder(a).build({
      context: await BuildContext.fromDirectory(ctxDir),
      dockerfile: { text: dockerfile, name: 'Dockerfile' },
      tags: [ref],
      out,
      err: out,
    });
    assert.equal(a.images.resolve(ref).id, built.imageId);

    const [pushed] = await a.registries.push(ref, { compressionLevel: DEFAULT_COMPRESSION_LEVEL });
    const [pulled]: PullResult[] = await b.registries.pull(ref);
    assert.equal(pulled!.imageId, built.imageId);
    assert.equal(pulled!.digest, pushed!.digest);
    const chain = b.images.records.images.chain(pulled!.imageId);
    const top = b.snapshots.differ.diffDir(chain[chain.length - 1]!);
    assert.equal(await readFile(path.join(top, 'srv/copy.txt'), 'utf8'), 'hello\n');
    assert.deepEqual((await b.check()).problems, []);
    // Each root's events, as the library's services emitted them (no CLI involved).
    const events = async (w: Wharf) => (await readEvents(w.root)).map((e) => `${e.Type} ${e.Action} ${e.Actor.ID}`);
    const aEvents = await events(a);
    assert.deepEqual(aEvents.slice(0, 2), [`image tag ${base.id}`, `image import ${base.id}`]);
    assert.ok(aEvents.includes(`image tag ${built.imageId}`), aEvents.join('\n'));
    assert.equal(aEvents.at(-1), `image push ${ref}`);
    assert.deepEqual(await events(b), [`image pull ${ref}`]);
    assert.ok(
      is(
        await Promise.resolve()
          .then(() => b.images.resolve('nope'))
          .catch((e: unknown) => e),
        'NOT_FOUND',
      ),
    );
  } finally {
    await registry?.close();
    a.close();
    b.close();
    await rm(dir, { recursive: true, force: true });
  }
});
