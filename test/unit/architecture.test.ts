/**
 * Enforces docs/architecture.md's import direction (and keeps that page's module table in this order): a module may import only modules above it in the table, plus the
 * stricter rules for `dockerfile/` (errors and the pure Go-duration file only), `registry/` (no engine) and `remote/`
 * (never `content/`). An ONLY entry is a module (`errors`) or one file of it (`util/duration.ts`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ORDER = [
  'errors',
  'util',
  'digest',
  'reference',
  'events',
  'oci',
  'dockerfile',
  'content',
  'meta',
  'archive',
  'snapshot',
  'image',
  'runtime',
  'network',
  'container',
  'build',
  'remote',
  'transfer',
  'registry',
  'engine',
  'api',
  'cli',
];
const ONLY: Record<string, string[]> = {
  // Pure: no I/O, so the parser can run anywhere (image/ applies `--change` lines with it).
  dockerfile: ['errors', 'util/duration.ts'],
  registry: ['errors', 'util', 'digest', 'reference', 'oci'],
};
const NEVER: Record<string, string[]> = { remote: ['content'] };

const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? files(p) : n.endsWith('.ts') ? [p] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const re =
    /(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm;
  const out: string[] = [];
  for (const m of text.matchAll(re)) out.push((m[1] ?? m[2] ?? m[3])!);
  return out.filter((s) => s.startsWith('.'));
}

test('every src/ module is listed in the architecture order', () => {
  const mods = readdirSync(src).filter((n) => statSync(path.join(src, n)).isDirectory());
  for (const m of mods) assert.ok(ORDER.includes(m), `src/${m}/ is not a module of docs/architecture.md`);
});

test('docs/architecture.md lists the modules in the enforced order', () => {
  const doc = readFileSync(path.join(src, '../docs/architecture.md'), 'utf8');
  const table = doc.slice(doc.indexOf('## Modules'), doc.indexOf('\n## ', doc.indexOf('## Modules') + 1));
  const listed = [...table.matchAll(/^\| `([a-z]+)\/` \|/gm)].map((m) => m[1]);
  assert.deepEqual(listed, ORDER, 'the module table of docs/architecture.md is not the order this test enforces');
});

test('imports point down the module table only', () => {
  const violations: string[] = [];
  for (const file of files(src)) {
    const rel = path.relative(src, file);
    const from = rel.split(path.sep)[0]!;
    if (!ORDER.includes(from)) continue; // the package entries (top-level src/*.ts) may import any module but cli/
    for (const spec of importsOf(file)) {
      const target = path.relative(src, path.resolve(path.dirname(file), spec));
      const to = target.split(path.sep)[0]!;
      const toFile = target.split(path.sep).join('/').replace(/\.js$/, '.ts');
      if (to === from || target.startsWith('..')) continue;
      if (!ORDER.includes(to)) {
        violations.push(`${rel} imports ${spec}, which is outside the module table`);
        continue;
      }
      if (ONLY[from] && !ONLY[from]!.includes(to) && !ONLY[from]!.includes(toFile))
        violations.push(`${rel}: ${from}/ may import only ${ONLY[from]!.join(', ')}, not ${to}/`);
      else if (NEVER[from]?.includes(to)) violations.push(`${rel}: ${from}/ must never import ${to}/`);
      else if (ORDER.indexOf(to) > ORDER.indexOf(from))
        violations.push(`${rel}: ${from}/ imports ${to}/, which is below it`);
    }
  }
  assert.deepEqual(violations, []);
});

test('the package entries (top-level src/*.ts, one per package.json export) never import the CLI', () => {
  const entries = readdirSync(src).filter((n) => n.endsWith('.ts') && statSync(path.join(src, n)).isFile());
  assert.ok(entries.includes('index.ts'));
  const violations = entries.flatMap((n) =>
    importsOf(path.join(src, n))
      .filter((spec) => !ORDER.includes(path.normalize(spec).split(path.sep)[0]!) || spec.startsWith('./cli/'))
      .map((spec) => `src/${n} imports ${spec}`),
  );
  assert.deepEqual(violations, []);
});

test('the checker itself catches an upward import', () => {
  // Guard against a regex that silently matches nothing.
  const sample = path.join(src, 'cli', 'main.ts');
  assert.ok(importsOf(sample).length > 0, 'import scanner found no imports in cli/main.ts');
});

test('no service interface has more than 12 members', async () => {
  // A service interface (one with methods) wider than 12 members is split, as containerd splits its content store;
  // records and option bags (only properties) are data shapes and may be as wide as Docker's JSON.
  const ts = (await import('typescript')).default;
  const wide: string[] = [];
  for (const file of files(src)) {
    const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (node: import('typescript').Node): void => {
      if (ts.isInterfaceDeclaration(node)) {
        const members = node.members.length;
        const hasMethods = node.members.some((m) => ts.isMethodSignature(m));
        if (hasMethods && members > 12)
          wide.push(`${path.relative(src, file)}: ${node.name.text} has ${members} members`);
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  assert.deepEqual(wide, []);
});
