import { problem } from './errors.js';

/**
 * Shell-word processing the way Docker does it for Dockerfile instructions (a pure port of the
 * behaviour of BuildKit's `shell/lex.go`): quotes, the escape character and `$VAR` / `${VAR…}`
 * expansion. It never runs a shell: RUN/CMD/ENTRYPOINT text is left for the real shell.
 */

/** Variables visible to an expansion. Arrays use Docker's `KEY=value` form (later entries win). */
export type EnvSource = ReadonlyMap<string, string> | Readonly<Record<string, string>> | readonly string[];

export interface LexOptions {
  /** Keep quote characters in the output (used to detect quoted heredoc delimiters). */
  rawQuotes?: boolean;
  /** Keep escape characters in the output. */
  rawEscapes?: boolean;
  /** Leave `$NAME` / `${NAME…}` untouched when NAME is not set. */
  skipUnsetEnv?: boolean;
  /** Treat quotes as ordinary characters. */
  skipProcessQuotes?: boolean;
}

export interface ExpansionResult {
  /** The processed text as one string (spaces between words kept). */
  result: string;
  /** The processed text split into words after expansion; quoted parts never split. */
  words: string[];
  /** Names that were looked up and found (for cache keys). */
  matched: Set<string>;
  /** Names that were looked up and not set (for lint: possibly undefined variables). */
  unmatched: Set<string>;
}

const EOF = '';

function toMap(env: EnvSource): ReadonlyMap<string, string> {
  if (env instanceof Map) return env;
  if (Array.isArray(env)) {
    const m = new Map<string, string>();
    for (const e of env as readonly string[]) {
      const i = e.indexOf('=');
      if (i < 0) m.set(e, '');
      else m.set(e.slice(0, i), e.slice(i + 1));
    }
    return m;
  }
  return new Map(Object.entries(env as Record<string, string>));
}

const isSpace = (ch: string): boolean => /^\s$/u.test(ch);
const isLetter = (ch: string): boolean => /^\p{L}$/u.test(ch);
const isDigit = (ch: string): boolean => /^\p{Nd}$/u.test(ch);
// POSIX special parameters ($@, $*, $#, $?, $-, $$, $!, $0).
const isSpecialParam = (ch: string): boolean => '@*#?-$!0'.includes(ch) && ch !== '';

/** Accumulates the word list alongside the plain result; expanded text splits, quoted text does not. */
class WordCollector {
  private word = '';
  private inWord = false;
  readonly words: string[] = [];

  addChar(ch: string): void {
    if (isSpace(ch)) {
      if (this.inWord && this.word.length !== 0) {
        this.words.push(this.word);
        this.word = '';
        this.inWord = false;
      }
    } else {
      this.addRawChar(ch);
    }
  }

  addRawChar(ch: string): void {
    this.word += ch;
    this.inWord = true;
  }

  addString(s: string): void {
    for (const ch of s) this.addChar(ch);
  }

  addRawString(s: string): void {
    this.word += s;
    this.inWord = true;
  }

  finish(): string[] {
    if (this.word.length > 0) {
      this.words.push(this.word);
      this.word = '';
      this.inWord = false;
    }
    return this.words;
  }
}

/** One pass over one input string. */
class WordProcessor {
  private readonly chars: string[];
  private pos = 0;
  readonly matched = new Set<string>();
  readonly unmatched = new Set<string>();

  constructor(
    input: string,
    private readonly env: ReadonlyMap<string, string>,
    private readonly escape: string,
    private readonly opts: LexOptions,
    private rawEscapes: boolean,
  ) {
    this.chars = Array.from(input);
  }

  private peek(): string {
    return this.pos < this.chars.length ? this.chars[this.pos]! : EOF;
  }

  private next(): string {
    return this.pos < this.chars.length ? this.chars[this.pos++]! : EOF;
  }

  run(): { result: string; words: string[] } {
    return this.processStopOn(EOF, this.rawEscapes);
  }

