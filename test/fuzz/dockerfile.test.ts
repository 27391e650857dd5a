/**
 * Fuzzing of Dockerfiles and .dockerignore (issue 17): the parser, the typed instructions and the ignore matcher meet
 * arbitrary text and throw only WharfErrors (DockerfileError is one); a .dockerignore never fails to parse.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseDockerfile, parseInstructions } from '../../src/dockerfile/index.js';
import { IgnoreMatcher, parseDockerignore } from '../../src/build/dockerignore.js';
import { budget, onlyWharfErrors, textFrom } from './budget.js';

const KEYWORDS = [
  'FROM',
  'RUN',
  'COPY',
  'ADD',
  'ENV',
  'ARG',
  'LABEL',
  'WORKDIR',
  'USER',
  'VOLUME',
  'EXPOSE',
  'CMD',
  'ENTRYPOINT',
  'HEALTHCHECK',
  'SHELL',
  'ONBUILD',
  'STOPSIGNAL',
  'MAINTAINER',
];
const WORDS = [
  ...KEYWORDS,
  '#',
  '# syntax=docker/dockerfile:1',
  '# escape=`',
  '# check=skip=all',
  '\\',
  '`',
  '\n',
  ' ',
  '\t',
  '"',
  "'",
  '[',
  ']',
  ',',
  '$',
  '${A:-b}',
  '${',
  '}',
  '<<EOF',
  '<<-"X"',
  'EOF',
  'X',
  'AS',
  'base',
  '--from=0',
  '--mount=type=cache,target=/x',
  '--chown=1:1',
  '--platform=$BUILDPLATFORM',
  '--interval=1s',
  'NONE',
  '=',
  'a',
  '/',
];

/** Dockerfile-shaped text: keywords, flags, quotes, escapes and heredocs in random order, or anything. */
const dockerfile = fc.oneof(
  fc.array(fc.constantFrom(...WORDS), { maxLength: 80 }).map((w) => w.join(' ')),
  fc
    .array(fc.tuple(fc.constantFrom(...KEYWORDS), fc.array(fc.constantFrom(...WORDS), { maxLength: 8 })), {
      maxLength: 12,
    })
    .map((lines) => ['FROM busybox', ...lines.map(([k, a]) => `${k} ${a.join(' ')}`)].join('\n')),
  textFrom('FROMRUN \n\\`"\'$[]{}<-=#', 400),
);

test('Dockerfile parser and instruction typing throw only WharfErrors', () => {
  fc.assert(
    fc.property(dockerfile, (text) => {
      onlyWharfErrors(() => parseDockerfile(text));
      onlyWharfErrors(() => parseInstructions(text));
    }),
    budget(1500),
  );
});

test('.dockerignore: any text parses, and its matcher answers for any path', () => {
  fc.assert(
    fc.property(textFrom('*?![]\\/.-a^\n#', 200), textFrom('abc/.*[]\\', 60), (text, p) => {
      const patterns = onlyWharfErrors(() => parseDockerignore(text));
      if (!Array.isArray(patterns)) return;
      const m = onlyWharfErrors(() => new IgnoreMatcher(patterns));
      if (m instanceof IgnoreMatcher) {
        const r = onlyWharfErrors(() => m.matches(p));
        assert.ok(typeof r === 'boolean' || r instanceof Error);
      }
    }),
    budget(1500),
  );
});
