/**
 * User-defined networks side by side with Docker (a private dockerd with its own bridge and iptables, in a network
 * namespace of its own, and docker CLI 28): the same steps give the same `network ls` rows, the same `network inspect`
 * keys, the same errors and exit codes, and the same reachability matrix (by name, alias, short ID and address, across
 * networks, before and after connect/disconnect of a running container).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ok, type CliResult } from '../../helpers/cli.js';
import { sideBySide, type SideBySide } from '../../helpers/dockerd.js';

let s: SideBySide;
type Cli = (args: string[]) => Promise<CliResult>;
const ids: Record<'wharf' | 'docker', Record<string, string>> = { wharf: {}, docker: {} };

before(async () => {
  s = await sideBySide('wharf-netsbs-', { privateBridge: true, iptables: true });
  for (const [who, cli] of [
    ['wharf', s.wharf],
    ['docker', s.docker],
  ] as const) {
    ok(await cli(['network', 'create', '--label', 'team=a', 'sbs-a']), `${who} create a`);
    ok(await cli(['network', 'create', 'sbs-b']), `${who} create b`);
    const run = async (name: string, net: string, ...extra: string[]) => {
      ids[who][name] = ok(
        await cli(['run', '-d', '--name', name, '--network', net, ...extra, 'busybox', 'sleep', '300']),
        `${who} run ${name}`,
      ).stdout.trim();
    };
    await run('p1', 'sbs-a', '--network-alias', 'pa');
    await run('p2', 'sbs-a');
    await run('p3', 'sbs-b');
  }
});

after(async () => {
  for (const cli of [s?.wharf, s?.docker]) {
    if (!cli) continue;
    await cli(['rm', '-f', 'p1', 'p2', 'p3']);
    await cli(['network', 'rm', 'sbs-a', 'sbs-b']);
  }
  await s?.stop();
});

const both = async (args: string[]) => ({ wharf: await s.wharf(args), docker: await s.docker(args) });

test('network ls lists the predefined networks and the new ones as docker does', async () => {
  const r = await both(['network', 'ls', '--format', '{{.Name}}\t{{.Driver}}\t{{.Scope}}']);
  assert.equal(r.wharf.stdout, r.docker.stdout);
  const custom = await both([
    'network',
    'ls',
    '-f',
    'type=custom',
    '-f',
    'label=team=a',
    '--format',
    '{{.Name}} {{.IPv6}}',
  ]);
  assert.equal(custom.wharf.stdout, 'sbs-a false\n');
  assert.equal(custom.wharf.stdout, custom.docker.stdout);
  const header = await both(['network', 'ls']);
  assert.equal(header.wharf.stdout.split('\n')[0], header.docker.stdout.split('\n')[0]);
});

/** An object's keys, nested ones as `a.b`, array elements as `a[]`. */
function keys(v: unknown, prefix = ''): string[] {
  if (Array.isArray(v)) return v.length ? keys(v[0], `${prefix}[]`) : [];
  if (v === null || typeof v !== 'object') return [prefix];
  return Object.entries(v).flatMap(([k, x]) => [
    `${prefix}${prefix ? '.' : ''}${k}`,
    ...keys(x, `${prefix}${prefix ? '.' : ''}${k}`),
  ]);
}

test("network inspect has docker's keys (a user network with a container, and the default bridge)", async () => {
  for (const net of ['sbs-a', 'bridge']) {
    const r = await both(['network', 'inspect', net]);
    const mask = (k: string[]) =>
      k
        // EnableIPv4 is docker 28's; the private dockerd is older. Container IDs differ by engine.
        .filter((x) => !x.startsWith('EnableIPv4'))
        .map((x) => x.replace(/[0-9a-f]{64}/, 'ID'))
        .filter((x, i, a) => a.indexOf(x) === i)
        .sort();
    const w = JSON.parse(r.wharf.stdout) as unknown[];
    const d = JSON.parse(r.docker.stdout) as unknown[];
    assert.deepEqual(
      mask(keys(w[0])).filter((k) => !k.startsWith('Options.')),
      mask(keys(d[0])).filter((k) => !k.startsWith('Options.')),
      net,
    );
  }
  const labels = await both(['network', 'inspect', '-f', '{{json .Labels}} {{.Driver}} {{.Internal}}', 'sbs-a']);
  assert.equal(labels.wharf.stdout, labels.docker.stdout);
});

