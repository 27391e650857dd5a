/**
 * docker-compose (Debian's 1.29.2, /usr/bin/docker-compose under Debian's python3 with docker-py 5.0.3) against
 * `wharf system service`: a web service (busybox httpd serving a file from a named volume, a port published on
 * 127.0.0.1) and a client service that reaches it by its service name on the project's network. `up -d`, `ps`,
 * `logs`, `exec`, `restart` and `down -v`, which leaves no container, network, volume, bridge, firewall rule or
 * resolver process behind. Compose 1.29 speaks API 1.38 for every file format but v1 (no `services:` key).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, promises as fsp, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ok, type CliResult } from '../../helpers/cli.js';
import { startApiService, type ApiService } from '../../helpers/api-service.js';
import { rootTag } from '../../../src/network/firewall.js';
import { fetchWithRetry, freePort, withBusybox, type Fixture } from '../container/fixture.js';

const COMPOSE = '/usr/bin/docker-compose';
let fx: Fixture;
let api: ApiService;
let dir: string;
let port: number;

/** docker-compose in the project's directory, against the service, killed after two minutes. */
function compose(args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(COMPOSE, ['-p', 'wharfct', ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: dir, DOCKER_HOST: `unix://${api.socket}`, DOCKER_CONFIG: api.dockerConfig },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 137, stdout, stderr });
    });
  });
}

before(async () => {
  assert.ok(existsSync(COMPOSE), `${COMPOSE} is missing (Debian's docker-compose package, scripts/ensure-deps.sh)`);
  fx = await withBusybox('wharf-api-compose-');
  api = await startApiService(fx.root);
  dir = path.join(fx.root, 'project');
  await fsp.mkdir(dir);
  port = await freePort();
  // The client resolves `web` with busybox's own resolver (nslookup) and fetches by address: static busybox wget
  // crashes when it resolves a name through glibc.
  await fsp.writeFile(
    path.join(dir, 'docker-compose.yml'),
    `version: "3"
services:
  web:
    image: busybox
    command: ["sh", "-c", "echo hello from compose > /www/index.html && echo web up && exec httpd -f -p 80 -h /www"]
    volumes:
      - site:/www
    ports:
      - "127.0.0.1:${port}:80"
  client:
    image: busybox
    command: ["sleep", "1000"]
    depends_on:
      - web
volumes:
  site:
`,
  );
});

after(async () => {
  if (api && dir) await compose(['down', '-v', '-t', '1']);
  await api?.stop();
  await fx?.cleanup();
});

test('docker-compose up -d, ps, logs, exec (the client finds web by name), restart, down -v leaves nothing', async () => {
  ok(await compose(['up', '-d']), 'compose up -d');
  const ps = ok(await compose(['ps']), 'compose ps');
  assert.match(ps.stdout, /wharfct_web_1 .* Up .*127\.0\.0\.1:\d+->80\/tcp/);
  assert.match(ps.stdout, /wharfct_client_1 .* Up/);
  assert.equal((await fetchWithRetry(port)).body, 'hello from compose\n');

  const fetch = 'ip=$(nslookup web | awk \'/^Address/ {a=$2} END {print a}\'); wget -qO- "http://$ip/"';
  let got: CliResult | undefined;
  // Bounded: the resolver learns of `web` when it starts, before compose starts the client.
  for (let i = 0; i < 5; i++) {
    got = await compose(['exec', '-T', 'client', 'sh', '-c', fetch]);
    if (got.code === 0) break;
    await sleep(200);
  }
  assert.equal(got?.stdout, 'hello from compose\n', `exec: ${got?.stderr}`);

  const logs = ok(await compose(['logs', '--no-color', 'web']), 'compose logs');
  assert.match(logs.stdout, /web_1 +\| web up/);

  const net = ok(await api.docker(['network', 'inspect', '-f', '{{.Id}}', 'wharfct_default']), 'network').stdout.trim();
  ok(await compose(['restart', '-t', '1']), 'compose restart');
  assert.equal((await fetchWithRetry(port)).body, 'hello from compose\n');
  const again = await compose(['exec', '-T', 'client', 'sh', '-c', fetch]);
  assert.equal(again.stdout, 'hello from compose\n', `exec after restart: ${again.stderr}`);

  ok(await compose(['down', '-v', '-t', '1']), 'compose down -v');
  assert.equal(ok(await api.docker(['ps', '-aq']), 'ps').stdout, '');
  assert.equal(ok(await api.docker(['network', 'ls', '-q', '--filter', 'type=custom']), 'networks').stdout, '');
  assert.equal(ok(await api.docker(['volume', 'ls', '-q']), 'volumes').stdout, '');
  const bridge = `br-${net.slice(0, 12)}`;
  assert.ok(!execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).includes(bridge), `${bridge} is gone`);
  const tag = rootTag(fx.root);
  for (const save of ['iptables-save', 'ip6tables-save']) {
    const rules = execFileSync(save, [], { encoding: 'utf8' });
    assert.ok(!rules.includes(tag), `${save}: no rule or chain of the root (${tag})`);
    assert.ok(!rules.includes(bridge), `${save}: no rule of ${bridge}`);
  }
  const resolvers = readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
        return cmd.includes('aardvark-dns') && cmd.includes(fx.root);
      } catch {
        return false;
      }
    });
  assert.deepEqual(resolvers, [], 'no resolver process of the root');
});
