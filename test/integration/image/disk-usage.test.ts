/**
 * Three images on one base cost the base once: `system df` counts it once, `system df -v` shows it as shared, and the
 * store's real disk use matches (no layer is kept twice, compressed or not).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, mkdir } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as path from 'node:path';
import { tempRoot, ok } from '../../helpers/cli.js';
import { Wharf } from '../../../src/engine/index.js';
import { canonicalJson } from '../../../src/oci/index.js';

let t: Awaited<ReturnType<typeof tempRoot>>;
const BASE = 40 * 1000 * 1000;
const EXTRA = [3, 5].map((m) => m * 1000 * 1000);

async function tarOf(dir: string, name: string, bytes: number): Promise<string> {
  const d = path.join(dir, name);
  await mkdir(d);
  await writeFile(path.join(d, `${name}.bin`), randomBytes(bytes));
  const out = path.join(dir, `${name}.tar`);
  execFileSync('tar', ['-cf', out, '-C', d, `${name}.bin`]);
  return out;
}

before(async () => {
  t = await tempRoot();
  const work = path.join(t.root, 'work');
  await mkdir(work);
  ok(await t.cli(['import', await tarOf(work, 'base', BASE), 'base:1']), 'import base');
  const w = await Wharf.open({ root: t.root });
  try {
    const base = w.images.resolve('base:1');
    const { config } = await w.images.config(base.id);
    const baseChain = w.images.records.images.chain(base.id);
    for (const [i, size] of EXTRA.entries()) {
      const layer = await w.images.layers.create(baseChain[0]!, createReadStream(await tarOf(work, `extra${i}`, size)));
      const created = new Date().toISOString();
      const cfg = {
        ...config,
        created,
        rootfs: { type: 'layers' as const, diff_ids: [...config.rootfs.diff_ids, layer.diffId] },
        history: [...(config.history ?? []), { created, created_by: `/bin/sh -c #(nop) COPY extra${i}.bin /` }],
      };
      await w.images.create({
        configRaw: canonicalJson(cfg),
        chain: [baseChain[0]!, layer.chainId],
        parent: base.id,
        tags: [`child${i}:1`],
      });
    }
  } finally {
    w.close();
  }
});
after(async () => t.cleanup());

const parseSize = (s: string): number => {
  const m = /^([\d.]+)(B|kB|MB|GB)$/.exec(s)!;
  return Number(m[1]) * { B: 1, kB: 1e3, MB: 1e6, GB: 1e9 }[m[2] as 'B']!;
};

test('system df counts a shared base once', async () => {
  const lines = ok(await t.cli(['system', 'df']), 'df').stdout.split('\n');
  assert.match(lines[0]!, /^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE$/);
  const images = lines.find((l) => l.startsWith('Images'))!.split(/\s{2,}/);
  assert.equal(images[1], '3');
  const size = parseSize(images[3]!);
  const expected = BASE + EXTRA[0]! + EXTRA[1]!;
  assert.ok(Math.abs(size - expected) / expected < 0.01, `df says ${images[3]}, expected about ${expected}`);
});

test('system df -v shows shared and unique sizes per image', async () => {
  const out = ok(await t.cli(['system', 'df', '-v']), 'df -v').stdout;
  const rows = out
    .split('\n')
    .filter((l) => /^(base|child\d)\s/.test(l))
    .map((l) => l.split(/\s{2,}/));
  assert.equal(rows.length, 3);
  for (const r of rows) {
    const [repo, , , , size, shared, unique] = r;
    if (repo === 'base') {
      assert.equal(parseSize(shared!), parseSize(size!), 'the base is all shared');
      assert.equal(unique, '0B');
    } else {
      assert.ok(Math.abs(parseSize(shared!) - BASE) / BASE < 0.01, `${repo} shared ${shared}`);
      assert.ok(parseSize(unique!) < 6e6, `${repo} unique ${unique}`);
    }
  }
});

test("the store's real disk use matches: no layer is stored twice", async () => {
  const du = Number(execFileSync('du', ['-sb', t.root], { encoding: 'utf8' }).split('\t')[0]);
  // Our own test inputs (the tars) live under work/; exclude them.
  const work = Number(execFileSync('du', ['-sb', path.join(t.root, 'work')], { encoding: 'utf8' }).split('\t')[0]);
  const store = du - work;
  const layers = BASE + EXTRA[0]! + EXTRA[1]!;
  assert.ok(store >= layers, `store ${store} < layers ${layers}`);
  assert.ok(store < layers * 1.05 + 2_000_000, `store uses ${store} bytes for ${layers} bytes of layers`);
});

test('rmi of an image with child images: by ID is refused, by name only untags', async () => {
  const id = ok(await t.cli(['images', '-q', '--no-trunc', 'base:1']), 'images').stdout.trim();
  const byId = await t.cli(['rmi', id]);
  assert.equal(byId.code, 1);
  assert.match(byId.stderr, /image has dependent child images/);
  const byName = ok(await t.cli(['rmi', 'base:1']), 'rmi base:1').stdout;
  assert.equal(byName, 'Untagged: base:1\n');
  // Now an intermediate image: hidden from `images`, shown with -a.
  assert.ok(!ok(await t.cli(['images', '-q', '--no-trunc']), 'images').stdout.includes(id));
  assert.ok(ok(await t.cli(['images', '-a', '-q', '--no-trunc']), 'images -a').stdout.includes(id));
  // history of a child names its parent image on the second row, as docker does for local builds.
  const hist = ok(await t.cli(['history', '-q', '--no-trunc', 'child0:1']), 'history')
    .stdout.trim()
    .split('\n');
  assert.equal(hist[1], id);
  // Removing both children then prunes the untagged parent too.
  const out = ok(await t.cli(['rmi', 'child0:1', 'child1:1']), 'rmi children').stdout;
  assert.match(out, new RegExp(`Deleted: ${id}`));
  assert.equal(ok(await t.cli(['images', '-a', '-q']), 'images').stdout, '');
  assert.match(ok(await t.cli(['system', 'check']), 'check').stdout, /no problems/);
});
