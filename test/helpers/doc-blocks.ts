/**
 * The fenced code blocks of README.md and docs/*.md, with their test markers: what the doc-example tests run.
 *
 * An HTML comment on the line before a fence (invisible on the rendered page) says more about the block:
 * - `<!-- test: expect TEXT -->`: the block's output must contain TEXT;
 * - `<!-- test: skip REASON -->`: the block cannot run in a test (it needs Docker Hub, a certificate…).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { REPO } from './cli.js';

export interface DocBlock<K extends string> {
  /** 'docs/library.md:42' (the line of the opening fence). */
  where: string;
  /** The block's kind, from its info string through the caller's table ('typescript' → 'ts'). */
  lang: K;
  code: string;
  skip?: string;
  expect?: string;
}

/** README.md and docs/*.md, relative to the repository. */
export const DOC_FILES: readonly string[] = [
  'README.md',
  ...readdirSync(path.join(REPO, 'docs'))
    .filter((n) => n.endsWith('.md'))
    .sort()
    .map((n) => `docs/${n}`),
];

/**
 * The blocks of one Markdown file whose info string is a key of `langs`. `pending` maps a file to the reason its
 * blocks wait for another change; a block's own skip marker wins over it.
 */
export function extractBlocks<K extends string>(
  file: string,
  text: string,
  langs: Record<string, K>,
  pending: Record<string, string> = {},
): DocBlock<K>[] {
  const lines = text.split('\n');
  const out: DocBlock<K>[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(```+|~~~+)\s*([\w-]*)/.exec(lines[i]!);
    if (!open) continue;
    const fence = open[2]!;
    let end = i + 1;
    while (end < lines.length && !lines[end]!.trimStart().startsWith(fence)) end++;
    const lang = Object.hasOwn(langs, open[3]!.toLowerCase()) ? langs[open[3]!.toLowerCase()] : undefined;
    if (lang) {
      let prev = i - 1;
      while (prev >= 0 && lines[prev]!.trim() === '') prev--;
      const marker = prev >= 0 ? /^<!--\s*test:\s*(\w+)\s*(.*?)\s*-->$/.exec(lines[prev]!.trim()) : null;
      if (marker) {
        assert.ok(
          marker[1] === 'skip' || marker[1] === 'expect',
          `${file}:${prev + 1}: unknown marker "test: ${marker[1]}" (skip or expect)`,
        );
        assert.ok(marker[2], `${file}:${prev + 1}: "test: ${marker[1]}" needs its text`);
      }
      const skip = marker?.[1] === 'skip' ? marker[2] : pending[file];
      const expect = marker?.[1] === 'expect' ? marker[2] : undefined;
      out.push({
        where: `${file}:${i + 1}`,
        lang,
        code: lines.slice(i + 1, end).join('\n'),
        ...(skip ? { skip } : {}),
        ...(expect ? { expect } : {}),
      });
    }
    i = end;
  }
  return out;
}

/** The blocks of every documentation file (DOC_FILES) whose info string is a key of `langs`. */
export function docBlocks<K extends string>(
  langs: Record<string, K>,
  pending: Record<string, string> = {},
): DocBlock<K>[] {
  return DOC_FILES.flatMap((f) => extractBlocks(f, readFileSync(path.join(REPO, f), 'utf8'), langs, pending));
}

/** One command of a `console` block and the output shown after it. */
export interface ConsoleStep {
  command: string;
  expected: string;
}

/**
 * A `console` block as commands and their outputs: a line starting with `$ ` is a command (a trailing `\` continues
 * it on the next line), the lines after it up to the next command are what it prints.
 */
export function parseConsole(code: string): ConsoleStep[] {
  const steps: ConsoleStep[] = [];
  const lines = code.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('$ ')) {
      let command = line.slice(2);
      while (command.endsWith('\\') && i + 1 < lines.length) command = `${command}\n${lines[++i]!}`;
      steps.push({ command, expected: '' });
    } else {
      const last = steps.at(-1);
      assert.ok(last || line.trim() === '', `output before the first command: ${JSON.stringify(line)}`);
      if (last) last.expected += `${line}\n`;
    }
  }
  return steps;
}

/** Text compared modulo whitespace: runs of blanks and line breaks count as one space. */
export function squeezeSpace(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}
