import type { Heredoc, Node, ParseResult } from './ast.js';
import { DirectiveState, parseCheckDirective } from './directives.js';
import { DEFAULT_FILE_NAME, DockerfileError, locate, problem, type SourceRange, type Warning } from './errors.js';
import {
  parseHealthConfig,
  parseMaybeJSON,
  parseMaybeJSONToList,
  parseNameOrNameVal,
  parseNameVal,
  parseString,
  parseWhitespaceDelimited,
  splitCommand,
  type LineArgs,
} from './line-parsers.js';
import { ShellLex } from './shell-lex.js';

/**
 * Text → syntax tree. Handles directives, comments, line continuations (with the file's escape
 * character), empty continuation lines, heredocs and the exec/shell forms. Nothing is expanded
 * and instructions are not validated here: that is `parseInstructions`' job.
 */

export interface ParseOptions {
  /** Name used in messages (`Dockerfile:7: …`). */
  file?: string;
}

const HEREDOC_KEYWORDS = new Set(['run', 'copy', 'add']);
const HEREDOC = /^(\d*)<<(-?)([^<]*)$/;

function lineArgs(keyword: string, rest: string, escape: string): LineArgs {
  switch (keyword) {
    case 'add':
    case 'copy':
    case 'volume':
      return parseMaybeJSONToList(rest);
    case 'arg':
      return parseNameOrNameVal(rest, escape);
    case 'cmd':
    case 'entrypoint':
    case 'run':
    case 'shell':
      return parseMaybeJSON(rest);
    case 'env':
    case 'label':
      return parseNameVal(rest, keyword.toUpperCase(), escape);
    case 'expose':
    case 'from':
      return parseWhitespaceDelimited(rest);
    case 'healthcheck':
      return parseHealthConfig(rest);
    case 'maintainer':
    case 'stopsignal':
    case 'user':
    case 'workdir':
      return parseString(rest);
    default:
      // Unknown keyword: kept without arguments; parseInstructions reports it.
      return { args: [], json: false };
  }
}

function nodeFromLine(line: string, escape: string, range: SourceRange, comments: string[]): Node {
  const { keyword: rawKeyword, flags, rest } = splitCommand(line);
  const keyword = rawKeyword.toLowerCase();
  const node: Node = {
    keyword,
    rawKeyword,
    args: [],
    flags,
    json: false,
    legacyKeyValue: false,
    heredocs: [],
    original: line,
    range,
    comments,
  };
  if (keyword === 'onbuild') {
    if (rest !== '') node.trigger = nodeFromLine(rest, escape, range, []);
    return node;
  }
  const parsed = lineArgs(keyword, rest, escape);
  node.args = parsed.args;
  node.json = parsed.json;
  node.legacyKeyValue = !!parsed.legacyKeyValue;
  return node;
}

function canContainHeredoc(node: Node): boolean {
  const target = node.keyword === 'onbuild' && node.trigger ? node.trigger : node;
  return HEREDOC_KEYWORDS.has(target.keyword) && !target.json;
}

