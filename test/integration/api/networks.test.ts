/**
 * docker CLI 28 against `wharf system service` on user-defined networks: network create/ls/inspect/connect/
 * disconnect/rm/prune, `run --network --network-alias` (names resolve between containers), container inspect's
 * endpoints, the errors in dockerd's words and exit codes, and what GET /networks/bridge answers (testcontainers
 * asks it for the gateway).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { ok } from '../../helpers/cli.js';
import { apiRequest, startApiService, type ApiService } from '../../helpers/api-service.js';
import { withBusybox, type Fixture } from '../container/fixture.js';

let fx: Fixture;
let api: ApiService;

before(async () => {
  fx = await withBusybox('wharf-api-net-');
  api = await startApiService(fx.root);
});

after(async () => {
  await api?.docker(['rm', '-f', 'nweb', 'nclient']);
  await api?.docker(['network', 'prune', '-f']);
  await api?.stop();
  await fx?.cleanup();
});

const linkExists = (dev: string): boolean => {
  try {
    execFileSync('ip', ['link', 'show', dev], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

test('network create, ls, inspect, run --network-alias, connect, disconnect, rm, prune through the docker CLI', async () => {
  const id = ok(
    await api.docker(['network', 'create', '--label', 'team=a', '--subnet', '10.231.7.0/24', 'apinet']),
    'network create',
  ).stdout.trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  const ls = ok(await api.docker(['network', 'ls', '--format', '{{.Name}} {{.Driver}} {{.Scope}}']), 'ls');
  assert.deepEqual(ls.stdout.trim().split('\n').sort(), [
    'apinet bridge local',
    'bridge bridge local',
    'host host local',
    'none null local',
  ]);
  const filtered = ok(await api.docker(['network', 'ls', '-q', '--no-trunc', '--filter', 'label=team=a']), 'ls filter');
  assert.equal(filtered.stdout, `${id}\n`);
  const custom = ok(await api.docker(['network', 'ls', '--format', '{{.Name}}', '--filter', 'type=custom']), 'type');
  assert.equal(custom.stdout, 'apinet\n');
  const ins = ok(
    await api.docker([
      'network',
      'inspect',
      '-f',
      '{{.Driver}} {{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}} {{.Labels.team}}',
      'apinet',
    ]),
    'network inspect',
  );
  assert.equal(ins.stdout, 'bridge 10.231.7.0/24 10.231.7.1 a\n');
  const bridge = `br-${id.slice(0, 12)}`;
  assert.ok(linkExists(bridge), `${bridge} exists`);

  // A server with an alias, and a client that finds it by the alias (busybox ping resolves through the network's
  // resolver; static busybox wget crashes on name resolution, so nothing here uses it by name).
  const web = ok(
    await api.docker([
      'run',
      '-d',
      '--name',
      'nweb',
      '--network',
      'apinet',
      '--network-alias',
      'www',
      'busybox',
      'httpd',
      '-f',
      '-h',
      '/var/www',
    ]),
    'run -d --network',
  ).stdout.trim();
  const ping = ok(
    await api.docker(['run', '--rm', '--network', 'apinet', 'busybox', 'busybox', 'ping', '-c1', '-W5', 'www']),
    'ping www',
  );
  assert.match(ping.stdout, /1 packets received/);
  const ep = ok(
    await api.docker(['inspect', '-f', '{{json .NetworkSettings.Networks.apinet}}', 'nweb']),
    'inspect endpoint',
  );
  const e = JSON.parse(ep.stdout) as Record<string, unknown>;
  assert.equal(e.NetworkID, id);
  assert.match(String(e.IPAddress), /^10\.231\.7\.\d+$/);
  assert.equal(e.Gateway, '10.231.7.1');
  assert.match(String(e.MacAddress), /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
  assert.match(String(e.EndpointID), /^[0-9a-f]{64}$/);
  // API 1.43: the short ID among the aliases, no DNSNames (1.44).
  assert.deepEqual(e.Aliases, ['www', web.slice(0, 12)]);
  const raw = JSON.parse((await apiRequest(api.socket, 'GET', '/v1.43/containers/nweb/json')).body) as {
    NetworkSettings: { Networks: Record<string, object> };
  };
  assert.ok(!('DNSNames' in raw.NetworkSettings.Networks.apinet!), 'no DNSNames before 1.44');

  const psNets = ok(
    await api.docker(['ps', '--filter', 'name=nweb', '--format', '{{.Names}} {{.Networks}}']),
    'ps networks',
  );
  assert.equal(psNets.stdout, 'nweb apinet\n');
  const members = ok(
    await api.docker(['network', 'inspect', '-f', '{{range .Containers}}{{.Name}} {{.IPv4Address}}{{end}}', 'apinet']),
    'members',
  );
  assert.equal(members.stdout, `nweb ${e.IPAddress}/24\n`);

  // connect a running container to a second network, and away again.
  ok(await api.docker(['network', 'create', 'apinet2']), 'create apinet2');
  ok(await api.docker(['network', 'connect', '--alias', 'second', 'apinet2', 'nweb']), 'connect');
  const both = ok(
    await api.docker(['inspect', '-f', '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}', 'nweb']),
    'inspect both',
  );
  assert.equal(both.stdout, 'apinet apinet2 \n');
  const ping2 = ok(
    await api.docker(['run', '--rm', '--network', 'apinet2', 'busybox', 'busybox', 'ping', '-c1', '-W5', 'second']),
    'ping second',
  );
  assert.match(ping2.stdout, /1 packets received/);
  const again = await api.docker(['network', 'connect', 'apinet2', 'nweb']);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /endpoint with name nweb already exists in network apinet2/);
  ok(await api.docker(['network', 'disconnect', 'apinet2', 'nweb']), 'disconnect');
  const one = ok(
    await api.docker(['inspect', '-f', '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}', 'nweb']),
    'inspect one',
  );
  assert.equal(one.stdout, 'apinet \n');

  // dockerd's refusals, through the CLI.
  const busy = await api.docker(['network', 'rm', 'apinet']);
  assert.equal(busy.code, 1);
  assert.match(busy.stderr, /has active endpoints/);
  const dup = await api.docker(['network', 'create', 'apinet']);
  assert.equal(dup.code, 1);
  assert.match(dup.stderr, /network with name apinet already exists/);
  const pre = await api.docker(['network', 'rm', 'bridge']);
  assert.equal(pre.code, 1);
  assert.match(pre.stderr, /bridge is a pre-defined network and cannot be removed/);
  const missing = await api.docker(['network', 'inspect', 'nope']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /network nope not found|No such network: nope/);
  const noNet = await api.docker(['run', '--rm', '--network', 'nope', 'busybox', 'true']);
  assert.notEqual(noNet.code, 0);
  assert.match(noNet.stderr, /network nope not found/);

  ok(await api.docker(['rm', '-f', 'nweb']), 'rm web');
  const pruned = ok(await api.docker(['network', 'prune', '-f', '--filter', 'label=team=a']), 'prune');
  assert.equal(pruned.stdout, 'Deleted Networks:\napinet\n\n');
  ok(await api.docker(['network', 'rm', 'apinet2']), 'rm apinet2');
  assert.ok(!linkExists(bridge), `${bridge} is gone`);
  const left = ok(await api.docker(['network', 'ls', '-q', '--filter', 'type=custom']), 'ls');
  assert.equal(left.stdout, '');
});

test('the API: GET /networks/bridge (testcontainers reads its gateway), create with IPAM, 404s and 400s', async () => {
  const b = await apiRequest(api.socket, 'GET', '/v1.43/networks/bridge');
  assert.equal(b.status, 200);
  const bridge = JSON.parse(b.body) as { Name: string; Driver: string; IPAM: { Config: Array<{ Subnet: string }> } };
  assert.equal(bridge.Name, 'bridge');
  assert.equal(bridge.Driver, 'bridge');
  assert.equal(bridge.IPAM.Config[0]?.Subnet, '10.89.0.0/24');
  const created = await apiRequest(
    api.socket,
    'POST',
    '/v1.43/networks/create',
    JSON.stringify({
      Name: 'ipamnet',
      CheckDuplicate: true,
      Driver: 'bridge',
      Internal: true,
      IPAM: {
        Driver: 'default',
        Config: [{ Subnet: '10.231.9.0/24', IPRange: '10.231.9.128/25', Gateway: '10.231.9.254' }],
      },
      Options: null,
      Labels: { x: 'y' },
    }),
  );
  assert.equal(created.status, 201, created.body);
  const { Id } = JSON.parse(created.body) as { Id: string };
  const got = JSON.parse((await apiRequest(api.socket, 'GET', `/v1.43/networks/${Id.slice(0, 10)}`)).body) as {
    Name: string;
    Internal: boolean;
    IPAM: { Config: unknown[] };
  };
  assert.equal(got.Name, 'ipamnet');
  assert.equal(got.Internal, true);
  assert.deepEqual(got.IPAM.Config, [{ Subnet: '10.231.9.0/24', IPRange: '10.231.9.128/25', Gateway: '10.231.9.254' }]);
  const list = JSON.parse(
    (await apiRequest(api.socket, 'GET', `/v1.43/networks?filters=${encodeURIComponent('{"name":{"ipamnet":true}}')}`))
      .body,
  ) as Array<{ Id: string; Containers: object }>;
  assert.deepEqual(
    list.map((n) => [n.Id, n.Containers]),
    [[Id, {}]],
  );
  assert.equal((await apiRequest(api.socket, 'GET', '/v1.43/networks/nope')).status, 404);
  assert.equal((await apiRequest(api.socket, 'POST', '/v1.43/networks/create', '{"Name":""}')).status, 400);
  assert.equal(
    (await apiRequest(api.socket, 'POST', '/v1.43/networks/create', '{"Name":"x","Driver":"overlay"}')).status,
    404,
  );
  assert.equal((await apiRequest(api.socket, 'GET', '/v1.43/networks?filters={"bogus":["1"]}')).status, 400);
  // As dockerd 20.10 answers (compared through test/helpers/dockerd.ts).
  const noCtr = await apiRequest(api.socket, 'POST', `/v1.43/networks/${Id}/connect`, '{"Container":"nope"}');
  assert.deepEqual([noCtr.status, JSON.parse(noCtr.body)], [404, { message: 'No such container: nope' }]);
  const noCtr2 = await apiRequest(api.socket, 'POST', `/v1.43/networks/${Id}/disconnect`, '{"Container":"nope"}');
  assert.deepEqual([noCtr2.status, JSON.parse(noCtr2.body)], [404, { message: 'No such container: nope' }]);
  const pre = await apiRequest(api.socket, 'DELETE', '/v1.43/networks/bridge');
  assert.deepEqual(
    [pre.status, JSON.parse(pre.body)],
    [403, { message: 'bridge is a pre-defined network and cannot be removed' }],
  );
  const dup = await apiRequest(
    api.socket,
    'POST',
    '/v1.43/networks/create',
    '{"Name":"ipamnet","CheckDuplicate":true}',
  );
  assert.deepEqual([dup.status, JSON.parse(dup.body)], [409, { message: 'network with name ipamnet already exists' }]);
  const del = await apiRequest(api.socket, 'DELETE', `/v1.43/networks/${Id}`);
  assert.equal(del.status, 204);
  assert.equal((await apiRequest(api.socket, 'DELETE', `/v1.43/networks/${Id}`)).status, 404);
  const pruned = await apiRequest(api.socket, 'POST', '/v1.43/networks/prune');
  assert.deepEqual(JSON.parse(pruned.body), { NetworksDeleted: null });
});
