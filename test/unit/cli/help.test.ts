import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { commandHelp, flagUsages, groupHelp, rootHelp, wrap } from '../../../src/cli/help.js';
import { aliasesOfVerb, resolveCommand } from '../../../src/cli/command-tree.js';

/** docker CLI 28's own help texts, captured with `docker VERB --help` (80 columns, no terminal). */
const docker = (name: string): string =>
  readFileSync(new URL(`../../fixtures/docker-cli-28-help/${name}.txt`, import.meta.url), 'utf8').replaceAll(
    'docker ',
    'wharf ',
  );

const FORMAT =
  "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n" +
  "'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n" +
  "'TEMPLATE':         Print output using the given Go template.\n" +
  'Refer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates';

/** docker's `ps` flags as commander options, registered in a different order than pflag prints them. */
function program(): Command {
  const p = new Command('wharf').description('A daemonless container image engine');
  p.option('--root <dir>', 'Root directory', '/var/lib/wharf');
  p.command('ps')
    .description('List containers')
    .option('-q, --quiet', 'Only display container IDs')
    .option('-a, --all', 'Show all containers (default shows just running)')
    .option('-f, --filter <filter>', 'Filter output based on conditions provided')
    .option('--format <string>', FORMAT)
    .option('-n, --last <int>', 'Show n last created containers (includes all states)', '-1')
    .option('-l, --latest', 'Show the latest created container (includes all states)')
    .option('--no-trunc', "Don't truncate output")
    .option('-s, --size', 'Display total file sizes');
  p.command('pause').description('Pause all processes within one or more containers').argument('<CONTAINER...>');
  const image = p.command('image').description('Manage images');
  image.command('prune').description('Remove unused images').option('-a, --all', 'all');
  image.command('inspect').description('Display detailed information on one or more images');
  return p;
}

test("help: a verb's help is docker's, byte for byte, given the same flags (pflag columns, sorting, wrapping, defaults)", () => {
  const p = program();
  const ps = p.commands.find((c) => c.name() === 'ps')!;
  assert.equal(commandHelp(['ps'], ps, 79), docker('ps'));
  const pause = p.commands.find((c) => c.name() === 'pause')!;
  assert.equal(commandHelp(['pause'], pause, 79), docker('pause'));
});

test('help: a management path shows the path typed, with the same aliases', () => {
  const ps = program().commands.find((c) => c.name() === 'ps')!;
  const text = commandHelp(['container', 'ls'], ps, 79);
  assert.match(text, /^Usage: {2}wharf container ls \[OPTIONS\]\n/);
  assert.match(text, /\nAliases:\n {2}wharf container ls, wharf container list, wharf container ps, wharf ps\n/);
  assert.deepEqual(aliasesOfVerb('build'), ['image build', 'build', 'builder build']);
  assert.deepEqual(aliasesOfVerb('images'), ['image ls', 'image list', 'images']);
  assert.deepEqual(aliasesOfVerb('rmi'), ['image rm', 'image remove', 'rmi']);
  assert.deepEqual(aliasesOfVerb('search'), []);
});

test("help: a group lists the table's names of the verbs that exist, and its own commands", () => {
  const p = program();
  const image = p.commands.find((c) => c.name() === 'image')!;
  const text = groupHelp(['image'], image);
  assert.equal(
    text,
    'Usage:  wharf image COMMAND\n\nManage images\n\nCommands:\n' +
      '  inspect     Display detailed information on one or more images\n' +
      '  prune       Remove unused images\n\n' +
      "Run 'wharf image COMMAND --help' for more information on a command.\n",
  );
  // Against docker's own listing: the same layout once every handler exists.
  const full = docker('image');
  assert.match(full, /^Usage: {2}wharf image COMMAND\n\nManage images\n\nCommands:\n {2}build {7}Build/);
});

test('help: the program lists common, management and other commands apart, then global options', () => {
  const text = rootHelp(program(), 79);
  assert.equal(
    text,
    'Usage:  wharf [OPTIONS] COMMAND\n\nA daemonless container image engine\n\n' +
      'Common Commands:\n  ps          List containers\n\n' +
      'Management Commands:\n  image       Manage images\n\n' +
      'Commands:\n  pause       Pause all processes within one or more containers\n\n' +
      'Global Options:\n      --root dir   Root directory (default "/var/lib/wharf")\n\n' +
      "Run 'wharf COMMAND --help' for more information on a command.\n",
  );
});

test('help: pflag wraps with slop and falls back to a block below a narrow column', () => {
  assert.equal(wrap(10, 79, 'short'), 'short');
  assert.equal(wrap(60, 79, 'a b c'), '\n                a b c');
  const long = 'word '.repeat(30).trim();
  for (const line of wrap(24, 79, long).split('\n')) assert.ok(line.length <= 79);
  assert.equal(flagUsages([], 79), '');
});

test('command tree: management paths are rewritten to the verb that handles them, nothing else is', () => {
  const cases: Array<[string[], string[], string[], string | undefined]> = [
    [['container', 'ls', '-a'], ['ps', '-a'], ['container', 'ls'], 'ps'],
    [['container', 'ps'], ['ps'], ['container', 'ls'], 'ps'],
    [['container', 'list'], ['ps'], ['container', 'ls'], 'ps'],
    [['--root', '/r', 'image', 'list', '-q'], ['--root', '/r', 'images', '-q'], ['image', 'ls'], 'images'],
    [['image', 'remove', 'x'], ['rmi', 'x'], ['image', 'rm'], 'rmi'],
    [['container', 'remove', 'c'], ['rm', 'c'], ['container', 'rm'], 'rm'],
    [['image', 'build', '.'], ['build', '.'], ['image', 'build'], 'build'],
    [['builder', 'build', '.'], ['build', '.'], ['builder', 'build'], 'build'],
    [['system', 'events'], ['events'], ['system', 'events'], 'events'],
    // A group's own command, and an unknown one, stay for commander.
    [['container', 'prune', '-f'], ['container', 'prune', '-f'], ['container', 'prune'], 'container'],
    [['volume', 'list'], ['volume', 'list'], ['volume', 'ls'], 'volume'],
    [['container', 'nope'], ['container', 'nope'], ['container', 'nope'], 'container'],
    [['container', '--help'], ['container', '--help'], ['container'], 'container'],
    // Only the verb position is looked at.
    [['run', 'container', 'ls'], ['run', 'container', 'ls'], ['run'], 'run'],
    [['--log-level', 'debug', 'ps'], ['--log-level', 'debug', 'ps'], ['ps'], 'ps'],
    [[], [], [], undefined],
  ];
  for (const [argv, rewritten, path, verb] of cases) {
    assert.deepEqual(resolveCommand(argv), { argv: rewritten, path, verb }, argv.join(' '));
  }
});
