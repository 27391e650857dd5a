/**
 * User-defined networks with real runc, CNI, iptables and aardvark-dns: names, aliases and short IDs resolve on the
 * same network and nowhere else, connect/disconnect of a running container changes that, `--internal` has no route
 * out, IPv6 between containers, a published port on a user network, and removal leaves nothing on the host (checked
 * with `ip`, `iptables-save`, `ip6tables-save` and the process table).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { request } from 'node:http';
import { ok, tempRoot } from '../../helpers/cli.js';
import { makeBusyboxTar } from '../../helpers/busybox.js';
import { chainsFor, rootTag } from '../../../src/network/index.js';

let t: Awaited<ReturnType<typeof tempRoot>>;
const ids: Record<string, string> = {};

const wharf = (args: string[]) => t.cli(args);
const sh = (c: string, cmd: string) => wharf(['exec', c, 'busybox', 'sh', '-c', cmd]);
/** Whether `name` resolves inside `c` (busybox nslookup exits 0 with an answer). */
const resolves = async (c: string, name: string) => (await wharf(['exec', c, 'busybox', 'nslookup', name])).code === 0;
const pings = async (c: string, ip: string) =>
  (await wharf(['exec', c, 'busybox', 'ping', '-c1', '-W1', ip])).code === 0;
const endpointOf = async (c: string, net: string) =>
  (
    JSON.parse(ok(await wharf(['inspect', '-f', '{{json .NetworkSettings.Networks}}', c]), 'inspect').stdout) as Record<
      string,
      { IPAddress: string; GlobalIPv6Address: string }
    >
  )[net]!;
const ipOf = async (c: string, net: string) => (await endpointOf(c, net)).IPAddress;
const ip6Of = async (c: string, net: string) => (await endpointOf(c, net)).GlobalIPv6Address;

before(async () => {
  t = await tempRoot('wharf-usernet-');
  const tar = await makeBusyboxTar(t.root);
  ok(await wharf(['import', '-c', 'CMD ["sh"]', tar, 'busybox']), 'import');
  ok(await wharf(['network', 'create', 'front']), 'create front');
  ok(await wharf(['network', 'create', '--ipv6', 'back']), 'create back');
  ok(await wharf(['network', 'create', '--internal', 'sealed']), 'create sealed');
  const run = async (name: string, net: string, ...extra: string[]) => {
    ids[name] = ok(
      await wharf(['run', '-d', '--name', name, '--network', net, ...extra, 'busybox', 'sleep', '300']),
      `run ${name}`,
    ).stdout.trim();
  };
  await run('web', 'front', '--network-alias', 'www', '-p', '127.0.0.1::8080');
  await run('client', 'front');
  await run('db', 'back');
  await run('db2', 'back', '-p', '8080');
  await run('hermit', 'sealed');
  for (const c of ['web', 'db2'])
    ok(await sh(c, 'busybox mkdir -p /w && echo hello > /w/index.html && busybox httpd -p 8080 -h /w'), 'httpd');
});

after(async () => {
  const all = (await wharf(['ps', '-aq'])).stdout.split('\n').filter(Boolean);
  if (all.length) await wharf(['rm', '-f', ...all]);
  for (const n of ['front', 'back', 'sealed']) await wharf(['network', 'rm', n]);
  await t.cleanup();
});

test('names, aliases and short IDs resolve on the same network, and reach', async () => {
  assert.ok(await resolves('client', 'web'), 'by name');
  assert.ok(await resolves('client', 'www'), 'by alias');
  assert.ok(await resolves('client', ids.web!.slice(0, 12)), 'by short ID');
  assert.ok(await pings('client', 'web'));
  const resolv = ok(await sh('client', 'cat /etc/resolv.conf'), 'resolv.conf').stdout;
  const gw = ok(
    await wharf(['network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Gateway}}{{end}}', 'front']),
    'gw',
  ).stdout;
  assert.match(resolv, new RegExp(`nameserver ${gw.trim().replaceAll('.', '\\.')}`));
  // `--network container:X` joins X's namespace: X's addresses, resolver and neighbours.
  const joined = await wharf(['run', '--rm', '--network', 'container:web', 'busybox', 'busybox', 'nslookup', 'client']);
  assert.equal(joined.code, 0, joined.stderr);
});

test('a container on another network resolves neither the name nor reaches the address', async () => {
  assert.equal(await resolves('client', 'db'), false);
  assert.equal(await resolves('db', 'web'), false);
  assert.equal(await pings('client', await ipOf('db', 'back')), false);
  assert.equal(await pings('db', await ipOf('web', 'front')), false);
});

test('connect and disconnect of a running container change what resolves and what is reachable', async () => {
  ok(await wharf(['network', 'connect', '--alias', 'store', 'front', 'db']), 'connect');
  assert.ok(await resolves('client', 'db'));
  assert.ok(await resolves('client', 'store'));
  assert.ok(await pings('client', await ipOf('db', 'front')));
  assert.ok(await resolves('db', 'web'), 'the connected container sees its new network too');
  const frontIp = await ipOf('db', 'front');
  ok(await wharf(['network', 'disconnect', 'front', 'db']), 'disconnect');
  assert.equal(await resolves('client', 'db'), false);
  assert.equal(await pings('client', frontIp), false);
  assert.ok(await pings('client', 'web'), 'the others keep their gateway and each other');
  assert.ok(await resolves('db', 'db2'), 'the container keeps its first network');
  // A restart makes its endpoints again from the record: the disconnect stays.
  ok(await wharf(['restart', '-t', '0', 'db']), 'restart');
  assert.ok(await resolves('db2', 'db'));
  assert.equal(await resolves('client', 'db'), false);
});

