import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { FlagSyntaxError, fromCommander, normalizeArgv, type CommandDef } from '../../../src/cli/pflag.js';

/** A small program shaped like Wharf's: global flags, verbs with and without interspersed flags, a command group. */
function program(seen: Array<{ verb: string; args: unknown[]; opts: Record<string, unknown> }>): Command {
  const p = new Command('wharf')
    .option('--root <dir>', 'root', '/var/lib/wharf')
    .enablePositionalOptions()
    .exitOverride();
  const record = (verb: string) =>
    function (this: Command, ...a: unknown[]) {
      seen.push({ verb, args: a.slice(0, -2), opts: { ...this.opts() } });
    };
  const runLike = (c: Command) =>
    c
      .argument('<IMAGE>')
      .argument('[COMMAND...]')
      .option('-d, --detach', 'detach')
      .option('-i, --interactive', 'stdin')
      .option('-t, --tty', 'tty')
      .option('--rm', 'remove')
      .option('--privileged', 'privileged')
      .option('-e, --env <list>', 'env', (v: string, acc: string[]) => [...acc, v], [] as string[])
      .option('-p, --publish <list>', 'publish', (v: string, acc: string[]) => [...acc, v], [] as string[])
      .option('--name <string>', 'name')
      .passThroughOptions()
      .exitOverride()
      .action(record(c.name()));
  runLike(p.command('run'));
  p.command('commit')
    .argument('<CONTAINER>')
    .argument('[REPOSITORY[:TAG]]')
    .option('-a, --author <string>', 'author')
    .option('-m, --message <string>', 'message')
    .option('-c, --change <list>', 'change', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--no-pause', 'no pause')
    .exitOverride()
    .action(record('commit'));
  p.command('build')
    .argument('<context>')
    .option('-t, --tag <name>', 'tag', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--no-cache', 'no cache')
    .option('-q, --quiet', 'quiet')
    .exitOverride()
    .action(record('build'));
  p.command('images')
    .argument('[REPOSITORY[:TAG]]')
    .option('-a, --all', 'all')
    .option('-q, --quiet', 'quiet')
    .option('-H, --human [bool]', 'human', true)
    .exitOverride()
    .action(record('images'));
  const container = p.command('container');
  runLike(container.command('run'));
  container
    .command('rm')
    .argument('<CONTAINER...>')
    .option('-f, --force', 'force')
    .exitOverride()
    .action(record('container rm'));
  return p;
}

/** Normalize and parse `argv` as main.ts does; the verb, its arguments and its options as the action saw them. */
async function parse(argv: string[]): Promise<{ verb: string; args: unknown[]; opts: Record<string, unknown> }> {
  const seen: Array<{ verb: string; args: unknown[]; opts: Record<string, unknown> }> = [];
  const p = program(seen);
  const n = normalizeArgv(fromCommander(p), argv);
  p.hook('preAction', () => {
    for (const o of n.overrides) o.ref.setOptionValueWithSource(o.key, o.value, 'cli');
  });
  await p.parseAsync(n.argv, { from: 'user' });
  assert.equal(seen.length, 1, `one action for ${argv.join(' ')}`);
  return seen[0]!;
}

const cases: Array<[string, string[], { args?: unknown[]; opts?: Record<string, unknown> }]> = [
  [
    '-x=v',
    ['commit', '-m=add vim', '-a=shanla', 'c1', 'img'],
    { args: ['c1', 'img'], opts: { message: 'add vim', author: 'shanla' } },
  ],
  [
    '-xv',
    ['commit', '-maddvim', '-ashanla', 'c1'],
    { args: ['c1', undefined], opts: { message: 'addvim', author: 'shanla' } },
  ],
  ['-x v', ['commit', '-m', 'add vim', 'c1'], { opts: { message: 'add vim' } }],
  ['--flag=v', ['commit', '--message=a=b', 'c1'], { opts: { message: 'a=b' } }],
  ['--flag v', ['commit', '--message', 'msg', 'c1'], { opts: { message: 'msg' } }],
  ['--flag v where v starts with -', ['commit', '--message', '-x', 'c1'], { opts: { message: '-x' } }],
  ['-x v where v starts with -', ['commit', '-m', '--', 'c1'], { args: ['c1', undefined], opts: { message: '--' } }],
  ['--flag=-v', ['commit', '--message=-v', 'c1'], { opts: { message: '-v' } }],
  ['-x=-v', ['commit', '-m=-v', 'c1'], { opts: { message: '-v' } }],
  ['-x= (empty value)', ['commit', '--message=', 'c1'], { opts: { message: '' } }],
  ['-e=FOO=bar', ['run', '-e=FOO=bar', 'busybox'], { args: ['busybox', []], opts: { env: ['FOO=bar'] } }],
  ['-eFOO=bar', ['run', '-eFOO=bar', 'busybox'], { opts: { env: ['FOO=bar'] } }],
  [
    'repeated flags collect',
    ['run', '-e', 'A=1', '--env=B=2', '-eC=3', 'busybox'],
    { opts: { env: ['A=1', 'B=2', 'C=3'] } },
  ],
  ['repeated single-value flag: the last wins', ['commit', '-m', 'a', '-m', 'b', 'c1'], { opts: { message: 'b' } }],
  ['--bool=true', ['run', '--privileged=true', '--rm=true', 'busybox'], { opts: { privileged: true, rm: true } }],
  ['--bool=false', ['run', '--privileged=false', '--rm=false', 'busybox'], { opts: { privileged: false, rm: false } }],
  ['--bool=false then --bool', ['run', '--rm=false', '--rm', 'busybox'], { opts: { rm: true } }],
  ['--bool then --bool=0', ['run', '--rm', '--rm=0', 'busybox'], { opts: { rm: false } }],
  [
    'ParseBool spellings',
    ['run', '--rm=T', '-d=TRUE', '-i=1', '-t=True', 'busybox'],
    { opts: { rm: true, detach: true, interactive: true, tty: true } },
  ],
  [
    'ParseBool false spellings',
    ['run', '--rm=F', '-d=FALSE', '-i=0', '-t=f', 'busybox'],
    { opts: { rm: false, detach: false, interactive: false, tty: false } },
  ],
  ['-d=true', ['run', '-d=true', 'busybox'], { opts: { detach: true } }],
  ['--no-x=true', ['build', '--no-cache=true', '.'], { opts: { cache: false } }],
  ['--no-x=false', ['build', '--no-cache=false', '.'], { opts: { cache: true } }],
  ['--no-x', ['build', '--no-cache', '.'], { opts: { cache: false } }],
  [
    '-t="x" as the shell passes it',
    ['build', '-t=andrew/static_web:v1', '.'],
    { args: ['.'], opts: { tag: ['andrew/static_web:v1'] } },
  ],
  ['combined short booleans', ['run', '-itd', 'busybox'], { opts: { interactive: true, tty: true, detach: true } }],
  [
    'combined, last takes the next argument',
    ['run', '-itp', '80:80', 'busybox'],
    { opts: { interactive: true, tty: true, publish: ['80:80'] } },
  ],
  ['combined, last takes the rest', ['run', '-dp80:80', 'busybox'], { opts: { detach: true, publish: ['80:80'] } }],
  ['combined, last with =', ['run', '-de=A=1', 'busybox'], { opts: { detach: true, env: ['A=1'] } }],
  ['combined with a boolean =false', ['run', '-it=false', 'busybox'], { opts: { interactive: true, tty: false } }],
  [
    'run: the first positional ends the flags',
    ['run', '-d', 'busybox', 'ls', '-la', '--rm'],
    { args: ['busybox', ['ls', '-la', '--rm']], opts: { detach: true } },
  ],
  ['run: -- ends the flags', ['run', '--rm', '--', 'busybox', '-x'], { args: ['busybox', ['-x']], opts: { rm: true } }],
  [
    'run: a -- after the image is part of the command',
    ['run', 'busybox', '--', 'echo'],
    { args: ['busybox', ['--', 'echo']] },
  ],
  [
    'container run: the same',
    ['container', 'run', '-it=true', 'busybox', 'sh', '-c', 'x'],
    { args: ['busybox', ['sh', '-c', 'x']], opts: { interactive: true, tty: true } },
  ],
  ['commit: the first positional ends the flags', ['commit', 'c1', '-m'], { args: ['c1', '-m'] }],
  [
    'build: flags after the positional',
    ['build', '.', '-t', 'x', '--no-cache=1'],
    { args: ['.'], opts: { tag: ['x'], cache: false } },
  ],
  ['build: -- ends the flags', ['build', '-q', '--', '-dir'], { args: ['-dir'], opts: { quiet: true } }],
  ['container rm: interspersed', ['container', 'rm', 'a', '-f', 'b'], { args: [['a', 'b']], opts: { force: true } }],
  ['a lone - is an argument', ['build', '-'], { args: ['-'] }],
  ['[bool] option: -H=false', ['images', '-H=false'], { opts: { human: 'false' } }],
  [
    '[bool] option: --human does not take the next argument',
    ['images', '--human', 'busybox'],
    { args: ['busybox'], opts: { human: 'true' } },
  ],
  ['global flag before the verb', ['--root=/tmp/x', 'images', '-aq'], { opts: { all: true, quiet: true } }],
];

for (const [name, argv, want] of cases) {
  test(`pflag: ${name}: ${argv.join(' ')}`, async () => {
    const got = await parse(argv);
    if (want.args) assert.deepEqual(got.args, want.args);
    for (const [k, v] of Object.entries(want.opts ?? {})) assert.deepEqual(got.opts[k], v, k);
  });
}

test("pflag: a value ParseBool rejects is pflag's error", () => {
  const p = program([]);
  assert.throws(
    () => normalizeArgv(fromCommander(p), ['run', '--rm=yes', 'busybox']),
    (e: unknown) =>
      e instanceof FlagSyntaxError &&
      e.message === 'invalid argument "yes" for "--rm" flag: strconv.ParseBool: parsing "yes": invalid syntax',
  );
  assert.throws(
    () => normalizeArgv(fromCommander(p), ['run', '--detach=2', 'busybox']),
    /invalid argument "2" for "-d, --detach" flag/,
  );
});

/** pflag's messages (docker CLI 28 prints them, then the usage line, and exits 125). */
const flagErrors: Array<[string[], string]> = [
  [['-ax'], "unknown shorthand flag: 'x' in -x"],
  [['-xa'], "unknown shorthand flag: 'x' in -xa"],
  [['--bogus=1'], 'unknown flag: --bogus'],
  [['--bogus'], 'unknown flag: --bogus'],
  [['--filter'], 'flag needs an argument: --filter'],
  [['-f'], "flag needs an argument: 'f' in -f"],
  [['-af'], "flag needs an argument: 'f' in -f"],
  [
    ['--all=maybe'],
    'invalid argument "maybe" for "-a, --all" flag: strconv.ParseBool: parsing "maybe": invalid syntax',
  ],
  // pflag: `-a=` is -a and then the unknown shorthand `=`.
  [['-a='], "unknown shorthand flag: '=' in -="],
];

test("pflag: unknown flags and missing values fail with pflag's words, naming the command", () => {
  const def: CommandDef<string> = {
    ref: 'ps',
    interspersed: true,
    flags: [
      { short: 'a', long: 'all', kind: 'bool', key: 'all' },
      { short: 'f', long: 'filter', kind: 'value', key: 'filter' },
    ],
  };
  for (const [argv, message] of flagErrors) {
    assert.throws(
      () => normalizeArgv(def, argv),
      (e: unknown) => e instanceof FlagSyntaxError && e.message === message && e.command === 'ps',
      argv.join(' '),
    );
  }
  // Help is not the command's flag: it passes through for the help printer, `-h` only where the command has no -h.
  assert.deepEqual(normalizeArgv(def, ['-a', '--help', '-h']).argv, ['--all', '--help', '-h']);
  const withH: CommandDef<string> = { ...def, flags: [{ short: 'h', long: 'hostname', kind: 'value', key: 'h' }] };
  assert.deepEqual(normalizeArgv(withH, ['-h', 'x']).argv, ['--hostname=x']);
});

test('pflag: a boolean that commander cannot turn off becomes an override of that command only', () => {
  const def: CommandDef<string> = {
    ref: 'rm',
    interspersed: true,
    flags: [{ short: 'f', long: 'force', kind: 'bool', key: 'force' }],
  };
  assert.deepEqual(normalizeArgv(def, ['-f=false', 'a']), {
    argv: ['a'],
    overrides: [{ ref: 'rm', key: 'force', value: false }],
  });
  assert.deepEqual(normalizeArgv(def, ['-f=false', '-f', 'a']), { argv: ['--force', 'a'], overrides: [] });
});
