import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DockerfileError, dumpNodes, parseDockerfile } from '../../../src/dockerfile/index.js';

const dump = (text: string): string => dumpNodes(parseDockerfile(text).nodes);

describe('parser edge cases', () => {
  const table: [string, string, string][] = [
    ['tabs separate the keyword', 'FROM x\nRUN\techo a', '1 from "x"\n2 run "echo a"\n'],
    ['flags only before arguments', 'COPY a --chown=1 b', '1 copy "a" "--chown=1" "b"\n'],
    ['a single dash is not a flag', 'RUN -x', '1 run "-x"\n'],
    ['blank and whitespace-only lines are skipped', '\n  \nFROM x\n\t\nRUN y\n', '3 from "x"\n5 run "y"\n'],
    ['continuation at end of file (arguments are trimmed)', 'FROM x\nRUN a \\', '1 from "x"\n2 run "a"\n'],
    ['continuation of a line holding only the escape', 'RUN \\\n\\\n  b', '1-3 run "b"\n'],
    ['escaped escape does not continue', 'RUN a \\\\\nRUN b', '1 run "a \\\\\\\\"\n2 run "b"\n'],
    ['leading whitespace of the first line is trimmed', '   FROM x', '1 from "x"\n'],
    ['inline # is not a comment', 'RUN echo a # b', '1 run "echo a # b"\n'],
    ['LABEL words keep escapes for the expander', 'LABEL a=b\\ c', '1 label "a" "b\\\\ c"\n'],
    ['ARG keeps quotes for the expander', 'ARG A="x y"', '1 arg "A=\\"x y\\""\n'],
    ['JSON form never starts a heredoc', 'RUN ["cat", "<<EOF"]\nRUN x', '1 run json "cat" "<<EOF"\n2 run "x"\n'],
    ['<<< is not a heredoc', 'RUN cat <<<hi', '1 run "cat <<<hi"\n'],
    ['heredocs only on RUN, COPY, ADD', 'CMD cat <<EOF\nRUN x', '1 cmd "cat <<EOF"\n2 run "x"\n'],
    [
      'heredoc body keeps comments and blank lines; the terminator must match exactly',
      'RUN <<EOF\n# not a comment\n\nEOF \nEOF\nRUN after',
      '1-5 run "<<EOF"\n    <<EOF fd=0 expand "# not a comment\\n\\nEOF \\n"\n6 run "after"\n',
    ],
    [
      'heredoc starts after the whole continued line',
      'RUN cat <<EOF \\\n  > /out\nbody\nEOF',
      '1-4 run "cat <<EOF   > /out"\n    <<EOF fd=0 expand "body\\n"\n',
    ],
    [
      'CRLF bodies keep their \\r, terminators ignore it',
      'RUN <<EOF\r\na\r\nEOF\r\n',
      '1-3 run "<<EOF"\n    <<EOF fd=0 expand "a\\r\\n"\n',
    ],
  ];
  for (const [name, text, expected] of table) {
    test(name, () => assert.equal(dump(text), expected));
  }
});

describe('directives', () => {
  const table: [string, string, Record<string, string>, '\\' | '`'][] = [
    ['spaces and upper case are allowed', '#  ESCAPE = `\nFROM x', { escape: '`' }, '`'],
    ['a blank line ends the directives', '\n# escape=`\nFROM x', {}, '\\'],
    ['an unknown directive ends the directives', '# foo=bar\n# escape=`\nFROM x', {}, '\\'],
    ['an instruction ends the directives', 'FROM x\n# escape=`\nRUN y', {}, '\\'],
    [
      'syntax and check are recorded',
      '# syntax=docker/dockerfile:1\n# check=error=true\nFROM x',
      { syntax: 'docker/dockerfile:1', check: 'error=true' },
      '\\',
    ],
  ];
  for (const [name, text, directives, escape] of table) {
    test(name, () => {
      const r = parseDockerfile(text);
      assert.deepEqual(r.directives, directives);
      assert.equal(r.escape, escape);
    });
  }

  test('the backtick escape continues lines and leaves backslashes alone', () => {
    assert.equal(dump('# escape=`\nRUN a\\ `\n b'), '2-3 run "a\\\\  b"\n');
  });
});

describe('errors', () => {
  test('carry file, line range and reason', () => {
    try {
      parseDockerfile('FROM x\nRUN <<EOF\nnever\n', { file: 'sub/Dockerfile.dev' });
      assert.fail('expected an error');
    } catch (err) {
      assert.ok(err instanceof DockerfileError);
      assert.equal(err.file, 'sub/Dockerfile.dev');
      assert.deepEqual(err.range, { start: 2, end: 3 });
      assert.equal(err.reason, 'unterminated heredoc: no line "EOF" before the end of the file');
      assert.equal(err.message, 'sub/Dockerfile.dev:2: unterminated heredoc: no line "EOF" before the end of the file');
      assert.equal(err.code, 'INVALID_ARGUMENT');
      assert.deepEqual(err.details, { file: 'sub/Dockerfile.dev', line: 2, endLine: 3 });
    }
  });

  test('JSON errors point at the first line of a continued instruction', () => {
    assert.throws(
      () => parseDockerfile('FROM x\nCMD ["a", \\\n  2]'),
      /^DockerfileError: Dockerfile:2: when using JSON array syntax/,
    );
  });
});
