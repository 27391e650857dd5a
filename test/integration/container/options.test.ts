import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { ok } from '../../helpers/cli.js';
import { fetchWithRetry, withBusybox, type Fixture } from './fixture.js';

let f: Fixture;
before(async () => {
  f = await withBusybox('wharf-ctr-opts-', undefined, ['EXPOSE 80']);
});
after(async () => {
  await f?.cleanup();
});

test('-P publishes every EXPOSEd port on a random host port; containers reach each other by IP', async () => {
  ok(
    await f.cli(['run', '-d', '-P', '--name', 'pub', 'busybox', 'httpd', '-f', '-p', '80', '-h', '/var/www']),
    'run -P',
  );
  // The first line: the IPv4 mapping (an IPv6 one on `[::]` follows where the host has IPv6, as docker CLI 28 lists it).
  const port = ok(await f.cli(['port', 'pub', '80/tcp']), 'port').stdout.split('\n')[0]!;
  assert.match(port, /^0\.0\.0\.0:\d+$/);
  const hostPort = Number(port.split(':')[1]);
  assert.equal((await fetchWithRetry(hostPort, '/index.html')).body, 'hello from wharf\n');
  const ip = ok(await f.cli(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'pub']), 'inspect').stdout.trim();
  assert.match(ip, /^10\.89\.0\.\d+$/);
  const got = ok(
    await f.cli(['run', '--rm', 'busybox', 'wget', '-q', '-O', '-', `http://${ip}/index.html`]),
    'wget from a second container',
  );
  assert.equal(got.stdout, 'hello from wharf\n');
  const hosts = ok(await f.cli(['exec', 'pub', 'cat', '/etc/hosts']), 'hosts').stdout;
  const short = ok(await f.cli(['inspect', '-f', '{{.Config.Hostname}}', 'pub']), 'hostname').stdout.trim();
  assert.match(hosts, new RegExp(`^${ip.replace(/\./g, '\\.')}\\t${short}$`, 'm'));
  assert.match(hosts, new RegExp(`^${ip.replace(/\./g, '\\.')}\\tpub$`, 'm'), 'the name resolves too');
  assert.equal(
    ok(await f.cli(['exec', 'pub', 'wget', '-q', '-O', '-', 'http://pub/index.html']), 'own name').stdout,
    'hello from wharf\n',
  );
  const taken = await f.cli(['run', '-d', '-p', `${hostPort}:80`, 'busybox', 'true']);
  assert.equal(taken.code, 125, 'a taken host port is refused');
  assert.match(taken.stderr, /already|in use|allocated/i);
  assert.equal(
    ok(await f.cli(['ps', '-aq']), 'ps')
      .stdout.trim()
      .split('\n').length,
    1,
    'run left no container behind',
  );
  ok(await f.cli(['rm', '-f', 'pub']), 'rm');
});

test("--add-host name:host-gateway stands for the bridge network's gateway", async () => {
  ok(
    await f.cli(['run', '-d', '--name', 'gw', '--add-host', 'gateway.local:host-gateway', 'busybox', 'sleep', '60']),
    'run --add-host',
  );
  const gateway = ok(await f.cli(['inspect', '-f', '{{.NetworkSettings.Gateway}}', 'gw']), 'inspect').stdout.trim();
  assert.match(gateway, /^10\.89\.0\.\d+$/);
  const hosts = ok(await f.cli(['exec', 'gw', 'cat', '/etc/hosts']), 'hosts').stdout;
  assert.match(hosts, new RegExp(`^${gateway.replace(/\./g, '\\.')}\\tgateway\\.local$`, 'm'));
  ok(await f.cli(['rm', '-f', 'gw']), 'rm');
});

test('--network host shares the host network; resources and privileges reach the runtime', async () => {
  const hostNet = ok(
    await f.cli(['run', '--rm', '--network', 'host', 'busybox', 'sh', '-c', 'ls /sys/class/net | grep -c .']),
    'host net',
  );
  assert.ok(Number(hostNet.stdout.trim()) > 1, 'more than loopback');
  const caps = ok(
    await f.cli(['run', '--rm', '--cap-drop', 'CHOWN', 'busybox', 'sh', '-c', 'chown 33 /tmp 2>&1 || echo refused']),
    'cap-drop',
  );
  assert.match(caps.stdout, /refused/);
  const priv = ok(
    await f.cli(['run', '--rm', '--privileged', 'busybox', 'sh', '-c', 'grep CapEff /proc/self/status']),
    'privileged',
  );
  const hostBnd = /CapBnd:\s*([0-9a-f]+)/.exec(await readFile('/proc/self/status', 'utf8'))![1];
  assert.equal(priv.stdout.trim(), `CapEff:\t${hostBnd}`, 'every capability the host can give');
  const mem = ok(
    await f.cli([
      'run',
      '--rm',
      '-m',
      '64m',
      '--cpus',
      '0.5',
      'busybox',
      'sh',
      '-c',
      'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.max',
    ]),
    'limits',
  );
  assert.match(mem.stdout, /67108864/);
  assert.match(mem.stdout, /50000/);
  const tmpfs = ok(
    await f.cli([
      'run',
      '--rm',
      '--mount',
      'type=tmpfs,target=/scratch',
      'busybox',
      'sh',
      '-c',
      'grep " /scratch " /proc/mounts',
    ]),
    'tmpfs',
  );
  assert.match(tmpfs.stdout, /^tmpfs \/scratch tmpfs/);
  const init = ok(
    await f.cli(['run', '--rm', '--init', 'busybox', 'sh', '-c', 'cat /proc/1/cmdline | tr "\\0" " "']),
    '--init',
  );
  assert.match(init.stdout, /^\/sbin\/docker-init -- sh -c/);
});

