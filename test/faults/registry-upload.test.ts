/**
 * kill -9 of the registry during an upload, at named steps (issue 16): the server stops itself at the step
 * (WHARF_TEST_PAUSE_AT), is killed there, and is started again on the same data. The interrupted upload then resumes
 * from what the server kept, or is refused cleanly (404 BLOB_UPLOAD_UNKNOWN); the push repeated succeeds, the image
 * pulls, and GC afterwards finds a consistent store (nothing to delete, no blob file the index does not know).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { ok, runCli, tempRoot } from '../helpers/cli.js';
import { makeBusyboxTar } from '../helpers/busybox.js';
import { serveRegistry, type ServedRegistry } from '../helpers/registry-serve.js';
import { freePort } from '../integration/transfer/helpers.js';
import { waitStopped } from './helpers.js';

let src: { root: string; cleanup(): Promise<void> };
let regRoot: { root: string; cleanup(): Promise<void> };
let port = 0;
let reg: ServedRegistry | undefined;

/** The registry on its fixed port, optionally told to stop itself at `pauseAt`. */
async function startRegistry(pauseAt?: string): Promise<ServedRegistry> {
  if (pauseAt) process.env.WHARF_TEST_PAUSE_AT = pauseAt;
  try {
    reg = await serveRegistry(regRoot.root, 60_000, { addr: `127.0.0.1:${port}` });
    return reg;
  } finally {
    delete process.env.WHARF_TEST_PAUSE_AT;
  }
}

before(async () => {
  src = await tempRoot('wharf-fault-regup-src-');
  regRoot = await tempRoot('wharf-fault-regup-reg-');
  const tar = await makeBusyboxTar(src.root);
  ok(await runCli(src.root, ['import', '-c', 'CMD ["sh"]', tar, 'busybox']), 'import');
  port = await freePort();
});

after(async () => {
  await reg?.stop();
  await regRoot?.cleanup();
  await src?.cleanup();
});

interface GcJson {
  manifests: unknown[];
  blobs: unknown[];
  orphanFiles: number;
}

/** What is inconsistent after a case: GC run once, then a dry run must find nothing left to delete. */
async function inconsistencies(): Promise<string[]> {
  const out: string[] = [];
  const gc = await runCli(regRoot.root, ['registry', 'gc']);
  if (gc.code !== 0) out.push(`registry gc failed: ${gc.stderr}`);
  const dry = await runCli(regRoot.root, ['registry', 'gc', '--dry-run', '--json']);
  if (dry.code !== 0) out.push(`registry gc --dry-run failed: ${dry.stderr}`);
  else {
    const r = JSON.parse(dry.stdout) as GcJson;
    if (r.manifests.length || r.blobs.length || r.orphanFiles)
      out.push(`after gc, a dry run still finds: ${JSON.stringify({ ...r, kept: undefined })}`);
  }
  return out;
}

const STEPS = ['registry:upload-append', 'registry:upload-before-commit', 'registry:upload-after-move'];
const results: { step: string; left: string[] }[] = [];

for (const step of STEPS) {
  test(`registry killed at ${step} during a push: restarted, the push repeats, the image pulls, GC is consistent`, async () => {
    const image = `127.0.0.1:${port}/fault/${step.split(':')[1]}:1`;
    ok(await runCli(src.root, ['tag', 'busybox', image]), 'tag');
    const server = await startRegistry(step);
    const push = runCli(src.root, ['push', image]);
    await waitStopped(server.pid, `registry serve (${step})`);
    await server.kill();
    const first = await push;
    assert.notEqual(first.code, 0, 'the push whose registry died failed');
    await startRegistry();
    ok(await runCli(src.root, ['push', image]), 'the repeated push');
    const dst = await tempRoot('wharf-fault-regup-dst-');
    try {
      ok(await runCli(dst.root, ['pull', image]), 'pull');
      const left = await inconsistencies();
      ok(await runCli(dst.root, ['rmi', image]), 'rmi');
      ok(await runCli(dst.root, ['pull', image]), 'pull after gc');
      results.push({ step, left });
      assert.deepEqual(left, []);
    } finally {
      await dst.cleanup();
      await reg?.stop();
    }
  });
}

test('an upload cut off mid-chunk by kill -9 resumes from what the restarted registry kept, or is refused cleanly', async () => {
  const data = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
  const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
  let server = await startRegistry('registry:upload-append');
  let base = `http://${server.host}`;
  const post = await fetch(`${base}/v2/fault/raw/blobs/uploads/`, { method: 'POST' });
  assert.equal(post.status, 202);
  const loc = new URL(post.headers.get('location')!, base);
  const patch = fetch(loc, { method: 'PATCH', body: data }).catch((err: Error) => err);
  await waitStopped(server.pid, 'registry serve');
  await server.kill();
  assert.ok((await patch) instanceof Error, 'the PATCH was cut off');
  server = await startRegistry();
  base = `http://${server.host}`;
  const at = new URL(loc.pathname + loc.search, base);
  const status = await fetch(at);
  let outcome: string;
  if (status.status === 204) {
    // `0-0` is distribution's Range of an empty session (the bytes in flight never reached the file).
    const range = status.headers.get('range') ?? '';
    const kept = range === '0-0' ? 0 : Number(/^0-(\d+)$/.exec(range)?.[1] ?? -2) + 1;
    assert.ok(kept >= 0 && kept < data.length, `range ${status.headers.get('range')}`);
    const rest = await fetch(at, {
      method: 'PATCH',
      body: data.subarray(kept),
      headers: { 'Content-Range': `${kept}-${data.length - 1}`, 'Content-Type': 'application/octet-stream' },
    });
    assert.equal(rest.status, 202, `${range}: ${await rest.text()}`);
    const putAt = new URL(rest.headers.get('location')!, base);
    putAt.searchParams.set('digest', digest);
    const put = await fetch(putAt, { method: 'PUT' });
    assert.equal(put.status, 201, await put.text());
    outcome = `resumed from byte ${kept}`;
  } else {
    assert.equal(status.status, 404);
    assert.match(await status.text(), /BLOB_UPLOAD_UNKNOWN/);
    outcome = 'refused';
  }
  const head = await fetch(`${base}/v2/fault/raw/blobs/${digest}`, { method: 'HEAD' });
  assert.equal(head.status, 200, outcome);
  assert.equal(Number(head.headers.get('content-length')), data.length);
  await reg?.stop();
  const left = await inconsistencies();
  results.push({ step: `registry:upload-append (raw PATCH, ${outcome})`, left });
  assert.deepEqual(left, []);
});

test('kill points summary', (t) => {
  const dirty = results.filter((r) => r.left.length);
  t.diagnostic(
    `registry upload kill cases: ${results.length} (${STEPS.length} kill points during a push + 1 raw PATCH), inconsistent afterwards: ${dirty.length}`,
  );
  assert.equal(dirty.length, 0);
});
