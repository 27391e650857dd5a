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
  const { execFileSync } = await import('node:child_process');
  const { REPO } = await import('../helpers/cli.js');
  // On a copy of the bundle: a junk cache in dist/ would make every other test's command compile the bundle from
  // source meanwhile (~5 MB more resident, which test/faults/backpressure.test.ts's memory bound would see).
  const dir = await fsp.mkdtemp(path.join(t.root, 'bundle-'));
  const bundle = path.join(dir, 'wharf.cjs');
  await fsp.copyFile(path.join(REPO, 'dist', 'wharf.cjs'), bundle);
  const junk = Buffer.from('not a V8 code cache');
  await fsp.writeFile(`${bundle}.cache`, junk);
  // Loaded as bin/wharf.cjs loads it, with bin/wharf's V8 flags; exports `main`, and the cache is written at exit.
  const load = `const m = require(${JSON.stringify(path.join(REPO, 'bin', 'load-bundle.cjs'))}).loadBundle(${JSON.stringify(bundle)});
if (typeof m.main !== 'function') process.exit(3);`;
  execFileSync(process.execPath, ['--max-semi-space-size=1', '-e', load]);
  const now = await fsp.readFile(`${bundle}.cache`);
  assert.ok(now.length > 100_000 && !now.equals(junk), 'the load wrote a fresh cache');
  execFileSync(process.execPath, ['--max-semi-space-size=1', '-e', load]);
  assert.ok(now.equals(await fsp.readFile(`${bundle}.cache`)), 'a valid cache is kept as it is');
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

test("the short verbs load none of Node's heavier built-ins they do not use (each costs 1-5 ms of start-up)", async () => {
  const { promises: fsp, openSync, closeSync, readFileSync } = await import('node:fs');
  const path = await import('node:path');
  const { execFileSync, spawnSync } = await import('node:child_process');
  const { WHARF_BIN } = await import('../helpers/cli.js');
  const dir = await fsp.mkdtemp(path.join(t.root, 'modules-'));
  await fsp.mkdir(path.join(dir, 'rootfs'));
  await fsp.writeFile(path.join(dir, 'rootfs', 'hello'), 'hi\n');
  execFileSync('tar', ['-C', path.join(dir, 'rootfs'), '-cf', path.join(dir, 'img.tar'), '.']);
  assert.equal((await t.cli(['import', path.join(dir, 'img.tar'), 'tiny:1'])).code, 0);
  assert.equal((await t.cli(['create', '--network', 'none', '--name', 'c1', 'tiny:1', '/hello'])).code, 0);
  // Node's list of the built-ins it loaded, written at exit by a preload (NODE_OPTIONS reaches the CLI's Node).
  const preload = path.join(dir, 'modules.cjs');
  await fsp.writeFile(
    preload,
    "process.on('exit', () => require('fs').writeFileSync(process.env.MODULES_OUT, process.moduleLoadList.join('\\n')));",
  );
  const heavy = ['crypto', 'net', 'worker_threads', 'child_process', 'zlib', 'http', 'https', 'tls', 'dgram'];
  for (const args of [['tag', 'tiny:1', 'tiny:2'], ['images'], ['ps', '-a'], ['inspect', 'c1'], ['rmi', 'tiny:2']]) {
    const out = path.join(dir, 'modules.txt');
    // Output to a file, as a pipe's or a terminal's stream needs node:net itself (Node's stdio, not Wharf's choice).
    const log = openSync(path.join(dir, 'out.txt'), 'w');
    const r = spawnSync(WHARF_BIN, ['--root', t.root, ...args], {
      env: { ...process.env, NODE_OPTIONS: `--require ${preload}`, MODULES_OUT: out },
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    assert.equal(r.status, 0, `${args.join(' ')}: ${readFileSync(path.join(dir, 'out.txt'), 'utf8')}`);
    const loaded = new Set(readFileSync(out, 'utf8').split('\n'));
    const found = heavy.filter((m) => loaded.has(`NativeModule ${m}`));
    assert.deepEqual(found, [], `wharf ${args.join(' ')} loaded ${found.join(', ')}`);
  }
});