  private processStopOn(stop: string, rawEscapes: boolean): { result: string; words: string[] } {
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      let result = '';
      const words = new WordCollector();
      while (this.peek() !== EOF) {
        const ch = this.peek();
        if (stop !== EOF && ch === stop) {
          this.next();
          return { result, words: words.finish() };
        }
        if (ch === '$') {
          const v = this.processDollar();
          result += v;
          words.addString(v);
          continue;
        }
        if (!this.opts.skipProcessQuotes && (ch === "'" || ch === '"')) {
          const v = ch === "'" ? this.processSingleQuote() : this.processDoubleQuote();
          result += v;
          words.addRawString(v);
          continue;
        }
        let c = this.next();
        if (c === this.escape) {
          if (this.rawEscapes) {
            words.addRawChar(c);
            result += c;
          }
          // The escape character escapes the next one; at the very end it is dropped.
          c = this.next();
          if (c === EOF) break;
          words.addRawChar(c);
        } else {
          words.addChar(c);
        }
        result += c;
      }
      if (stop !== EOF) {
        throw problem(`unexpected end of statement while looking for matching ${stop}`);
      }
      return { result, words: words.finish() };
    } finally {
      this.rawEscapes = saved;
    }
  }

  private processSingleQuote(): string {
    // Everything between single quotes is literal; a single quote cannot be escaped inside.
    let result = '';
    const open = this.next();
    if (this.opts.rawQuotes) result += open;
    for (;;) {
      const ch = this.next();
      if (ch === EOF) throw problem('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") {
        if (this.opts.rawQuotes) result += ch;
        return result;
      }
      result += ch;
    }
  }

  private processDoubleQuote(): string {
    // Like sh: only $, the escape character and " are special inside double quotes.
    let result = '';
    const open = this.next();
    if (this.opts.rawQuotes) result += open;
    for (;;) {
      const p = this.peek();
      if (p === EOF) throw problem('unexpected end of statement while looking for matching double-quote');
      if (p === '"') {
        const ch = this.next();
        if (this.opts.rawQuotes) result += ch;
        return result;
      }
      if (p === '$') {
        result += this.processDollar();
        continue;
      }
      let ch = this.next();
      if (ch === this.escape) {
        if (this.rawEscapes) result += ch;
        const n = this.peek();
        if (n === EOF) continue;
        if (n === '"' || n === '$' || n === this.escape) ch = this.next();
      }
      result += ch;
    }
  }

  private processName(): string {
    let name = '';
    while (this.peek() !== EOF) {
      const ch = this.peek();
      if (name.length === 0 && isDigit(ch)) {
        while (this.peek() !== EOF && isDigit(this.peek())) name += this.next();
        return name;
      }
      if (name.length === 0 && isSpecialParam(ch)) return this.next();
      if (!isLetter(ch) && !isDigit(ch) && ch !== '_') break;
      name += this.next();
    }
    return name;
  }

  private getEnv(name: string): { value: string; set: boolean } {
    const value = this.env.get(name);
    if (value === undefined) {
      this.unmatched.add(name);
      return { value: '', set: false };
    }
    this.matched.add(name);
    return { value, set: true };
  }

  private processDollar(): string {
    this.next(); // '$'
    if (this.peek() !== '{') {
      const name = this.processName();
      if (name === '') return '$';
      const { value, set } = this.getEnv(name);
      if (!set && this.opts.skipUnsetEnv) return '$' + name;
      return value;
    }
    this.next(); // '{'
    const first = this.peek();
    if (first === EOF) throw problem("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw problem('syntax error: bad substitution');
    const name = this.processName();
    let ch = this.next();
    let modifier = ch;
    let nullIsUnset = false;

    if (ch === EOF) throw problem("syntax error: missing '}'");
    if (ch === '}') {
      const { value, set } = this.getEnv(name);
      if (!set && this.opts.skipUnsetEnv) return '${' + name + '}';
      return value;
    }
    if (ch === ':') {
      nullIsUnset = true;
      ch = this.next();
      modifier += ch;
    }
    if (ch === '+' || ch === '-' || ch === '?' || ch === '#' || ch === '%') {
      const word = this.readUntilBrace(ch === '#' || ch === '%');
      const { value, set } = this.getEnv(name);
      if (!set && this.opts.skipUnsetEnv) return '${' + name + modifier + word + '}';
      const empty = !set || (nullIsUnset && value === '');
      switch (ch) {
        case '-':
          return empty ? word : value;
        case '+':
          return empty ? '' : word;
        case '?':
          if (!set) throw problem(`${name}: ${word || 'is not allowed to be unset'}`);
          if (nullIsUnset && value === '') throw problem(`${name}: ${word || 'is not allowed to be empty'}`);
          return value;
        default: {
          // ${V#p} / ${V%p} remove the shortest match; ${V##p} / ${V%%p} the longest.
          let pattern = word;
          let greedy = false;
          if (pattern.startsWith(ch)) {
            greedy = true;
            pattern = pattern.slice(1);
          }
          return ch === '%' ? trimSuffix(pattern, value, greedy) : trimPrefix(pattern, value, greedy);
        }
      }
    }
    if (ch === '/' && !nullIsUnset) {
      const all = this.peek() === '/';
      if (all) this.next();
      let pattern: string;
      try {
        pattern = this.processStopOn('/', true).result;
      } catch (err) {
        if (this.peek() === EOF) throw problem("syntax error: missing '/' in ${}");
        throw err;
      }
      const replacement = this.readUntilBrace(true);
      const { value, set } = this.getEnv(name);
      if (!set && this.opts.skipUnsetEnv) return '${' + name + '/' + pattern + '/' + replacement + '}';
      const re = shellPatternToRegExp(pattern, true, false, all);
      return value.replace(re, () => replacement);
    }
    throw problem(`unsupported modifier (${modifier}) in substitution`);
  }

  private readUntilBrace(rawEscapes: boolean): string {
    try {
      return this.processStopOn('}', rawEscapes).result;
    } catch (err) {
      if (this.peek() === EOF) throw problem("syntax error: missing '}'");
      throw err;
    }
  }
}

