import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IgnoreMatcher, parseDockerignore } from '../../../src/build/dockerignore.js';

test('parseDockerignore: comments, blanks, cleaning, leading slash, exceptions', () => {
  assert.deepEqual(parseDockerignore('# comment\n\n  .git  \n/build/\n!./keep\n a/../b\n! /x/\n'), [
    '.git',
    'build',
    '!keep',
    'b',
    '!x',
  ]);
});

// Cases after moby/patternmatcher's tests (Matches over docker 20.10's fileutils).
const cases: Array<[string[], string, boolean]> = [
  [['.git'], '.git', true],
  [['.git'], '.git/HEAD', true],
  [['.git'], 'sub/.git', false],
  [['*.log'], 'a.log', true],
  [['*.log'], 'dir/a.log', false],
  [['**/*.log'], 'dir/sub/a.log', true],
  [['**/*.log'], 'a.log', true],
  [['dir/**'], 'dir/a/b', true],
  [['dir/**'], 'dir', false],
  [['**'], 'anything/at/all', true],
  [['a?c'], 'abc', true],
  [['a?c'], 'a/c', false],
  [['[a-c]x'], 'bx', true],
  [['[!a-c]x'], 'bx', false],
  [['[^a-c]x'], 'dx', true],
  [['*', '!keep'], 'keep', false],
  [['*', '!keep'], 'other', true],
  [['!keep', '*'], 'keep', true],
  [['docs', '!docs/README.md'], 'docs/README.md', false],
  [['docs', '!docs/README.md'], 'docs/other.md', true],
  [['a.b'], 'axb', false],
  [['dir/*/x'], 'dir/a/x', true],
  [['dir/*/x'], 'dir/a/b/x', false],
  [['dir/**/x'], 'dir/a/b/x', true],
  [['dir/**/x'], 'dir/x', true],
  [['\\*'], '*', true],
  [['\\*'], 'a', false],
];

for (const [patterns, file, want] of cases) {
  test(`${JSON.stringify(patterns)} ${want ? 'excludes' : 'keeps'} ${file}`, () => {
    assert.equal(new IgnoreMatcher(patterns).matches(file), want);
  });
}

test('mustDescend: only an exception below an excluded directory makes a walk enter it', () => {
  const m = new IgnoreMatcher(['docs', '!docs/README.md', 'other']);
  assert.equal(m.hasExceptions, true);
  assert.equal(m.mustDescend('docs'), true);
  assert.equal(m.mustDescend('other'), false);
  assert.equal(new IgnoreMatcher(['x']).hasExceptions, false);
});

test('a character class JavaScript cannot compile is a clear error, not a SyntaxError (found by test/fuzz)', () => {
  assert.throws(() => IgnoreMatcher.fromText('[*-!]\n'), {
    code: 'INVALID_ARGUMENT',
    message: /syntax error in pattern "\[\*-!\]"/,
  });
  assert.throws(() => new IgnoreMatcher(['a/[z-a]']), { code: 'INVALID_ARGUMENT' });
});
