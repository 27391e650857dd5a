/**
 * A registry whose disk is full (issue 16, finding 7): it answered 500 to new uploads, to DELETE of an upload and to
 * `registry gc`, so it could not free space by itself. Now new uploads fail with 507 and "no space left on device",
 * while DELETE of an upload, DELETE of a manifest and GC work (the registry keeps a reserve file for them) and free
 * the space; once there is space again the reserve is back and uploads work.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, promises as fsp, statfsSync } from 'node:fs';
import * as path from 'node:path';
import { ok, runCli, tempRoot } from '../helpers/cli.js';
import { makeBusyboxTar } from '../helpers/busybox.js';
import { serveRegistry, type ServedRegistry } from '../helpers/registry-serve.js';

let src: { root: string; cleanup(): Promise<void> };
let regRoot = '';
let reg: ServedRegistry;
let base = '';
let image = '';

before(async () => {
  src = await tempRoot('wharf-fault-regfull-');
  const tar = await makeBusyboxTar(src.root);
  ok(await runCli(src.root, ['import', '-c', 'CMD ["sh"]', tar, 'busybox']), 'import');
  regRoot = path.join(src.root, 'reg');
  await fsp.mkdir(regRoot);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=48m', 'tmpfs', regRoot]);
  reg = await serveRegistry(regRoot);
  base = `http://${reg.host}`;
  image = `${reg.host}/full/bb:1`;
  ok(await runCli(src.root, ['tag', 'busybox', image]), 'tag');
  ok(await runCli(src.root, ['push', image]), 'push');
});

after(async () => {
  await reg?.stop();
  if (regRoot) {
    try {
      execFileSync('umount', ['-l', regRoot]);
    } catch {
      // not mounted
    }
  }
  await src?.cleanup();
});

async function startUpload(repo: string): Promise<string> {
  const r = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  assert.equal(r.status, 202, await r.text());
  return new URL(r.headers.get('location')!, base).toString();
}

function fillDisk(): string {
  const fill = path.join(regRoot, 'fill');
  try {
    execFileSync('dd', ['if=/dev/zero', `of=${fill}`, 'bs=64k'], { stdio: 'ignore' });
  } catch {
    // dd stops at ENOSPC
  }
  return fill;
}

test('on a full disk: uploads get 507, DELETE of an upload and of a manifest and GC work and free space', async () => {
  const pending = await startUpload('full/other');
  const patched = await fetch(pending, { method: 'PATCH', body: Buffer.alloc(256 * 1024, 1) });
  assert.equal(patched.status, 202);
  const fill = fillDisk();
  assert.ok(existsSync(path.join(regRoot, 'registry', 'reserve')), 'the registry keeps a reserve file');

  // A new upload: refused clearly, not a 500.
  const fresh = await fetch(`${base}/v2/full/new/blobs/uploads/`, { method: 'POST' });
  let status = fresh.status;
  let body = await fresh.text();
  if (status === 202) {
    const loc = new URL(fresh.headers.get('location')!, base).toString();
    const r = await fetch(loc, { method: 'PATCH', body: Buffer.alloc(1024 * 1024, 2) });
    status = r.status;
    body = await r.text();
  }
  assert.equal(status, 507, body);
  assert.match(body, /no space left on device/);

  // What frees space works.
  const del = await fetch(pending, { method: 'DELETE' });
  assert.equal(del.status, 204, await del.text());
  const head = await fetch(`${base}/v2/full/bb/manifests/1`, {
    method: 'HEAD',
    headers: {
      Accept: 'application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json',
    },
  });
  assert.equal(head.status, 200);
  const digest = head.headers.get('docker-content-digest')!;
  const mdel = await fetch(`${base}/v2/full/bb/manifests/${digest}`, { method: 'DELETE' });
  assert.equal(mdel.status, 202, await mdel.text());
  const freeBefore = statfsSync(regRoot).bavail;
  const gc = await runCli(regRoot, ['registry', 'gc']);
  assert.equal(gc.code, 0, gc.stderr);
  assert.ok(statfsSync(regRoot).bavail > freeBefore, 'gc freed space');

  await fsp.rm(fill, { force: true });
  // With space again: the reserve is back (after the next freeing operation or upload) and uploads work.
  const again = await startUpload('full/new');
  const put = await fetch(`${again}&digest=sha256:${'0'.repeat(64)}`, { method: 'PUT' });
  assert.notEqual(put.status, 500);
  ok(await runCli(src.root, ['push', image]), 'push with space again');
  assert.ok(existsSync(path.join(regRoot, 'registry', 'reserve')), 'the reserve is back');
});