/**
 * Converts a shell wildcard pattern (`*`, `?`, backslash escapes; no bracket expressions) to a
 * regular expression, as `${V#pattern}` and friends need.
 */
function shellPatternToRegExp(pattern: string, greedy: boolean, anchored: boolean, global = false): RegExp {
  const chars = Array.from(pattern);
  let out = anchored ? '^' : '';
  for (let i = 0; i < chars.length; i++) {
    const tok = chars[i]!;
    if (tok === '*') out += greedy ? '.*' : '.*?';
    else if (tok === '?') out += '.';
    else if (tok === '\\') {
      const n = chars[i + 1];
      // `}` and `/` are escaped only to get them past the ${} parser.
      if (n === '}' || n === '/') continue;
      if (n !== '*' && n !== '?' && n !== '\\')
        throw problem(`invalid pattern (${pattern}) in substitution: invalid escape '\\${n ?? ''}'`);
      out += '\\' + n;
      i++;
    } else out += tok.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(out, global ? 'gu' : 'u');
}

function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const m = shellPatternToRegExp(pattern, greedy, true).exec(value);
  return m ? value.slice(m[0].length) : value;
}

// Reverses a pattern but keeps each escape before the character it escapes (a\*c -> c\*a).
function reversePattern(pattern: string): string {
  const rs = Array.from(pattern);
  const out: string[] = new Array<string>(rs.length);
  const last = rs.length - 1;
  for (let i = 0; i <= last; ) {
    const tok = rs[i]!;
    const o = last - i;
    if (tok === '\\' && i !== last) {
      out[o - 1] = tok;
      out[o] = rs[i + 1]!;
      i += 2;
    } else {
      out[o] = tok;
      i++;
    }
  }
  return out.join('');
}

const reverse = (s: string): string => Array.from(s).reverse().join('');

function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  // A regex cannot find the shortest rightmost match, so search the reversed text instead.
  return reverse(trimPrefix(reversePattern(pattern), reverse(value), greedy));
}

/**
 * A configured lexer. `escape` is the Dockerfile's escape character (`\` or, with
 * `# escape=\``, the backtick).
 */
export class ShellLex {
  constructor(
    readonly escape: string = '\\',
    readonly options: LexOptions = {},
  ) {}

  /** Full result: text, words, and which variables were used or missing. */
  process(word: string, env: EnvSource): ExpansionResult {
    const p = new WordProcessor(word, toMap(env), this.escape, this.options, !!this.options.rawEscapes);
    let out: { result: string; words: string[] };
    try {
      out = p.run();
    } catch (err) {
      if (err instanceof Error) throw problem(`failed to process ${JSON.stringify(word)}: ${err.message}`);
      throw err;
    }
    return { result: out.result, words: out.words, matched: p.matched, unmatched: p.unmatched };
  }

  processWord(word: string, env: EnvSource): string {
    return this.process(word, env).result;
  }

  processWords(word: string, env: EnvSource): string[] {
    return this.process(word, env).words;
  }
}

/** Expands one word (quotes removed, variables substituted); never splits. */
export function processWord(word: string, env: EnvSource, escape = '\\'): string {
  return new ShellLex(escape).processWord(word, env);
}

/** Expands then splits into words, for instructions that take lists (EXPOSE, …). */
export function processWords(word: string, env: EnvSource, escape = '\\'): string[] {
  return new ShellLex(escape).processWords(word, env);
}
