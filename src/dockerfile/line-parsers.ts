import { problem } from './errors.js';

/**
 * Per-keyword argument shapes. Each takes the text after the keyword and flags and returns the
 * argument list; nothing is expanded here (quotes survive where BuildKit keeps them, so the
 * expansion pass can give them meaning later).
 */
export interface LineArgs {
  args: string[];
  json: boolean;
  legacyKeyValue?: boolean;
}

const WHITESPACE_RUN = /[\t\v\f\r ]+/;
const isSpace = (ch: string): boolean => /^\s$/u.test(ch);

const none = (): LineArgs => ({ args: [], json: false });

/**
 * Splits on unquoted whitespace, keeping quotes and escapes in the words (they are removed when
 * the word is expanded). Used for ARG and the `k=v` form of ENV and LABEL.
 */
function parseWords(rest: string, escape: string): string[] {
  const words: string[] = [];
  const chars = Array.from(rest);
  type Phase = 'spaces' | 'word' | 'quote';
  let phase: Phase = 'spaces';
  let quote = '';
  let blankOK = false;
  let word = '';
  for (let pos = 0; pos <= chars.length; pos++) {
    const end = pos === chars.length;
    let ch = end ? '' : chars[pos]!;
    if (phase === 'spaces') {
      if (end) break;
      if (isSpace(ch)) continue;
      phase = 'word';
    }
    if (end) {
      if (blankOK || word.length > 0) words.push(word);
      break;
    }
    if (phase === 'word') {
      if (isSpace(ch)) {
        phase = 'spaces';
        if (blankOK || word.length > 0) words.push(word);
        word = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = 'quote';
      }
      if (ch === escape) {
        if (pos + 1 === chars.length) continue; // a lone escape at the end is dropped
        // Keep the escape and the escaped character together, even when it is a quote.
        word += ch;
        pos++;
        ch = chars[pos]!;
      }
      word += ch;
      continue;
    }
    // inside quotes
    if (ch === quote) phase = 'word';
    if (ch === escape && quote !== "'") {
      if (pos + 1 === chars.length) {
        phase = 'word';
        continue;
      }
      pos++;
      word += ch;
      ch = chars[pos]!;
    }
    word += ch;
  }
  return words;
}

const NOT_STRING_ARRAY = 'when using JSON array syntax, arrays must be comprised of strings only';

/** Parses `[...]` as a JSON string array; undefined when the text is not a JSON array at all. */
function parseJSONArray(rest: string): string[] | undefined {
  const trimmed = rest.trimStart();
  if (!trimmed.startsWith('[')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value)) return undefined;
  if (!value.every((v): v is string => typeof v === 'string')) throw problem(NOT_STRING_ARRAY);
  return value;
}

/** RUN, CMD, ENTRYPOINT, SHELL: a JSON array (exec form) or the whole text (shell form). */
export function parseMaybeJSON(rest: string): LineArgs {
  if (rest === '') return none();
  const json = parseJSONArray(rest);
  if (json) return { args: json, json: true };
  return { args: [rest], json: false };
}

/** ADD, COPY, VOLUME: a JSON array or whitespace-separated words (no quote handling). */
export function parseMaybeJSONToList(rest: string): LineArgs {
  const json = parseJSONArray(rest);
  if (json) return { args: json, json: true };
  return parseWhitespaceDelimited(rest);
}

/** FROM, EXPOSE: whitespace-separated words. */
export function parseWhitespaceDelimited(rest: string): LineArgs {
  if (rest === '') return none();
  return { args: rest.split(WHITESPACE_RUN), json: false };
}

/** MAINTAINER, STOPSIGNAL, USER, WORKDIR: the rest of the line as one argument. */
export function parseString(rest: string): LineArgs {
  if (rest === '') return none();
  return { args: [rest], json: false };
}

/** ARG: `name`, `name=value`, several per line. */
export function parseNameOrNameVal(rest: string, escape: string): LineArgs {
  return { args: parseWords(rest, escape), json: false };
}

/**
 * ENV and LABEL: `k=v k2=v2` or the legacy `k v` (everything after the first blank is the
 * value). Which one is decided by whether the first word contains `=`.
 */
export function parseNameVal(rest: string, keyword: string, escape: string): LineArgs {
  const words = parseWords(rest, escape);
  if (words.length === 0) return none();
  if (!words[0]!.includes('=')) {
    const m = /[\t\v\f\r ]+/.exec(rest);
    if (!m) throw problem(`${keyword} must have two arguments: a name and a value (got only ${JSON.stringify(rest)})`);
    return { args: [rest.slice(0, m.index), rest.slice(m.index + m[0].length)], json: false, legacyKeyValue: true };
  }
  const args: string[] = [];
  for (const word of words) {
    const i = word.indexOf('=');
    if (i < 0) throw problem(`Syntax error - can't find = in ${JSON.stringify(word)}. Must be of the form: name=value`);
    args.push(word.slice(0, i), word.slice(i + 1));
  }
  return { args, json: false };
}

/** HEALTHCHECK: the type word (`CMD`, `NONE`), then a RUN-like command. */
export function parseHealthConfig(rest: string): LineArgs {
  const m = /\s/.exec(rest);
  const sep = m ? m.index : rest.length;
  if (sep === 0) return none();
  const type = rest.slice(0, sep);
  const cmd = parseMaybeJSON(rest.slice(sep).trimStart());
  return { args: [type, ...cmd.args], json: cmd.json };
}

/**
 * Splits a logical line into keyword, `--flags` and the rest. Flags are the leading words that
 * start with `--`; a bare `--` ends them. Quotes and backslashes inside flags are removed.
 */
export function splitCommand(line: string): { keyword: string; flags: string[]; rest: string } {
  const trimmed = line.trim();
  const m = WHITESPACE_RUN.exec(trimmed);
  if (!m) return { keyword: trimmed, flags: [], rest: '' };
  const keyword = trimmed.slice(0, m.index);
  const { rest, flags } = extractFlags(trimmed.slice(m.index + m[0].length));
  return { keyword, flags, rest: rest.trim() };
}

function extractFlags(line: string): { rest: string; flags: string[] } {
  const flags: string[] = [];
  type Phase = 'spaces' | 'word' | 'quote';
  let phase: Phase = 'spaces';
  let word = '';
  let quote = '';
  let blankOK = false;
  for (let pos = 0; pos <= line.length; pos++) {
    const end = pos === line.length;
    let ch = end ? '' : line[pos]!;
    if (phase === 'spaces') {
      if (end) break;
      if (isSpace(ch)) continue;
      if (ch !== '-' || pos + 1 === line.length || line[pos + 1] !== '-') return { rest: line.slice(pos), flags };
      phase = 'word';
    }
    if (end) {
      if (word !== '--' && (blankOK || word.length > 0)) flags.push(word);
      break;
    }
    if (phase === 'word') {
      if (isSpace(ch)) {
        phase = 'spaces';
        if (word === '--') return { rest: line.slice(pos), flags };
        if (blankOK || word.length > 0) flags.push(word);
        word = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = 'quote';
        continue;
      }
      if (ch === '\\') {
        if (pos + 1 === line.length) continue;
        pos++;
        ch = line[pos]!;
      }
      word += ch;
      continue;
    }
    if (ch === quote) {
      phase = 'word';
      continue;
    }
    if (ch === '\\') {
      if (pos + 1 === line.length) {
        phase = 'word';
        continue;
      }
      pos++;
      ch = line[pos]!;
    }
    word += ch;
  }
  return { rest: '', flags };
}
