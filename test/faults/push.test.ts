/**
 * kill -9 of `push` at its named steps (issue 16): afterwards the local store is clean (`system check`: the manifest
 * blob a push stores before recording it is no orphan), the push succeeds when repeated, and the registry's GC finds
 * nothing to delete and no blob file its index does not know.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ok, runCli, tempRoot } from '../helpers/cli.js';
import { makeBusyboxTar } from '../helpers/busybox.js';
import { serveRegistry, type ServedRegistry } from '../helpers/registry-serve.js';
import { freePort } from '../integration/transfer/helpers.js';
import { runUntilStep } from './helpers.js';

let src: { root: string; cleanup(): Promise<void> };
let regRoot: { root: string; cleanup(): Promise<void> };
let port = 0;
let reg: ServedRegistry | undefined;

before(async () => {
  src = await tempRoot('wharf-fault-push-src-');
  regRoot = await tempRoot('wharf-fault-push-reg-');
  const tar = await makeBusyboxTar(src.root);
  ok(await runCli(src.root, ['import', '-c', 'CMD ["sh"]', tar, 'busybox']), 'import');
  port = await freePort();
});

after(async () => {
  await reg?.stop();
  await regRoot?.cleanup();
  await src?.cleanup();
});

/** What a case left: local `system check` problems, and what the registry's GC still finds after one run. */
async function leftovers(): Promise<string[]> {
  const out: string[] = [];
  const check = await runCli(src.root, ['system', 'check']);
  if (check.code !== 0 || !check.stdout.includes('no problems')) out.push(`system check: ${check.stdout.trim()}`);
  await reg?.stop();
  const gc = await runCli(regRoot.root, ['registry', 'gc']);
  if (gc.code !== 0) out.push(`registry gc: ${gc.stderr}`);
  const dry = await runCli(regRoot.root, ['registry', 'gc', '--dry-run', '--json']);
  const r = JSON.parse(dry.stdout) as { manifests: unknown[]; blobs: unknown[]; orphanFiles: number };
  if (r.manifests.length || r.blobs.length || r.orphanFiles)
    out.push(`registry: ${r.manifests.length} manifests, ${r.blobs.length} blobs, ${r.orphanFiles} unknown files`);
  return out;
}

const STEPS = ['push:after-layer', 'push:before-manifest', 'push:after-manifest'];
const NEXT: Record<string, (image: string) => string[]> = {
  'the same push': (image) => ['push', image],
  'system check --repair': () => ['system', 'check', '--repair'],
};
const results: { step: string; next: string; left: string[] }[] = [];

for (const step of STEPS) {
  for (const [next, args] of Object.entries(NEXT)) {
    test(`push killed at ${step}, then ${next}: nothing left here or in the registry, the push repeats`, async () => {
      reg = await serveRegistry(regRoot.root, 60_000, { addr: `127.0.0.1:${port}` });
      const image = `127.0.0.1:${port}/fault/${step.split(':')[1]}-${next.split(' ')[0]}:1`;
      ok(await runCli(src.root, ['tag', 'busybox', image]), 'tag');
      const stopped = await runUntilStep(src.root, ['push', image], step);
      await stopped.kill();
      ok(await runCli(src.root, args(image)), next);
      ok(await runCli(src.root, ['push', image]), 'the repeated push');
      const left = await leftovers();
      results.push({ step, next, left });
      assert.deepEqual(left, []);
    });
  }
}

test('kill points summary', (t) => {
  const dirty = results.filter((r) => r.left.length);
  t.diagnostic(
    `push kill cases: ${results.length} (${STEPS.length} kill points x ${Object.keys(NEXT).length} next commands), left something behind: ${dirty.length}`,
  );
  assert.equal(dirty.length, 0);
});
