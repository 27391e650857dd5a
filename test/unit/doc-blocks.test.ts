/** How the doc-example tests read Markdown: fenced blocks, their markers, and `console` blocks. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extractBlocks, parseConsole, squeezeSpace } from '../helpers/doc-blocks.js';

const LANGS = { sh: 'sh', console: 'console' } as const;

test('extractBlocks keeps the blocks of the wanted languages, with the marker on the line before', () => {
  const md = [
    '# Title', // 1
    '', // 2
    '<!-- test: skip needs Docker Hub -->', // 3
    '', // 4
    '```sh', // 5
    'wharf pull busybox', // 6
    '```', // 7
    '```ts', // 8
    'const x = 1;', // 9
    '```', // 10
    '<!-- test: expect hello -->', // 11
    '```console', // 12
    '$ echo hello', // 13
    'hello', // 14
    '```', // 15
    '```', // 16: a block without a language is not an example
    '$ not a command', // 17
    '```', // 18
    '```sh', // 19
    'true', // 20
    '```', // 21
  ].join('\n');
  const blocks = extractBlocks('doc.md', md, LANGS);
  assert.deepEqual(blocks, [
    { where: 'doc.md:5', lang: 'sh', code: 'wharf pull busybox', skip: 'needs Docker Hub' },
    { where: 'doc.md:12', lang: 'console', code: '$ echo hello\nhello', expect: 'hello' },
    { where: 'doc.md:19', lang: 'sh', code: 'true' },
  ]);
  assert.deepEqual(
    extractBlocks('doc.md', md, LANGS, { 'doc.md': 'waits for the rename' }).map((b) => b.skip),
    ['needs Docker Hub', 'waits for the rename', 'waits for the rename'],
  );
  assert.deepEqual(extractBlocks('doc.md', md, { constructor: 'x' } as Record<string, string>), []);
});

test('extractBlocks refuses an unknown marker and a marker without its text', () => {
  assert.throws(
    () => extractBlocks('d.md', '<!-- test: skipp x -->\n```sh\ntrue\n```', LANGS),
    /d\.md:1: unknown marker/,
  );
  assert.throws(() => extractBlocks('d.md', '<!-- test: skip -->\n```sh\ntrue\n```', LANGS), /needs its text/);
});

test('parseConsole splits a console block into commands and the output after each', () => {
  assert.deepEqual(parseConsole('$ wharf tag a b\n$ wharf search x\nNAME  STARS\nx     0\n$ echo a \\\n  b\na b'), [
    { command: 'wharf tag a b', expected: '' },
    { command: 'wharf search x', expected: 'NAME  STARS\nx     0\n' },
    { command: 'echo a \\\n  b', expected: 'a b\n' },
  ]);
  assert.throws(() => parseConsole('output first\n$ true'), /output before the first command/);
});

test('squeezeSpace compares modulo whitespace', () => {
  assert.equal(squeezeSpace('  NAME       STARS\n x \t 0 \n'), 'NAME STARS x 0');
});
