/**
 * `.dockerignore` with Docker's semantics (moby/patternmatcher as used by docker 20.10): comments and blank lines
 * dropped, patterns cleaned and made relative (`/x` → `x`), `!` exceptions, `*` and `?` never cross `/`, `**` crosses
 * any number of directories, and a pattern that matches a parent directory matches everything below it. The last
 * matching pattern decides. Pure.
 */
import { WharfError } from '../errors/index.js';

export interface IgnorePattern {
  text: string;
  exclusion: boolean;
  regexp: RegExp;
  /** Number of path components, to match against the same number of leading components of a path. */
  dirs: number;
}

function cleanPath(p: string): string {
  const abs = p.startsWith('/');
  const out: string[] = [];
  for (const c of p.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!abs) out.push('..');
      continue;
    }
    out.push(c);
  }
  const s = out.join('/');
  return abs ? `/${s}` : s || '.';
}

/** The lines of a `.dockerignore` as Docker's ReadAll returns them (`!` kept on exceptions). */
export function parseDockerignore(text: string): string[] {
  const out: string[] = [];
  for (let line of text.split(/\r?\n/)) {
    if (line.startsWith('#')) continue;
    line = line.trim();
    if (line === '') continue;
    let invert = false;
    if (line.startsWith('!')) {
      invert = true;
      line = line.slice(1).trim();
    }
    if (line.length > 0) {
      line = cleanPath(line);
      if (line.length > 1 && line.startsWith('/')) line = line.slice(1);
    }
    out.push(invert ? `!${line}` : line);
  }
  return out;
}

function compile(pattern: string): RegExp {
  let re = '^';
  const chars = [...pattern];
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === '*') {
      if (chars[i + 1] === '*') {
        i++;
        if (chars[i + 1] === '/') i++;
        re += i + 1 >= chars.length ? '.*' : '(.*/)?';
      } else {
        re += '[^/]*';
      }
    } else if (ch === '?') {
      re += '[^/]';
    } else if (
      ch === '.' ||
      ch === '$' ||
      ch === '+' ||
      ch === '(' ||
      ch === ')' ||
      ch === '{' ||
      ch === '}' ||
      ch === '|' ||
      ch === '^'
    ) {
      re += `\\${ch}`;
    } else if (ch === '\\') {
      if (i + 1 < chars.length) re += `\\${chars[++i]}`;
      else re += '\\\\';
    } else if (ch === '[') {
      // A character class passes through as in Go's filepath.Match; `[^` and `[!` both negate.
      const end = chars.indexOf(']', i + 1);
      if (end < 0) {
        re += '\\[';
        continue;
      }
      let cls = chars.slice(i + 1, end).join('');
      if (cls.startsWith('!')) cls = `^${cls.slice(1)}`;
      re += `[${cls.replace(/\\(?!.)/g, '\\\\')}]`;
      i = end;
    } else {
      re += ch;
    }
  }
  try {
    return new RegExp(`${re}$`, 's');
  } catch {
    // A character class JavaScript cannot compile (`[z-a]`): moby/patternmatcher's "syntax error in pattern".
    throw new WharfError('INVALID_ARGUMENT', `.dockerignore: syntax error in pattern ${JSON.stringify(pattern)}`);
  }
}

export class IgnoreMatcher {
  readonly patterns: IgnorePattern[];

  constructor(lines: readonly string[]) {
    this.patterns = lines
      .map((l) => {
        const exclusion = l.startsWith('!');
        const text = exclusion ? l.slice(1) : l;
        return { text, exclusion, regexp: compile(text), dirs: text.split('/').length };
      })
      .filter((p) => p.text !== '');
  }

  static fromText(text: string): IgnoreMatcher {
    return new IgnoreMatcher(parseDockerignore(text));
  }

  get empty(): boolean {
    return this.patterns.length === 0;
  }

  get hasExceptions(): boolean {
    return this.patterns.some((p) => p.exclusion);
  }

  /** Whether `rel` (relative to the context, `/`-separated) is excluded. */
  matches(rel: string): boolean {
    const file = cleanPath(rel);
    const parentDirs = file.split('/').slice(0, -1);
    let matched = false;
    for (const p of this.patterns) {
      let m = p.regexp.test(file);
      if (!m && parentDirs.length > 0 && p.dirs <= parentDirs.length) {
        m = p.regexp.test(parentDirs.slice(0, p.dirs).join('/'));
      }
      if (m) matched = !p.exclusion;
    }
    return matched;
  }

  /**
   * Whether a walk must still enter the excluded directory `rel`: only when an exception pattern names something
   * below it (Docker's rule in TarWithOptions).
   */
  mustDescend(rel: string): boolean {
    const dirSlash = `${rel}/`;
    return this.patterns.some((p) => p.exclusion && `${p.text}/`.startsWith(dirSlash));
  }
}
