/**
 * `run`/`create`'s `--ip`, `--ip6`, `--link-local-ip`, `--network-alias` and `--link` on the predefined networks
 * (bridge, host, none) side by side with Docker (a private dockerd 20.10 with its own bridge, in a network namespace
 * of its own, and docker CLI 28): the same exit status and words, at the same stage (create or start). Then legacy
 * links with real runc: the linked container in /etc/hosts, resolvable by its alias, and HostConfig.Links.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ok } from '../helpers/cli.js';
import { sideBySide, type SideBySide } from '../helpers/dockerd.js';

let s: SideBySide;

before(async () => {
  s = await sideBySide('wharf-netflags-', { privateBridge: true });
  for (const cli of [s.wharf, s.docker]) {
    ok(
      await cli([
        'run',
        '-d',
        '--name',
        'tgt',
        '--expose',
        '80',
        '--expose',
        '53/udp',
        '-e',
        'FOO=bar',
        'busybox',
        'sleep',
        '300',
      ]),
      'run tgt',
    );
    ok(await cli(['create', '--name', 'stopped', 'busybox', 'true']), 'create stopped');
  }
});

after(async () => {
  await s?.docker(['rm', '-f', 'tgt']);
  await s?.stop();
});

/** Each case runs as one command line on both engines; a `create` case is followed by `start` of its container. */
const CASES: string[][] = [
  // dockerd's create-time checks: exit 1 (125 for run).
  ['create', '--ip', 'bad', 'busybox', 'true'],
  ['create', '--ip', '::1', 'busybox', 'true'],
  ['create', '--ip6', '1.2.3.4', 'busybox', 'true'],
  ['run', '--rm', '--ip6', 'x', 'busybox', 'true'],
  ['create', '--link', 'nope', 'busybox', 'true'],
  ['run', '--rm', '--link', 'nope:a', 'busybox', 'true'],
  ['create', '--network', 'host', '--link', 'tgt:a', 'busybox', 'true'],
  // The docker CLI's own: exit 125.
  ['create', '--network-alias', 'x', 'busybox', 'true'],
  ['run', '--rm', '--network', 'host', '--network-alias', 'x', 'busybox', 'true'],
  ['create', '--link', 'a:b:c', 'busybox', 'true'],
  // dockerd's start-time checks: create succeeds, start fails with 1; run fails with 125.
  ['create', '--name', 'ip4', '--ip', '172.17.0.50', 'busybox', 'true'],
  ['run', '--rm', '--ip', '172.17.0.50', 'busybox', 'true'],
  ['run', '--rm', '--network', 'none', '--ip', '10.1.2.3', 'busybox', 'true'],
  ['run', '--rm', '--network', 'host', '--ip', '10.1.2.3', 'busybox', 'true'],
  ['create', '--name', 'ip6', '--ip6', 'fd00::5', 'busybox', 'true'],
  ['run', '--rm', '--ip6', 'fd00::5', 'busybox', 'true'],
  ['create', '--name', 'llbad', '--link-local-ip', 'bad', 'busybox', 'true'],
  ['run', '--rm', '--link-local-ip', 'bad', '--link-local-ip', 'worse', 'busybox', 'true'],
  ['create', '--name', 'tostopped', '--link', 'stopped:a', 'busybox', 'true'],
  ['run', '--rm', '--name', 'runstopped', '--link', 'stopped:a', 'busybox', 'true'],
  // Accepted: a valid link-local address (ignored on these networks), a link on none.
  ['run', '--rm', '--link-local-ip', '169.254.1.1', 'busybox', 'true'],
  ['run', '--rm', '--network', 'none', '--link-local-ip', 'fe80::1', 'busybox', 'true'],
  ['run', '--rm', '--network', 'none', '--link', 'tgt:a', 'busybox', 'true'],
];

/**
 * Exit status and stderr, Docker's words as Wharf's. `run` compares the message only: `wharf run` frames every error
 * as `Error: MSG` where docker run writes `docker: [Error response from daemon: ]MSG` and its hint (verb-wide, not
 * these flags'). `start` strips the prefix too: a start's own failure is the daemon's on both sides, but what fails
 * in Wharf's start (it creates the network endpoint there) can be the CLI's in Docker.
 */
const norm = (r: { code: number; stderr: string }, verb: string): string => {
  let err = r.stderr.replaceAll('docker ', 'wharf ').replaceAll('docker:', 'wharf:');
  if (verb === 'run')
    err = err
      .replace(/^(wharf: |Error: )(Error response from daemon: )?/, '')
      .replace(/\n\nRun 'wharf run --help' for more information\n$/, '\n');
  if (verb === 'start') err = err.replace(/^(Error: |Error response from daemon: )/, '');
  return `exit ${r.code}\n${err.replace(/\b[0-9a-f]{64}\b/g, '<id>')}`;
};

