// Which skipped tests may stay skipped. Under CI=true a skip fails the run unless test/skip-allowlist.json names it,
// because a peer that did not start (a registry, dockerd) used to look like "skipped" and so like success.
// Pure logic: scripts/skip-reporter.mjs collects the skips, scripts/run-tests.mjs applies this to them.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

/** Skips that node:test makes itself when a run is filtered (--test-name-pattern, --test-only): never a failure. */
const RUNNER_FILTER_MESSAGES = new Set(['test name does not match pattern', "'only' option not set"]);

/** Whether a run enforces the allow-list: under CI, or when asked to (WHARF_TEST_STRICT_SKIPS=1). */
export function strictSkips(env) {
  if (env.WHARF_TEST_STRICT_SKIPS === '1') return true;
  if (env.WHARF_TEST_STRICT_SKIPS === '0') return false;
  return env.CI === 'true';
}

/** `*` matches within one path segment, `**` across segments; anything else literally. */
export function globToRegExp(glob) {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (c === '*') re += '[^/]*';
    else re += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/**
 * Checks an allow-list's shape: `{ allowed: [{ file?, test?, skip?, why }] }`. Every entry says why, and names the
 * test or the skip message (a file alone would allow every skip in it). Returns the entries with `file` compiled.
 */
export function parseAllowList(json) {
  if (!json || !Array.isArray(json.allowed)) throw new Error('skip allow-list: expected { "allowed": [ … ] }');
  return json.allowed.map((e, i) => {
    const where = `skip allow-list entry ${i}`;
    if (typeof e.why !== 'string' || e.why.trim() === '')
      throw new Error(`${where}: "why" must say why this skip is allowed`);
    if (e.test === undefined && e.skip === undefined)
      throw new Error(`${where}: name the "test" or the "skip" message`);
    for (const k of ['file', 'test', 'skip']) {
      if (e[k] !== undefined && typeof e[k] !== 'string') throw new Error(`${where}: "${k}" must be a string`);
    }
    return { ...e, fileRe: e.file === undefined ? undefined : globToRegExp(e.file) };
  });
}

export function loadAllowList(file) {
  return parseAllowList(JSON.parse(readFileSync(file, 'utf8')));
}

/** A skip's message as node:test gives it: the reason string, or '' for a bare skip. */
const messageOf = (skip) => (typeof skip === 'string' ? skip : '');

/** Whether `entry` allows the skip `s` ({ file (relative to the repository, with '/'), test, skip }). */
export function allows(entry, s) {
  if (entry.fileRe && !entry.fileRe.test(s.file)) return false;
  if (entry.test !== undefined && entry.test !== s.test) return false;
  if (entry.skip !== undefined && entry.skip !== messageOf(s.skip)) return false;
  return true;
}

/** Splits the run's skips into allowed and not allowed ones; skips from filtering the run count as neither. */
export function judgeSkips(skips, allowList) {
  const allowed = [];
  const denied = [];
  for (const s of skips) {
    if (RUNNER_FILTER_MESSAGES.has(messageOf(s.skip))) continue;
    (allowList.some((e) => allows(e, s)) ? allowed : denied).push(s);
  }
  return { allowed, denied };
}

/** Parses what scripts/skip-reporter.mjs wrote (one JSON object a line), with files made relative to `root`. */
export function readSkips(text, root) {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l))
    .map((s) => ({ ...s, file: s.file ? path.relative(root, s.file).split(path.sep).join('/') : '' }));
}

/** One line per skip, as the run's verdict prints it. */
export function describeSkip(s) {
  const why = messageOf(s.skip);
  return `${s.file}: ${JSON.stringify(s.test)}${why ? ` (${why})` : ''}`;
}
