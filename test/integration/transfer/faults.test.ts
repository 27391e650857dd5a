/**
 * Pulls through a proxy that breaks things: a connection cut mid-layer (resumed with Range, in the same pull and in
 * a later one from the partial ingest) and a flipped byte (refused, nothing stored). Every pull here unpacks its
 * layer while it downloads (transfer/growing-file.ts): the progress shows the layer extracting before its download
 * is complete, which unpacking from the stored blob never does.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeBusyboxTar } from '../../helpers/busybox.js';
import { startReferenceRegistry, startFaultProxy, type ReferenceRegistry, type FaultProxy } from './helpers.js';
import { Wharf } from '../../../src/engine/index.js';
import type { LocalContentStore } from '../../../src/content/index.js';
import { is } from '../../../src/errors/index.js';
import type { TransferEvent } from '../../../src/transfer/index.js';

let reg: ReferenceRegistry;
let proxy: FaultProxy;
let work: string;
let layer: { digest: string; size: number };
const fast = { retryBaseMs: 5 };

before(async () => {
  reg = await startReferenceRegistry();
  proxy = await startFaultProxy(reg.host);
  work = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-faults-'));
  const tarball = await makeBusyboxTar(work);
  const src = await Wharf.open({ root: path.join(work, 'src') });
  try {
    await src.images.archives.import(tarball, { reference: `${reg.host}/f/bb:1` });
    await src.registries.push(`${reg.host}/f/bb:1`, { compressionLevel: 1 });
  } finally {
    src.close();
  }
  const m = (await (
    await fetch(`${reg.url}/v2/f/bb/manifests/1`, {
      headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' },
    })
  ).json()) as {
    layers: Array<{ digest: string; size: number }>;
  };
  layer = m.layers[0]!;
  assert.ok(layer.size > 400_000, `the test layer must be big enough to cut (${layer.size} bytes)`);
});

after(async () => {
  await proxy?.stop();
  await reg?.stop();
  if (work) await fsp.rm(work, { recursive: true, force: true });
});

const isLayerGet = (url: string | undefined, method: string | undefined) =>
  method === 'GET' && url === `/v2/f/bb/blobs/${layer.digest}`;

/** The layer's statuses in order, for pull options' onProgress, without the repeated "Downloading" lines. */
function layerStatuses(): { statuses: string[]; onProgress: (e: TransferEvent) => void } {
  const statuses: string[] = [];
  const onProgress = (e: TransferEvent) => {
    if (e.type === 'layer' && e.id === layer.digest.slice(7, 19) && statuses.at(-1) !== e.status)
      statuses.push(e.status);
  };
  return { statuses, onProgress };
}

/** The layer was unpacked as it downloaded: extracting began before the download was complete (or failed). */
function assertPipelined(statuses: string[]): void {
  const extracting = statuses.indexOf('Extracting');
  assert.ok(extracting >= 0, `the layer was extracted: ${statuses.join(', ')}`);
  const complete = statuses.indexOf('Download complete');
  assert.ok(complete === -1 || extracting < complete, `extracting while downloading: ${statuses.join(', ')}`);
}

/** Snapshots left in a root (none may be after a failed pull of an empty root). */
async function snapshotsOf(w: Wharf): Promise<string[]> {
  const keys: string[] = [];
  for await (const s of w.snapshots.walk()) keys.push(s.key);
  return keys;
}

test('a connection dropped mid-layer is resumed with Range in the same pull', async () => {
  let cuts = 0;
  proxy.log.length = 0;
  proxy.setRule((req) => {
    if (isLayerGet(req.url, req.method) && cuts === 0) {
      cuts++;
      return { kind: 'cut', bytes: 300_000 };
    }
    return { kind: 'pass' };
  });
  const w = await Wharf.open({ root: path.join(work, 'resume-1') });
  try {
    const { statuses, onProgress } = layerStatuses();
    const [r] = await w.registries.pull(`${proxy.host}/f/bb:1`, { remote: fast, onProgress });
    assert.equal(r!.downloaded, 1);
    assertPipelined(statuses);
    assert.ok(statuses.includes('Retrying'), statuses.join(', '));
    assert.ok(statuses.at(-1) === 'Pull complete', statuses.join(', '));
    assert.equal(w.images.records.layers.all().length, 1, 'the layer, with the diff ID of its config');
    assert.deepEqual(await snapshotsOf(w), [w.images.records.layers.all()[0]!.chainId]);
    const gets = proxy.log.filter((l) => isLayerGet(l.url, l.method));
    assert.equal(gets.length, 2, JSON.stringify(gets));
    assert.equal(gets[0]!.range, undefined);
    const m = /^bytes=(\d+)-$/.exec(gets[1]!.range ?? '');
    assert.ok(m && Number(m[1]) > 0 && Number(m[1]) <= 300_000, `resumed from the offset reached: ${gets[1]!.range}`);
    assert.equal(gets[1]!.status, 206);
  } finally {
    w.close();
  }
});

