import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { DockerfileError, dumpNodes, parseDockerfile, typeInstructions } from '../../../src/dockerfile/index.js';
import { is } from '../../../src/errors/index.js';

/*
 * Golden files: testdata/<case>/Dockerfile must parse and type; `result` is the node dump plus
 * the warnings. testdata-negative/<case>/Dockerfile must fail with exactly the message in
 * `error`. Run with WHARF_UPDATE_GOLDEN=1 to rewrite the files after a deliberate change, then
 * review the diff.
 */
const here = path.dirname(fileURLToPath(import.meta.url));
const update = process.env.WHARF_UPDATE_GOLDEN === '1';

function render(text: string): string {
  const ast = parseDockerfile(text);
  const typed = typeInstructions(ast);
  let out = '';
  if (Object.keys(ast.directives).length > 0)
    out += `# directives ${JSON.stringify(ast.directives)} escape=${ast.escape}\n`;
  out += dumpNodes(ast.nodes);
  for (const w of typed.warnings) out += `# warning ${w.rule} line ${w.range.start}: ${w.message}\n`;
  return out;
}

const cases = (dir: string): string[] =>
  readdirSync(path.join(here, dir), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();

const positive = cases('testdata');
const negative = cases('testdata-negative');

test('golden corpus is large enough', () => {
  assert.ok(positive.length >= 25, `only ${positive.length} positive cases`);
  assert.ok(negative.length >= 15, `only ${negative.length} negative cases`);
});

for (const name of positive) {
  test(`parses testdata/${name}`, () => {
    const dir = path.join(here, 'testdata', name);
    const got = render(readFileSync(path.join(dir, 'Dockerfile'), 'utf8'));
    const resultFile = path.join(dir, 'result');
    if (update) writeFileSync(resultFile, got);
    assert.equal(got, readFileSync(resultFile, 'utf8'));
  });
}

for (const name of negative) {
  test(`rejects testdata-negative/${name}`, () => {
    const dir = path.join(here, 'testdata-negative', name);
    const text = readFileSync(path.join(dir, 'Dockerfile'), 'utf8');
    let caught: unknown;
    try {
      render(text);
    } catch (err) {
      caught = err;
    }
    assert.ok(caught instanceof DockerfileError, `expected a DockerfileError, got ${String(caught)}`);
    assert.ok(is(caught, 'INVALID_ARGUMENT'));
    const errorFile = path.join(dir, 'error');
    if (update) writeFileSync(errorFile, caught.message + '\n');
    assert.equal(caught.message, readFileSync(errorFile, 'utf8').trimEnd());
    assert.equal(caught.file, 'Dockerfile');
  });
}