test('the same errors and exit codes', async () => {
  const cases: string[][] = [
    ['network', 'create', 'sbs-a'],
    ['network', 'create', '--driver', 'host', 'x2'],
    ['network', 'create', 'bridge'],
    ['network', 'rm', 'bridge'],
    ['network', 'rm', 'nosuch'],
    ['network', 'inspect', 'nosuch'],
    ['network', 'connect', 'sbs-a', 'p1'],
    ['network', 'connect', 'host', 'p3'],
  ];
  for (const c of cases) {
    const r = await both(c);
    assert.equal(r.wharf.code, r.docker.code, `${c.join(' ')}: ${r.wharf.stderr} vs ${r.docker.stderr}`);
    const line = (x: CliResult) => x.stderr.split('\n').find((l) => l.startsWith('Error')) ?? '';
    assert.equal(line(r.wharf), line(r.docker), c.join(' '));
  }
  // dockerd looks a driver plugin up for seconds before it gives up: Wharf's words are checked alone.
  const plugin = await s.wharf(['network', 'create', '--driver', 'foo', 'x1']);
  assert.equal(plugin.code, 1);
  assert.equal(plugin.stderr, 'Error response from daemon: plugin "foo" not found\n');
  const rm = await both(['network', 'rm', 'sbs-a']);
  assert.equal(rm.wharf.code, rm.docker.code);
  assert.match(rm.wharf.stderr, /has active endpoints/);
  const run = await both(['run', '--rm', '--network', 'nosuch', 'busybox', 'true']);
  assert.equal(run.wharf.code, run.docker.code);
  assert.match(run.wharf.stderr, /network nosuch not found/);
  for (const c of [
    ['run', '--rm', '--network', 'container:nosuch', 'busybox', 'true'],
    ['run', '--rm', '--network', 'container:p1', '-p', '80', 'busybox', 'true'],
  ]) {
    const r = await both(c);
    assert.equal(r.wharf.code, r.docker.code, `${c.join(' ')}: ${r.wharf.stderr} vs ${r.docker.stderr}`);
  }
});

/** What `from` reaches: names resolve (busybox nslookup), addresses answer a ping. */
async function matrix(cli: Cli, who: 'wharf' | 'docker', only3 = false): Promise<Record<string, boolean>> {
  const resolves = async (c: string, n: string) => (await cli(['exec', c, 'busybox', 'nslookup', n])).code === 0;
  const pings = async (c: string, ip: string) =>
    (await cli(['exec', c, 'busybox', 'ping', '-c1', '-W1', ip])).code === 0;
  const ipOf = async (c: string, net: string) =>
    (
      JSON.parse(ok(await cli(['inspect', '-f', '{{json .NetworkSettings.Networks}}', c]), 'inspect').stdout) as Record<
        string,
        { IPAddress: string }
      >
    )[net]!.IPAddress;
  const p1 = await ipOf('p1', 'sbs-a');
  const p3 = { 'p3 name p1': await resolves('p3', 'p1'), 'p3 ping p1': await pings('p3', p1) };
  if (only3) return p3;
  return {
    ...p3,
    'p2 name p1': await resolves('p2', 'p1'),
    'p2 alias pa': await resolves('p2', 'pa'),
    'p2 short id p1': await resolves('p2', ids[who].p1!.slice(0, 12)),
    'p2 ping p1': await pings('p2', p1),
  };
}

test('the same reachability matrix, before and after connect and disconnect of a running container', async () => {
  const before = { wharf: await matrix(s.wharf, 'wharf'), docker: await matrix(s.docker, 'docker') };
  assert.deepEqual(before.wharf, before.docker);
  assert.deepEqual(before.wharf, {
    'p2 name p1': true,
    'p2 alias pa': true,
    'p2 short id p1': true,
    'p2 ping p1': true,
    'p3 name p1': false,
    'p3 ping p1': false,
  });
  for (const cli of [s.wharf, s.docker]) ok(await cli(['network', 'connect', 'sbs-a', 'p3']), 'connect');
  // Only what the connected container reaches changes: the rest is not asked again.
  const connected = { wharf: await matrix(s.wharf, 'wharf', true), docker: await matrix(s.docker, 'docker', true) };
  assert.deepEqual(connected.wharf, connected.docker);
  assert.deepEqual(connected.wharf, { 'p3 name p1': true, 'p3 ping p1': true });
  for (const cli of [s.wharf, s.docker]) ok(await cli(['network', 'disconnect', 'sbs-a', 'p3']), 'disconnect');
  const after = { wharf: await matrix(s.wharf, 'wharf', true), docker: await matrix(s.docker, 'docker', true) };
  assert.deepEqual(after.wharf, after.docker);
  assert.deepEqual(after.wharf, { 'p3 name p1': false, 'p3 ping p1': false });
});