test('a pull that gives up keeps the partial layer, and the next pull resumes it', async () => {
  proxy.log.length = 0;
  // The first request gets 300 kB; every resume is cut before any byte, until the link "comes back".
  proxy.setRule((req) =>
    isLayerGet(req.url, req.method) ? { kind: 'cut', bytes: req.headers.range ? 0 : 300_000 } : { kind: 'pass' },
  );
  const root = path.join(work, 'resume-2');
  const w = await Wharf.open({ root });
  try {
    await assert.rejects(w.registries.pull(`${proxy.host}/f/bb:1`, { remote: fast }), (err) => is(err, 'UNAVAILABLE'));
    const ingests = await (w.content as LocalContentStore).listIngests();
    assert.equal(ingests.length, 1);
    assert.equal(ingests[0]!.ref, `pull-${layer.digest}`);
    const partial = ingests[0]!.offset;
    assert.ok(partial > 0 && partial <= 300_000, `partial bytes kept: ${partial}`);

    proxy.setRule(() => ({ kind: 'pass' }));
    proxy.log.length = 0;
    const { statuses, onProgress } = layerStatuses();
    const [r] = await w.registries.pull(`${proxy.host}/f/bb:1`, { remote: fast, onProgress });
    assert.equal(r!.upToDate, false);
    // The partial ingest is read from its start while the rest arrives.
    assertPipelined(statuses);
    assert.equal(w.images.records.layers.all().length, 1);
    const gets = proxy.log.filter((l) => isLayerGet(l.url, l.method));
    assert.equal(gets.length, 1);
    assert.equal(gets[0]!.range, `bytes=${partial}-`, 'the second pull asked only for the missing bytes');
    assert.deepEqual(await (w.content as LocalContentStore).listIngests(), []);
  } finally {
    w.close();
  }
});

// Offset 1000 breaks the deflate stream (gunzip fails while the layer downloads); offset 4 is the gzip header's
// mtime, which gunzip ignores: the whole layer unpacks with the right diff ID, and only the compressed digest
// (checked before the layer is committed) refuses it.
for (const [offset, what] of [
  [1000, 'gunzip fails mid-layer'],
  [4, 'the tar unpacks whole'],
] as const) {
  test(`a tampered layer fails with DIGEST_MISMATCH and nothing is stored (${what})`, async () => {
    proxy.setRule((req) => (isLayerGet(req.url, req.method) ? { kind: 'flip', offset } : { kind: 'pass' }));
    const w = await Wharf.open({ root: path.join(work, `tamper-${offset}`) });
    try {
      const { statuses, onProgress } = layerStatuses();
      await assert.rejects(w.registries.pull(`${proxy.host}/f/bb:1`, { remote: fast, onProgress }), (err) => {
        assert.ok(is(err, 'DIGEST_MISMATCH'), String(err));
        return true;
      });
      assertPipelined(statuses);
      assert.equal(await w.content.info(layer.digest as never), undefined);
      assert.deepEqual(await (w.content as LocalContentStore).listIngests(), []);
      assert.deepEqual(w.images.records.images.all(), []);
      assert.deepEqual(w.images.records.layers.all(), []);
      assert.deepEqual(await snapshotsOf(w), [], 'no snapshot, not even a half-unpacked one');
    } finally {
      w.close();
    }
  });
}

test('an upload whose connection drops is started over and the push succeeds', async () => {
  const src = await Wharf.open({ root: path.join(work, 'src') });
  try {
    src.images.tag(`${reg.host}/f/bb:1`, `${proxy.host}/f/again:1`);
    let patches = 0;
    proxy.log.length = 0;
    proxy.setRule((req) => (req.method === 'PATCH' && patches++ === 0 ? { kind: 'cut', bytes: 0 } : { kind: 'pass' }));
    const statuses: string[] = [];
    const [r] = await src.registries.push(`${proxy.host}/f/again:1`, {
      remote: fast,
      onProgress: (e) => {
        if (e.type === 'layer') statuses.push(e.status);
      },
    });
    assert.ok(statuses.includes('Retrying'), statuses.join(','));
    assert.ok(statuses.includes('Pushed'));
    assert.equal(proxy.log.filter((l) => l.method === 'PATCH').length, 2);
    const served = await fetch(`${reg.url}/v2/f/again/manifests/1`, {
      method: 'HEAD',
      headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' },
    });
    assert.equal(served.headers.get('docker-content-digest'), r!.digest);
  } finally {
    proxy.setRule(() => ({ kind: 'pass' }));
    src.close();
  }
});
