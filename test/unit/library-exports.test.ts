/**
 * The package's entries (package.json `exports`, one top-level src/<name>.ts each): every export has its entry, and
 * the light entries load only what they need. A program that opens a root and lists images must not pay for the
 * builder, the registry server, jose (tokens) or bcrypt (htpasswd): each entry is imported in a fresh Node process
 * whose module loader records every URL it resolves.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const src = path.join(repo, 'src');
const pkg = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as {
  exports: Record<string, string | { types: string; default: string }>;
  main: string;
  types: string;
};

/** Subpath ('.' or './images') → the src/ file it is compiled from ('index.ts', 'images.ts'). */
function entries(): Map<string, string> {
  const out = new Map<string, string>();
  for (const [sub, target] of Object.entries(pkg.exports)) {
    if (typeof target === 'string') continue; // ./package.json
    const m = /^\.\/dist\/([a-z-]+)\.js$/.exec(target.default);
    assert.ok(m, `${sub}: default ${target.default} is not a top-level dist/*.js entry`);
    assert.equal(target.types, `./dist/${m[1]}.d.ts`, `${sub}: types and default disagree`);
    assert.deepEqual(
      Object.keys(target),
      ['types', 'default'],
      `${sub}: "types" must come first (TypeScript reads conditions in order)`,
    );
    out.set(sub, `${m[1]}.ts`);
  }
  return out;
}

test('package.json exports the engine and one subpath per subsystem, each from its own top-level src/ entry', () => {
  const e = entries();
  assert.deepEqual([...e.keys()].sort(), ['.', './build', './containers', './images', './registry', './remote']);
  assert.equal(e.get('.'), 'index.ts');
  for (const [sub, file] of e) {
    if (sub !== '.') assert.equal(file, `${sub.slice(2)}.ts`, `${sub} must come from src/${sub.slice(2)}.ts`);
  }
  // The other way round: a top-level src/*.ts file is an entry, and every entry is exported.
  const topLevel = readdirSync(src).filter((n) => n.endsWith('.ts') && statSync(path.join(src, n)).isFile());
  assert.deepEqual(topLevel.sort(), [...e.values()].sort());
  assert.equal(pkg.main, 'dist/index.js');
  assert.equal(pkg.types, 'dist/index.d.ts');
});

/** The URLs Node resolves while importing `file` (through tsx, from the sources) in a fresh process. */
async function loadedBy(file: string): Promise<string[]> {
  const hook = `export async function resolve(s, c, next) { const r = await next(s, c); process.stderr.write('RESOLVED ' + r.url + '\\n'); return r; }`;
  const script = [
    "import { register } from 'node:module';",
    `register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)});`,
    `await import(${JSON.stringify(pathToFileURL(file).href)});`,
  ].join('\n');
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: repo,
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 60_000,
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const [status] = (await once(child, 'close')) as [number | null];
  assert.equal(status, 0, `importing ${file} failed: ${stderr}`);
  const urls = stderr.split('\n').flatMap((l) => (l.startsWith('RESOLVED ') ? [l.slice(9)] : []));
  // The entry itself (an entry of types only, like wharf/containers, loads nothing else).
  assert.ok(urls.includes(pathToFileURL(file).href), `the loader hook saw nothing of ${file}: ${stderr.slice(0, 500)}`);
  return urls;
}

// One fresh process per entry, all at once (each takes a second or so to start tsx).
const LIGHT = ['index.ts', 'images.ts', 'containers.ts', 'remote.ts'];
const loads = new Map([...LIGHT, 'registry.ts'].map((entry) => [entry, loadedBy(path.join(src, entry))]));
for (const p of loads.values()) p.catch(() => {}); // awaited (and reported) by the tests below

const HEAVY: Array<[string, RegExp]> = [
  ['the builder', /\/src\/build\//],
  ['the registry server', /\/src\/registry\//],
  ['jose', /\/node_modules\/jose\//],
  ['bcrypt', /\/node_modules\/bcryptjs\//],
  ['the CLI', /\/src\/cli\/|\/node_modules\/commander\//],
];

for (const entry of LIGHT) {
  test(`importing src/${entry} loads neither the builder, the registry server, jose nor bcrypt`, async () => {
    const urls = await loads.get(entry)!;
    const heavy = HEAVY.flatMap(([what, re]) => {
      const hit = urls.find((u) => re.test(u));
      return hit ? [`${what} (${hit})`] : [];
    });
    assert.deepEqual(heavy, []);
  });
}

test('the checker sees the heavy modules where they belong', async () => {
  // Guard against a hook that records nothing useful: the registry entry does load the server and jose.
  const urls = await loads.get('registry.ts')!;
  assert.ok(urls.some((u) => /\/src\/registry\/server\//.test(u)));
  assert.ok(urls.some((u) => /\/node_modules\/jose\//.test(u)));
});