test('ps: -q, -n, -l, --no-trunc, -s, --format json, filters; system check is clean with containers around', async () => {
  const a = ok(await f.cli(['create', '--name', 'psa', 'busybox', 'true']), 'create').stdout.trim();
  assert.equal((await f.cli(['run', '--name', 'psb', 'busybox', 'sh', '-c', 'echo x > /f; exit 2'])).code, 2);
  const c = ok(await f.cli(['run', '-d', '--name', 'psc', 'busybox', 'sleep', '300']), 'run -d').stdout.trim();
  assert.equal(ok(await f.cli(['ps', '-q']), 'ps -q').stdout, `${c.slice(0, 12)}\n`);
  assert.equal(ok(await f.cli(['ps', '-q', '--no-trunc']), 'ps').stdout, `${c}\n`);
  assert.equal(ok(await f.cli(['ps', '-l', '--format', '{{.Names}}']), 'ps -l').stdout, 'psc\n');
  assert.equal(ok(await f.cli(['ps', '-n', '2', '--format', '{{.Names}}']), 'ps -n').stdout, 'psc\npsb\n');
  assert.match(
    ok(await f.cli(['ps', '-a', '--filter', 'status=exited', '--format', '{{.Names}} {{.Status}}']), 'filter').stdout,
    /^psb Exited \(2\) .+ ago\n$/,
  );
  assert.equal(ok(await f.cli(['ps', '-a', '--filter', 'exited=2', '-q']), 'exited=2').stdout.trim().length, 12);
  assert.equal(
    ok(await f.cli(['ps', '-a', '--filter', `id=${a.slice(0, 6)}`, '--format', '{{.Names}}']), 'id').stdout,
    'psa\n',
  );
  assert.equal(
    ok(await f.cli(['ps', '-a', '--filter', 'ancestor=busybox', '--filter', 'name=^ps', '-q']), 'ancestor')
      .stdout.split('\n')
      .filter(Boolean).length,
    3,
  );
  const json = ok(await f.cli(['ps', '--format', 'json']), 'json')
    .stdout.trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(json.length, 1);
  assert.equal(json[0].Names, 'psc');
  assert.equal(json[0].State, 'running');
  const sized = ok(await f.cli(['ps', '-a', '-s', '--filter', 'name=psb']), 'ps -s').stdout;
  assert.match(sized, /SIZE/);
  assert.match(sized, /\d+B \(virtual [\d.]+[kM]B\)/);
  const badFilter = await f.cli(['ps', '--filter', 'colour=red']);
  assert.equal(badFilter.code, 1);
  const check = ok(await f.cli(['system', 'check']), 'system check');
  assert.match(check.stdout, /no problems/);
  const dfv = ok(await f.cli(['system', 'df', '-v']), 'df -v').stdout;
  assert.match(dfv, /Containers space usage:[\s\S]*psc/);
  ok(await f.cli(['rm', '-f', 'psa', 'psb', 'psc']), 'rm');
});

test('-i: StdinOnce and AttachStdin as the docker CLI sets them (create -i and run -i attach stdin; run -d -i does not)', async () => {
  const shape = async (name: string): Promise<string> =>
    ok(
      await f.cli(['inspect', '-f', '{{.Config.OpenStdin}} {{.Config.AttachStdin}} {{.Config.StdinOnce}}', name]),
      `inspect ${name}`,
    ).stdout.trim();
  ok(await f.cli(['create', '-i', '--name', 'si-create', 'busybox', 'cat']), 'create -i');
  assert.equal(await shape('si-create'), 'true true true');
  ok(await f.cli(['run', '-d', '-i', '--name', 'si-detached', 'busybox', 'cat']), 'run -d -i');
  assert.equal(await shape('si-detached'), 'true false false');
  ok(await f.cli(['create', '--name', 'si-none', 'busybox', 'true']), 'create');
  assert.equal(await shape('si-none'), 'false false false');
  // Its stdin stays open with nobody attached: cat keeps running.
  assert.equal(
    ok(await f.cli(['inspect', '-f', '{{.State.Running}}', 'si-detached']), 'running').stdout.trim(),
    'true',
  );
  ok(await f.cli(['rm', '-f', 'si-create', 'si-detached', 'si-none']), 'rm');
});
