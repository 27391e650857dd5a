/**
 * scripts/skip-policy.mjs (which skips may stay skipped under CI) and, end to end, scripts/run-tests.mjs failing a
 * CI run on a skip that test/skip-allowlist.json does not name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  allows,
  globToRegExp,
  judgeSkips,
  loadAllowList,
  parseAllowList,
  readSkips,
  strictSkips,
  type Skip,
} from '../../scripts/skip-policy.mjs';
import { REPO_ROOT } from './runner-fixture.js';
import { DOC_FILES } from '../helpers/doc-blocks.js';

const skip = (file: string, name: string, why: string | true): Skip => ({ file, test: name, skip: why });

test('strict skips under CI=true or WHARF_TEST_STRICT_SKIPS=1, and WHARF_TEST_STRICT_SKIPS=0 turns them off', () => {
  assert.equal(strictSkips({}), false);
  assert.equal(strictSkips({ CI: 'true' }), true);
  assert.equal(strictSkips({ CI: 'false' }), false);
  assert.equal(strictSkips({ WHARF_TEST_STRICT_SKIPS: '1' }), true);
  assert.equal(strictSkips({ CI: 'true', WHARF_TEST_STRICT_SKIPS: '0' }), false);
});

test('file globs: * stays within a directory, ** crosses them, the rest is literal', () => {
  assert.ok(globToRegExp('test/unit/**').test('test/unit/content/store.test.ts'));
  assert.ok(globToRegExp('test/*/a.test.ts').test('test/unit/a.test.ts'));
  assert.ok(!globToRegExp('test/*/a.test.ts').test('test/unit/x/a.test.ts'));
  assert.ok(!globToRegExp('test/a.test.ts').test('test/aXtest.ts'), 'a dot is a dot');
  assert.ok(!globToRegExp('test/unit/**').test('test/integration/x.test.ts'));
});

test('an allow-list entry must say why, and name the test or the skip message', () => {
  assert.throws(() => parseAllowList({}), /expected \{ "allowed"/);
  assert.throws(() => parseAllowList({ allowed: [{ test: 'x' }] }), /"why"/);
  assert.throws(() => parseAllowList({ allowed: [{ test: 'x', why: ' ' }] }), /"why"/);
  assert.throws(
    () => parseAllowList({ allowed: [{ file: 'test/**', why: 'all of it' }] }),
    /name the "test" or the "skip"/,
  );
  assert.throws(() => parseAllowList({ allowed: [{ test: 1, why: 'w' }] }), /"test" must be a string/);
  assert.equal(parseAllowList({ allowed: [{ skip: 'm', why: 'w' }] }).length, 1);
});

test('a skip is allowed only when every field of an entry matches it', () => {
  const list = parseAllowList({
    allowed: [
      { file: 'test/unit/**', skip: 'no resumable writers', why: 'backend without an ingester' },
      { test: 'talks to podman', why: 'podman cannot run containers here' },
    ],
  });
  const [byMessage, byName] = list as [NonNullable<(typeof list)[0]>, NonNullable<(typeof list)[1]>];
  assert.ok(allows(byMessage, skip('test/unit/content/mem.test.ts', 'resumes', 'no resumable writers')));
  assert.ok(!allows(byMessage, skip('test/integration/x.test.ts', 'resumes', 'no resumable writers')), 'another file');
  assert.ok(!allows(byMessage, skip('test/unit/a.test.ts', 'resumes', 'registry did not start')), 'another message');
  assert.ok(!allows(byMessage, skip('test/unit/a.test.ts', 'resumes', true)), 'a bare skip has no message');
  assert.ok(allows(byName, skip('test/integration/registry/podman.test.ts', 'talks to podman', true)));
  assert.ok(allows(byName, skip('test/x.test.ts', 'talks to podman', 'any reason')));
  assert.ok(!allows(byName, skip('test/x.test.ts', 'talks to podman too', true)));

  const { allowed, denied } = judgeSkips(
    [
      skip('test/unit/c.test.ts', 'resumes', 'no resumable writers'),
      skip(
        'test/integration/transfer/own-registry.test.ts',
        'Bearer tokens',
        "Wharf's registry server did not start: EADDRINUSE",
      ),
      skip('test/unit/d.test.ts', 'filtered out', 'test name does not match pattern'),
    ],
    list,
  );
  assert.deepEqual(
    allowed.map((s) => s.test),
    ['resumes'],
  );
  assert.deepEqual(
    denied.map((s) => s.test),
    ['Bearer tokens'],
    'what --test-name-pattern leaves out is neither',
  );
});

test('the reporter lines are read with files made relative to the repository', () => {
  const text = `${JSON.stringify({ file: path.join(REPO_ROOT, 'test', 'unit', 'a.test.ts'), test: 't', skip: true })}\n\n`;
  assert.deepEqual(readSkips(text, REPO_ROOT), [{ file: 'test/unit/a.test.ts', test: 't', skip: true }]);
});

test('every entry of test/skip-allowlist.json names a test or a skip message that the code still has', () => {
  const list = loadAllowList(path.join(REPO_ROOT, 'test', 'skip-allowlist.json'));
  assert.ok(list.length <= 10, 'the allow-list stays short');
  // The doc-example tests take their skip messages from `<!-- test: skip … -->` markers in the Markdown.
  const docs = DOC_FILES.map((f) => path.join(REPO_ROOT, f));
  // The runner's own tests name skip messages as fixtures: they do not keep an entry alive.
  const code = ['src', 'test']
    .flatMap((d) => tsFiles(path.join(REPO_ROOT, d)))
    .filter((f) => !/[/]test[/]unit[/]runner-/.test(f));
  const sources = [...code, ...docs].map((f) => readFileSync(f, 'utf8'));
  for (const e of list) {
    const needle = e.skip ?? e.test ?? '';
    assert.ok(
      sources.some((text) => text.includes(needle)),
      `stale allow-list entry: ${needle}`,
    );
  }
});

/** Every .ts file under `dir` (the shared suites may move between src/ and test/). */
function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}
