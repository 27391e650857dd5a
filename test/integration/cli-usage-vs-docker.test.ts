/**
 * Usage errors, help and command names side by side with docker CLI 28 (`docker` on PATH; none of these reach a
 * daemon, so none runs): the same words (docker → wharf), the same exit status.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tempRoot } from '../helpers/cli.js';

let t: Awaited<ReturnType<typeof tempRoot>>;
before(async () => {
  t = await tempRoot('wharf-usage-');
});
after(async () => t.cleanup());

/** docker CLI 28 with no daemon to talk to: only its argument handling runs. */
function docker(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync('docker', args, {
    encoding: 'utf8',
    env: { ...process.env, DOCKER_HOST: 'unix:///nonexistent/docker.sock' },
  });
  if (r.error) throw r.error;
  const asWharf = (s: string): string => s.replaceAll('docker ', 'wharf ').replaceAll('docker:', 'wharf:');
  return { code: r.status ?? 1, stdout: asWharf(r.stdout), stderr: asWharf(r.stderr) };
}

/** Command lines that fail before anything runs, in docker's words; each case's flags exist in both CLIs. */
const USAGE_ERRORS: string[][] = [
  ['run', '--foo', 'busybox'],
  ['run', '-z', 'busybox'],
  ['run', '-dz', 'busybox'],
  ['run', '--name'],
  ['run', '-e'],
  ['run', '-itp'],
  ['run', '-m', 'x', 'busybox'],
  ['run', '--rm=maybe', 'busybox'],
  ['run', '-d=yes', 'busybox'],
  ['run'],
  ['create'],
  ['ps', '-n'],
  ['ps', 'x'],
  ['ps', '--bogus'],
  ['container', 'ls', '--bogus'],
  ['container', 'list', '-n'],
  ['image', 'ls', '--bogus'],
  ['image', 'rm'],
  ['rmi'],
  ['tag', 'a'],
  ['tag', 'a', 'b', 'c'],
  ['commit', 'c1', '-m', 'x'],
  ['logout', 'a', 'b'],
  ['rename', 'a'],
  ['nope'],
  ['container', 'nope'],
  ['image', 'nope'],
  ['--bogus', 'ps'],
];

test("usage errors: the message, the usage line, the hint and the exit status are docker 28's", async () => {
  const differences: string[] = [];
  for (const argv of USAGE_ERRORS) {
    const want = docker(argv);
    const got = await t.cli(argv);
    // docker prints "SRun" after "requires at most" (a stray byte of its format string): compare the words.
    const theirs = want.stderr.replace('\nSRun ', '\nRun ');
    if (got.code !== want.code || got.stderr !== theirs || got.stdout !== '') {
      differences.push(
        `${argv.join(' ')}: exit ${got.code} (docker ${want.code})\n--- wharf\n${got.stderr}--- docker\n${theirs}`,
      );
    }
  }
  assert.deepEqual(differences, []);
});

test("help: the usage line and the aliases of every verb wharf has are docker's", async () => {
  const fixture = JSON.parse(
    readFileSync(new URL('../fixtures/docker-cli-28-flags.json', import.meta.url), 'utf8'),
  ) as { verbs: Record<string, unknown> };
  const differences: string[] = [];
  for (const verb of Object.keys(fixture.verbs)) {
    const argv = [...verb.split(' '), '--help'];
    const got = await t.cli(argv);
    if (got.code !== 0 && /unknown command/.test(got.stderr)) continue; // a verb another branch adds
    // The first usage line and the aliases (descriptions are Wharf's own words).
    const head = (s: string): string => [s.split('\n')[0], /\nAliases:\n[^\n]*\n/.exec(s)?.[0] ?? ''].join('\n');
    const want = docker(argv);
    if (got.code !== 0 || head(got.stdout) !== head(want.stdout)) {
      differences.push(`${verb}:\n--- wharf\n${head(got.stdout)}--- docker\n${head(want.stdout)}`);
    }
  }
  assert.deepEqual(differences, []);
});

test('help: management paths and aliases name the same verb, and show the path typed', async () => {
  for (const [typed, canonical] of [
    [['container', 'ps'], 'container ls'],
    [['container', 'list'], 'container ls'],
    [['image', 'list'], 'image ls'],
    [['image', 'remove'], 'image rm'],
    [['images'], 'images'],
  ] as const) {
    const got = await t.cli([...typed, '--help']);
    const want = docker([...typed, '--help']);
    assert.equal(got.code, 0);
    assert.equal(got.stdout.split('\n')[0], want.stdout.split('\n')[0], typed.join(' '));
    assert.match(got.stdout.split('\n')[0]!, new RegExp(`^Usage: {2}wharf ${canonical} `));
  }
  // A group alone, `help VERB` and `-h` print help and exit 0, as docker does.
  for (const argv of [['container'], ['help', 'ps'], ['ps', '-h'], ['--help'], []]) {
    const got = await t.cli(argv);
    assert.equal(got.code, 0, argv.join(' '));
    assert.match(got.stdout, /^Usage: {2}wharf /, argv.join(' '));
  }
  const groups = docker(['container', '--help']);
  const ours = await t.cli(['container', '--help']);
  assert.equal(ours.stdout.split('\n')[0], groups.stdout.split('\n')[0]);
  assert.match(ours.stdout, /\n {2}ls {10}List containers\n/);
});

test('management paths run the verb: image ls is images, container ls is ps', async () => {
  for (const [a, b] of [
    [['images'], ['image', 'ls']],
    [['images'], ['image', 'list']],
    [
      ['ps', '-a'],
      ['container', 'ls', '-a'],
    ],
    [
      ['ps', '-a'],
      ['container', 'ps', '-a'],
    ],
    [
      ['volume', 'ls'],
      ['volume', 'list'],
    ],
    [
      ['system', 'df'],
      ['system', 'df'],
    ],
  ]) {
    const x = await t.cli(a!);
    const y = await t.cli(b!);
    assert.equal(x.code, 0, x.stderr);
    assert.deepEqual(y, x, b!.join(' '));
  }
});

test('the checked-in list of docker CLI 28 flags is what the local docker CLI prints', () => {
  const r = spawnSync('node', ['scripts/docker-cli-flags.mjs', '--check'], {
    cwd: new URL('../..', import.meta.url).pathname,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
});