test('an internal network has no route out', async () => {
  const routes = ok(await sh('hermit', 'busybox ip route'), 'ip route').stdout;
  assert.doesNotMatch(routes, /default/);
  assert.equal(await pings('hermit', await ipOf('web', 'front')), false);
  assert.equal(await pings('hermit', '10.89.0.1'), false, "the default bridge's gateway (a host address)");
});

test('IPv6 between containers on a dual-stack network, by address and by name', async () => {
  const v6 = await ip6Of('db', 'back');
  assert.match(v6, /^fd/);
  assert.ok(await pings('db2', v6));
  const out = (await wharf(['exec', 'db2', 'busybox', 'nslookup', '-type=AAAA', 'db'])).stdout;
  assert.ok(out.includes(v6), out);
});

/** GET /index.html from host:port. */
function fetchIndex(host: string, port: number): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const req = request({ host, port, path: '/index.html', timeout: 5000 }, (res) => {
      let b = '';
      res.on('data', (c: Buffer) => (b += c.toString()));
      res.on('end', () => resolve(b));
    });
    req.on('error', reject);
    req.end();
  });
}

test('ports published from user networks answer on the host, on IPv4 and (dual stack too) on [::1]', async () => {
  const port = async (c: string) =>
    Number(
      ok(await wharf(['port', c, '8080']), 'port')
        .stdout.split('\n')[0]!
        .split(':')
        .pop(),
    );
  assert.equal(await fetchIndex('127.0.0.1', await port('web')), 'hello\n');
  const dual = await port('db2');
  assert.equal(await fetchIndex('127.0.0.1', dual), 'hello\n');
  // The IPv6 relay serves [::1] where the host has IPv6 (portmap publishes IPv4 only, also for a dual-stack container).
  if (existsSync('/proc/net/if_inet6')) assert.equal(await fetchIndex('::1', dual), 'hello\n');
});

test('network rm refuses a network in use; removal leaves no bridge, veth, netns, rule or resolver', async () => {
  const busy = await wharf(['network', 'rm', 'front']);
  assert.equal(busy.code, 1);
  assert.match(busy.stderr, /has active endpoints/);
  const bridgeNames = await Promise.all(
    ['front', 'back', 'sealed'].map(
      async (n) => `br-${(await wharf(['network', 'inspect', '-f', '{{.Id}}', n])).stdout.slice(0, 12)}`,
    ),
  );
  const pidFile = `${t.root}/run/aardvark-dns/aardvark.pid`;
  const pid = Number(readFileSync(pidFile, 'utf8'));
  ok(await wharf(['rm', '-f', ...Object.keys(ids)]), 'rm');
  for (const n of ['front', 'back', 'sealed']) ok(await wharf(['network', 'rm', n]), `network rm ${n}`);
  const links = execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' });
  for (const b of bridgeNames) assert.ok(!links.includes(b), `bridge ${b} left`);
  assert.ok(!links.includes(`wharf:${rootTag(t.root)}`), 'no bridge of this root');
  for (const b of bridgeNames) assert.ok(!links.includes(`master ${b}`), `a veth on ${b} left`);
  const netns = existsSync('/var/run/netns') ? readdirSync('/var/run/netns') : [];
  for (const id of Object.values(ids)) assert.ok(!netns.includes(`wharf-${id}`), 'netns left');
  const chains = chainsFor(t.root);
  for (const tool of ['iptables-save', 'ip6tables-save']) {
    const rules = execFileSync(tool, { encoding: 'utf8' });
    for (const c of Object.values(chains)) assert.ok(!rules.includes(c), `${tool}: ${c} left`);
    for (const b of bridgeNames) assert.ok(!rules.includes(b), `${tool}: a rule for ${b} left`);
  }
  // The resolver exits by itself at the SIGHUP that follows its last network file's removal.
  let alive = true;
  for (let i = 0; i < 50 && alive; i++) {
    alive = existsSync(`/proc/${pid}`) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('aardvark');
    if (alive) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(alive, false, 'aardvark-dns still runs');
});

test('system check reports a bridge of this root that no network names, and removes it with --repair', async () => {
  const bridge = 'br-wharftest0';
  execFileSync('ip', ['link', 'add', 'name', bridge, 'address', '02:00:00:00:00:01', 'type', 'bridge']);
  try {
    execFileSync('ip', ['link', 'set', bridge, 'alias', `wharf:${rootTag(t.root)}`]);
    const found = await wharf(['system', 'check']);
    assert.match(found.stdout + found.stderr, /orphan: network bridge br-wharftest0 with no network record/);
    ok(await wharf(['system', 'check', '--repair']), 'repair');
    assert.ok(!execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' }).includes(bridge));
  } finally {
    execFileSync('sh', ['-c', `ip link del ${bridge} 2>/dev/null || true`]);
  }
});
