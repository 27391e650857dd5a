import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tempRoot } from '../helpers/cli.js';

let t: Awaited<ReturnType<typeof tempRoot>>;
before(async () => {
  t = await tempRoot();
});
after(async () => t.cleanup());

test('--version prints the package version', async () => {
  const r = await t.cli(['--version']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^Wharf version \d+\.\d+\.\d+\n$/);
});

test("an unknown flag exits 125 with pflag's message and the usage line, as docker 28 does", async () => {
  const r = await t.cli(['images', '--bogus']);
  assert.equal(r.code, 125);
  assert.equal(
    r.stderr,
    "unknown flag: --bogus\n\nUsage:  wharf images [OPTIONS] [REPOSITORY[:TAG]]\n\nRun 'wharf images --help' for more information\n",
  );
});

test('an unknown command exits 1', async () => {
  const r = await t.cli(['frobnicate']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, "wharf: unknown command: wharf frobnicate\n\nRun 'wharf --help' for more information\n");
});

test('WHARF_ROOT selects the root when --root is not given', async () => {
  const { spawnSync } = await import('node:child_process');
  const { WHARF_BIN } = await import('../helpers/cli.js');
  const r = spawnSync(WHARF_BIN, ['system', 'df'], { env: { ...process.env, WHARF_ROOT: t.root }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const { existsSync } = await import('node:fs');
  assert.ok(existsSync(`${t.root}/wharf.db`));
});

test('the bundle code cache: a stale or corrupt cache is ignored and rewritten', async () => {
  const { promises: fsp } = await import('node:fs');
  const path = await import('node:path');
  const { REPO } = await import('../helpers/cli.js');
  const cache = path.join(REPO, 'dist', 'wharf.cjs.cache');
  const junk = Buffer.from('not a V8 code cache');
  // tmp + rename, as the launcher writes it: other tests' commands may be reading the cache right now.
  await fsp.writeFile(`${cache}.test-tmp`, junk);
  await fsp.rename(`${cache}.test-tmp`, cache);
  const r = await t.cli(['images', '-q']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const now = await fsp.readFile(cache);
  assert.ok(now.length > 100_000 && !now.equals(junk), 'the command wrote a fresh cache');
  assert.equal((await t.cli(['images', '-q'])).code, 0);
});

test('commands opening a fresh root at the same moment all succeed (switching it to WAL is retried)', async () => {
  for (let round = 0; round < 4; round++) {
    const fresh = await tempRoot('wharf-fresh-');
    try {
      const runs = await Promise.all([0, 1, 2].map(() => fresh.cli(['images', '-q'])));
      for (const r of runs) assert.equal(r.code, 0, r.stderr);
    } finally {
      await fresh.cleanup();
    }
  }
});
