import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ShellLex, processWord, processWords } from '../../../src/dockerfile/index.js';
import { is } from '../../../src/errors/index.js';

const env: Record<string, string> = {
  PWD: '/home',
  KOKO: 'koko',
  EMPTY: '',
  SPACES: 'a  b',
  FILE: 'archive.tar.gz',
  PATHS: 'a:b:c',
  PORTS: '443 8080',
};

// input | expected; `!message` means processing must fail with a message containing `message`.
const wordTable = `
hello                     | hello
he'll'o                   | hello
he'llo                    | !matching single-quote
he\\'llo                  | he'llo
he\\\\'llo                | !matching single-quote
abc\\\\def                | abc\\def
"hello"                   | hello
"hel'lo"                  | hel'lo
'hel"lo'                  | hel"lo
"\\""                     | "
"\\$PWD"                  | $PWD
"a\\b"                    | a\\b
'$PWD'                    | $PWD
'a\\b'                    | a\\b
$PWD                      | /home
\${PWD}                   | /home
"$PWD"                    | /home
\\$PWD                    | $PWD
$PWD/sub                  | /home/sub
\${PWD}x                  | /homex
$PWDx                     |
$                         | $
a$                        | a$
$1                        |
$$                        |
\${KOKO:-default}         | koko
\${UNSET:-default}        | default
\${EMPTY:-default}        | default
\${EMPTY-default}         |
\${UNSET-default}         | default
\${KOKO:+alt}             | alt
\${EMPTY:+alt}            |
\${EMPTY+alt}             | alt
\${UNSET+alt}             |
\${UNSET:?}               | !UNSET: is not allowed to be unset
\${EMPTY:?}               | !EMPTY: is not allowed to be empty
\${EMPTY:?must be set}    | !EMPTY: must be set
\${UNSET?gone}            | !UNSET: gone
\${EMPTY?}                |
\${KOKO?oops}             | koko
\${UNSET:-$KOKO}          | koko
\${UNSET:-\${PWD}/x}      | /home/x
\${UNSET:-'quoted $x'}    | quoted $x
\${UNSET:-"a b"}          | a b
\${KOKO                   | !missing '}'
\${UNSET:-x               | !missing '}'
\${}                      | !bad substitution
\${:x}                    | !bad substitution
\${KOKO:=x}               | !unsupported modifier (:=)
\${FILE#*.}               | tar.gz
\${FILE##*.}              | gz
\${FILE%.*}               | archive.tar
\${FILE%%.*}              | archive
\${FILE#nomatch}          | archive.tar.gz
\${FILE#arch?ve.}         | tar.gz
\${FILE/tar/zip}          | archive.zip.gz
\${PATHS//:/-}            | a-b-c
\${PATHS/:/-}             | a-b:c
"\${KOKO}"'\${KOKO}'      | koko\${KOKO}
\\"a\\"                   | "a"
a\\ b                     | a b
\\\\                      | \\
trailing\\                | trailing
"unterminated             | !matching double-quote
\${KOKO}\${PWD}           | koko/home
$KOKO-$PWD                | koko-/home
"$EMPTY"                  |
ünïcode$KOKO              | ünïcodekoko
\${KOKO:-x}y              | kokoy
$SPACES                   | a  b
`;

function rows(table: string): [string, string][] {
  return table
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const i = l.lastIndexOf('|');
      return [l.slice(0, i).trim(), l.slice(i + 1).trim()];
    });
}

describe('processWord (escape \\)', () => {
  const table = rows(wordTable);
  test('table has enough rows', () => assert.ok(table.length >= 60, `${table.length} rows`));
  for (const [input, expected] of table) {
    test(`${input} → ${expected || '(empty)'}`, () => {
      if (expected.startsWith('!')) {
        assert.throws(
          () => processWord(input, env),
          (err: unknown) => is(err, 'INVALID_ARGUMENT') && err.message.includes(expected.slice(1)),
        );
      } else {
        assert.equal(processWord(input, env), expected);
      }
    });
  }
});

describe('processWord with the backtick escape', () => {
  const table: [string, string][] = [
    ['C:\\path\\to', 'C:\\path\\to'],
    ['`$PWD', '$PWD'],
    ['$PWD', '/home'],
    ['"a`"b"', 'a"b'],
    ['"a\\b"', 'a\\b'],
    ['a` b', 'a b'],
    ['x``', 'x`'],
  ];
  for (const [input, expected] of table) {
    test(`${input} → ${expected}`, () => assert.equal(processWord(input, env, '`'), expected));
  }
});

describe('processWords', () => {
  const table: [string, string[]][] = [
    ['a b c', ['a', 'b', 'c']],
    ['"a b" c', ['a b', 'c']],
    ["'a b'c d", ['a bc', 'd']],
    ['$SPACES', ['a', 'b']],
    ['"$SPACES"', ['a  b']],
    ['x$SPACES', ['xa', 'b']],
    ['  lead  trail  ', ['lead', 'trail']],
    ['a\\ b c', ['a b', 'c']],
    ['$EMPTY', []],
    ['', []],
    ['80/tcp $PORTS', ['80/tcp', '443', '8080']],
    ['${UNSET:-x y}', ['x', 'y']],
  ];
  for (const [input, expected] of table) {
    test(`${JSON.stringify(input)} → ${JSON.stringify(expected)}`, () =>
      assert.deepEqual(processWords(input, env), expected));
  }
});

describe('ShellLex.process', () => {
  test('reports matched and unmatched variables', () => {
    const r = new ShellLex().process('${A:-$B} $C "$D" \'$E\'', { B: 'x', D: 'd' });
    assert.equal(r.result, 'x  d $E');
    assert.deepEqual([...r.matched].sort(), ['B', 'D']);
    assert.deepEqual([...r.unmatched].sort(), ['A', 'C']);
  });

  test('accepts KEY=value lists and maps; later list entries win', () => {
    assert.equal(processWord('$A-$B', ['A=1', 'B=2', 'A=3']), '3-2');
    assert.equal(processWord('$A', new Map([['A', 'm']])), 'm');
    assert.equal(processWord('[$A]', ['A']), '[]');
  });

  test('skipUnsetEnv leaves unknown variables as written', () => {
    const lex = new ShellLex('\\', { skipUnsetEnv: true });
    assert.equal(lex.processWord('$X ${Y} ${Z:-d} $KOKO', env), '$X ${Y} ${Z:-d} koko');
  });

  test('rawQuotes and rawEscapes keep quoting characters', () => {
    const lex = new ShellLex('\\', { rawQuotes: true, rawEscapes: true });
    assert.equal(lex.processWord(`"a" 'b' \\c`, {}), `"a" 'b' \\c`);
  });

  test('skipProcessQuotes treats quotes as text but still expands', () => {
    const lex = new ShellLex('\\', { skipProcessQuotes: true });
    assert.equal(lex.processWord(`'$KOKO' "x"`, env), `'koko' "x"`);
  });

  test('errors name the input', () => {
    assert.throws(() => processWord('${X:?nope}', {}), /failed to process "\$\{X:\?nope\}": X: nope/);
  });
});