test('--ip, --ip6, --link-local-ip, --network-alias, --link: refused as by Docker, in its words, at its stage', async () => {
  const differences: string[] = [];
  for (const argv of CASES) {
    const name = argv[0] === 'create' && argv[1] === '--name' ? argv[2] : undefined;
    const steps = name ? [argv, ['start', name]] : [argv];
    for (const step of steps) {
      const theirs = await s.docker(step);
      const ours = await s.wharf(step);
      const [a, b] = [norm(ours, step[0]!), norm(theirs, step[0]!)];
      if (a !== b) differences.push(`${step.join(' ')}:\n${a}--- docker\n${b}`);
    }
  }
  assert.deepEqual(differences, []);
});

/**
 * /etc/hosts with the addresses and generated IDs as placeholders, without Wharf's line for the container's own name
 * (bundle.ts: it resolves as on Docker's user-defined networks), as a sorted list of lines: dockerd keeps links in
 * a Go map, so the order of two links' lines differs from run to run.
 */
const hostsShape = (text: string): string =>
  text
    .replace(/^.*\tlk\n/m, '')
    .replace(/\b\d+\.\d+\.\d+\.\d+\b/g, '<ip>')
    .replace(/\b[0-9a-f]{12}\b/g, '<shortid>')
    .split('\n')
    .sort()
    .join('\n');

test('--link NAME:ALIAS on the bridge: /etc/hosts as Docker writes it, the alias resolves, HostConfig.Links', async () => {
  const argv = ['run', '--name', 'lk', '--link', 'tgt:a', '--link', 'tgt', 'busybox', 'cat', '/etc/hosts'];
  const ours = await s.wharf(argv);
  const theirs = await s.docker(argv);
  assert.equal(ours.code, 0, ours.stderr);
  assert.equal(theirs.code, 0, theirs.stderr);
  assert.equal(hostsShape(ours.stdout), hostsShape(theirs.stdout));
  const ip = (await s.wharf(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'tgt'])).stdout.trim();
  const tgtId = (await s.wharf(['inspect', '-f', '{{.Id}}', 'tgt'])).stdout.trim().slice(0, 12);
  assert.match(ours.stdout, new RegExp(`^${ip.replaceAll('.', '\\.')}\ta ${tgtId} tgt$`, 'm'));
  const links = ['inspect', '-f', '{{json .HostConfig.Links}}', 'lk'];
  // dockerd lists the links from a Go map, so in either order: compare them as a set.
  const sorted = (out: string): string[] => (JSON.parse(out) as string[]).sort();
  assert.deepEqual(sorted((await s.wharf(links)).stdout), sorted((await s.docker(links)).stdout));
  assert.equal((await s.wharf(links)).stdout.trim(), '["/tgt:/lk/a","/tgt:/lk/tgt"]');
  const ping = await s.wharf(['run', '--rm', '--link', 'tgt:db', 'busybox', 'busybox', 'ping', '-c1', '-W1', 'db']);
  assert.equal(ping.code, 0, ping.stdout + ping.stderr);
  assert.match(ping.stdout, new RegExp(`PING db \\(${ip.replaceAll('.', '\\.')}\\)`));
});

test("--link's environment: ALIAS_NAME, ALIAS_PORT… of the exposed ports, ALIAS_ENV_…, as Docker sets them", async () => {
  const argv = ['run', '--rm', '--name', 'envs', '--link', 'tgt:my-db', '-e', 'MY_DB_ENV_FOO=mine', 'busybox', 'env'];
  const vars = async (cli: SideBySide['wharf']): Promise<string> => {
    const r = await cli(argv);
    assert.equal(r.code, 0, r.stderr);
    const ip = /^MY_DB_PORT_80_TCP_ADDR=(.*)$/m.exec(r.stdout)?.[1] ?? '<none>';
    return r.stdout
      .split('\n')
      .filter((l) => l.startsWith('MY_DB_'))
      .map((l) => l.replaceAll(ip, '<ip>'))
      .sort()
      .join('\n');
  };
  const ours = await vars(s.wharf);
  assert.equal(ours, await vars(s.docker));
  // The lowest port is the default one, whatever its protocol.
  assert.match(ours, /^MY_DB_PORT=udp:\/\/<ip>:53$/m);
  assert.match(ours, /^MY_DB_ENV_FOO=mine$/m);
});