/** Recognises one word as a heredoc opener (`<<EOF`, `<<-'EOF'`, `3<<EOF`); null otherwise. */
export function parseHeredocWord(word: string): Omit<Heredoc, 'content'> | null {
  const m = HEREDOC.exec(word);
  if (!m) return null;
  const rest = m[3]!;
  if (rest === '') return null;
  const words = new ShellLex('\\', { skipUnsetEnv: true }).processWords(rest, {});
  if (words.length !== 1) return null;
  const raw = new ShellLex('\\', { skipUnsetEnv: true, rawQuotes: true }).processWords(rest, {});
  if (raw.length !== 1) throw problem(`internal lexing of heredoc produced inconsistent results: ${rest}`);
  const quotes = (s: string): number => (s.match(/['"]/g) ?? []).length;
  // A quote anywhere in the delimiter turns expansion off, as in sh.
  return {
    name: words[0]!,
    fileDescriptor: m[1] ? Number.parseInt(m[1], 10) : 0,
    expand: quotes(words[0]!) === quotes(raw[0]!),
    chomp: m[2] === '-',
  };
}

function heredocsInLine(line: string): Omit<Heredoc, 'content'>[] {
  let words: string[];
  try {
    words = new ShellLex('\\', { rawQuotes: true, rawEscapes: true, skipUnsetEnv: true }).processWords(line, {});
  } catch {
    // BuildKit ignores lines its lexer cannot split: they simply have no heredocs.
    return [];
  }
  const out: Omit<Heredoc, 'content'>[] = [];
  for (const w of words) {
    const h = parseHeredocWord(w);
    if (h) out.push(h);
  }
  return out;
}

/** Removes leading tabs from every line, as `<<-` asks. */
function chompHeredocContent(s: string): string {
  return s.replace(/^\t+/gm, '');
}

const isCommentLine = (raw: string): boolean => raw.replace(/\r$/, '').trimStart().startsWith('#');

/** Parses Dockerfile text into nodes. Throws DockerfileError on syntax errors. */
export function parseDockerfile(text: string, opts: ParseOptions = {}): ParseResult {
  const file = opts.file ?? DEFAULT_FILE_NAME;
  const d = new DirectiveState();
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length > 0) lines[0] = lines[0]!.replace(/^\uFEFF/, '');

  const nodes: Node[] = [];
  const warnings: Warning[] = [];
  let comments: string[] = [];
  let i = 0;
  let current = 0; // 1-based number of the last line consumed

  const processLine = (raw: string, stripLeft: boolean, lineNo: number): string => {
    let s = raw.replace(/\r$/, '');
    if (stripLeft) s = s.trimStart();
    try {
      d.consider(s);
    } catch (err) {
      locate(err, file, { start: lineNo, end: lineNo });
    }
    return s.startsWith('#') ? '' : s;
  };
  const trimContinuation = (s: string): [string, boolean] => {
    if (d.continuation.test(s)) return [s.replace(d.continuation, '$1'), false];
    return [s, true];
  };

  while (i < lines.length) {
    const raw = lines[i++]!;
    if (isCommentLine(raw)) comments.push(raw.trim().slice(1).trim());
    const first = processLine(raw, true, current + 1);
    current++;
    const start = current;
    let [line, isEnd] = trimContinuation(first);
    if (isEnd && line === '') continue;

    let emptyContinuation = false;
    while (!isEnd && i < lines.length) {
      const raw2 = lines[i++]!;
      const p = processLine(raw2, false, current + 1);
      current++;
      if (isCommentLine(raw2)) continue;
      if (p.trim() === '') {
        emptyContinuation = true;
        continue;
      }
      let cont: string;
      [cont, isEnd] = trimContinuation(p);
      line += cont;
    }

    let node: Node;
    try {
      node = nodeFromLine(line, d.escape, { start, end: current }, comments);
    } catch (err) {
      locate(err, file, { start, end: current });
    }
    if (emptyContinuation) {
      warnings.push({
        rule: 'NoEmptyContinuation',
        message: 'Empty continuation line (empty continuation lines will become errors in a future release)',
        range: { start, end: current },
      });
    }

    if (canContainHeredoc(node)) {
      let openers: Omit<Heredoc, 'content'>[];
      try {
        openers = heredocsInLine(line);
      } catch (err) {
        locate(err, file, { start, end: current });
      }
      for (const h of openers) {
        let content = '';
        let terminated = false;
        while (i < lines.length) {
          const body = lines[i++]!;
          current++;
          let candidate = body.replace(/\r$/, '');
          if (h.chomp) candidate = candidate.replace(/^\t+/, '');
          if (candidate === h.name) {
            terminated = true;
            break;
          }
          content += body + '\n';
        }
        if (!terminated) {
          throw new DockerfileError(
            `unterminated heredoc: no line ${JSON.stringify(h.name)} before the end of the file`,
            file,
            { start, end: current },
          );
        }
        const doc: Heredoc = { ...h, content: h.chomp ? chompHeredocContent(content) : content };
        node.heredocs.push(doc);
        if (node.trigger) node.trigger.heredocs.push(doc);
      }
    }

    node.range = { start, end: current };
    if (node.trigger) node.trigger.range = node.range;
    nodes.push(node);
    comments = [];
  }

  if (nodes.length === 0) throw new DockerfileError('file with no instructions', file, { start: 0, end: 0 });

  const check = parseCheckDirective(d.seen.check);
  return {
    file,
    nodes,
    escape: d.escape,
    directives: { ...d.seen },
    warnings: filterWarnings(warnings, check),
  };
}

/** Drops warnings the Dockerfile opted out of with `# check=skip=…`. */
export function filterWarnings(warnings: Warning[], check: { skip: string[]; skipAll: boolean }): Warning[] {
  if (check.skipAll) return [];
  if (check.skip.length === 0) return warnings;
  const skip = new Set(check.skip.map((s) => s.toLowerCase()));
  return warnings.filter((w) => !skip.has(w.rule.toLowerCase()));
}
