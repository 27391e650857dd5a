/**
 * More docker CLI 28 verbs against `wharf system service`: stats, update, search/login/push/pull with Wharf's
 * registry, /distribution, save | load, system df, run -it and exec -it on a pseudo-terminal, each error status
 * through the CLI's message and exit code, and the tutorial exercise (registry → build → tag → push → rmi → pull →
 * run -p → curl → rm) through `docker` alone.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { startRegistry, loadRegistryConfig, type RunningRegistry } from '../../../src/registry.js';
import { ok } from '../../helpers/cli.js';
import { apiRequest, startApiService, type ApiService } from '../../helpers/api-service.js';
import { freePort, httpGet, withBusybox, type Fixture } from '../container/fixture.js';

let fx: Fixture;
let api: ApiService;
let registry: RunningRegistry;
let reg: string;

before(async () => {
  fx = await withBusybox('wharf-api-more-');
  api = await startApiService(fx.root);
  registry = await startRegistry(
    await loadRegistryConfig({ wharfRoot: path.join(fx.root, 'registry'), addr: '127.0.0.1:0' }),
    { log: () => {} },
  );
  reg = `${registry.host}:${registry.port}`;
});

after(async () => {
  await api?.stop();
  await registry?.close();
  await fx?.cleanup();
});

test('stats --no-stream and update: Docker-shaped samples, new limits seen by inspect and stats', async () => {
  ok(await api.docker(['run', '-d', '--name', 'st', 'busybox', 'sleep', '300']), 'run -d');
  const s = ok(
    await api.docker(['stats', '--no-stream', '--format', '{{.Name}} {{.MemUsage}} {{.PIDs}}', 'st']),
    'stats',
  );
  assert.match(s.stdout, /^st \d[\d.]*[KMG]?i?B \/ [\d.]+[KMG]iB 1\n$/);
  const all = ok(await api.docker(['stats', '--no-stream']), 'stats (all)');
  assert.match(all.stdout, /^CONTAINER ID +NAME +CPU % +MEM USAGE \/ LIMIT +MEM % +NET I\/O +BLOCK I\/O +PIDS\n/);
  assert.match(all.stdout, /\n[0-9a-f]{12} +st +/);
  const u = ok(
    await api.docker(['update', '--memory', '64m', '--memory-swap', '128m', '--restart', 'always', 'st']),
    'update',
  );
  assert.equal(u.stdout, 'st\n');
  const i = ok(
    await api.docker(['inspect', '-f', '{{.HostConfig.Memory}} {{.HostConfig.RestartPolicy.Name}}', 'st']),
    'inspect',
  );
  assert.equal(i.stdout, '67108864 always\n');
  assert.match(
    ok(await api.docker(['stats', '--no-stream', '--format', '{{.MemUsage}}', 'st']), 'stats').stdout,
    /\/ 64MiB\n$/,
  );
  // The raw stream: one JSON frame per line, precpu of the second frame = cpu of the first.
  const one = await apiRequest(api.socket, 'GET', '/v1.43/containers/st/stats?stream=false&one-shot=true');
  assert.equal(one.status, 200);
  const frame = JSON.parse(one.body) as {
    name: string;
    pids_stats: { current: number };
    memory_stats: { limit: number };
  };
  assert.deepEqual([frame.name, frame.pids_stats.current, frame.memory_stats.limit], ['/st', 1, 67108864]);
  ok(await api.docker(['rm', '-f', 'st']), 'rm -f');
});

test("login, push, search, /distribution and pull against Wharf's registry, all through docker", async () => {
  const login = ok(await api.docker(['login', '-u', 'bob', '--password-stdin', reg], { input: 'secret\n' }), 'login');
  assert.match(login.stdout, /Login Succeeded/);
  const ref = `${reg}/team/bb:v1`;
  ok(await api.docker(['tag', 'busybox', ref]), 'tag');
  const push = ok(await api.docker(['push', ref]), 'push');
  assert.match(push.stdout, /v1: digest: sha256:[0-9a-f]{64} size: \d+/);
  const search = ok(await api.docker(['search', `${reg}/bb`]), 'search');
  assert.match(search.stdout, /^NAME +DESCRIPTION +STARS +OFFICIAL\n/);
  assert.match(search.stdout, /team\/bb/);
  const dist = await apiRequest(api.socket, 'GET', `/v1.43/distribution/${ref}/json`);
  assert.equal(dist.status, 200, dist.body);
  const d = JSON.parse(dist.body) as { Descriptor: { digest: string }; Platforms: Array<{ os: string }> };
  assert.match(d.Descriptor.digest, /^sha256:[0-9a-f]{64}$/);
  assert.equal(d.Platforms[0]?.os, 'linux');
  ok(await api.docker(['rmi', ref]), 'rmi');
  const pull = ok(await api.docker(['pull', ref]), 'pull');
  assert.ok(pull.stdout.trimEnd().endsWith(ref), pull.stdout);
  ok(await api.docker(['rmi', ref]), 'rmi');
});

test('save | load through a pipe, and system df', async () => {
  ok(await api.docker(['tag', 'busybox', 'saved:v1']), 'tag');
  const tar = path.join(fx.root, 'saved.tar');
  ok(await api.docker(['save', '-o', tar, 'saved:v1']), 'save');
  ok(await api.docker(['rmi', 'saved:v1']), 'rmi');
  const load = ok(await api.docker(['load'], { input: await fsp.readFile(tar) }), 'load');
  assert.equal(load.stdout, 'Loaded image: saved:v1\n');
  const df = ok(await api.docker(['system', 'df']), 'system df');
  assert.match(df.stdout, /^TYPE +TOTAL +ACTIVE +SIZE +RECLAIMABLE\nImages +\d+ +\d+ /);
  assert.match(df.stdout, /\nLocal Volumes +\d+/);
  ok(await api.docker(['rmi', 'saved:v1']), 'rmi');
});

/** A docker command on a pseudo-terminal; resolves with what it printed and its exit code. */
async function onPty(
  args: string[],
  script: (write: (s: string) => void, waitFor: (re: RegExp) => Promise<void>) => Promise<void>,
): Promise<{ out: string; code: number }> {
  const pty = await import('node-pty');
  const term = pty.spawn('docker', args, {
    cols: 100,
    rows: 30,
    env: { ...process.env, DOCKER_HOST: `unix://${api.socket}`, DOCKER_CONFIG: api.dockerConfig } as Record<
      string,
      string
    >,
  });
  let out = '';
  term.onData((d) => (out += d));
  const exited = new Promise<number>((resolve) => term.onExit(({ exitCode }) => resolve(exitCode)));
  const waitFor = async (re: RegExp): Promise<void> => {
    for (let i = 0; i < 150 && !re.test(out); i++) await sleep(100);
    assert.match(out, re);
  };
  await script((s) => term.write(s), waitFor);
  const code = await Promise.race([exited, sleep(20_000).then(() => -1)]);
  if (code === -1) term.kill();
  return { out, code };
}

test('run -it and exec -it on a pseudo-terminal: a shell with the terminal size, exit codes passed through', async () => {
  const run = await onPty(['run', '-it', '--rm', 'busybox', 'sh'], async (write, waitFor) => {
    await waitFor(/\/ # /);
    write('tty; stty size; echo $((6*7))\r');
    await waitFor(/42/);
    write('exit 3\r');
  });
  assert.equal(run.code, 3, run.out);
  assert.match(run.out, /\/dev\/pts\/\d+/);
  assert.match(run.out, /30 100/);
  ok(await api.docker(['run', '-d', '--name', 'ex', 'busybox', 'sleep', '300']), 'run -d');
  const exec = await onPty(['exec', '-it', 'ex', 'sh'], async (write, waitFor) => {
    await waitFor(/\/ # /);
    write('tty; exit 5\r');
  });
  assert.equal(exec.code, 5, exec.out);
  assert.match(exec.out, /\/dev\/pts\/\d+/);
  ok(await api.docker(['rm', '-f', 'ex']), 'rm -f');
});

test('errors: 404, 409, 400, 304 and 500 through the docker CLI', async () => {
  // 404; kill words it as `wharf kill` and dockerd do
  const noKill = await api.docker(['kill', 'nope']);
  assert.deepEqual(
    [noKill.code, noKill.stderr],
    [1, 'Error response from daemon: Cannot kill container: nope: No such container: nope\n'],
  );
  // `wharf kill` prints it as the docker CLI does (a daemon's error: "Error response from daemon: ").
  assert.equal((await fx.cli(['kill', 'nope'])).stderr, noKill.stderr);
  const missing = await api.docker(['rm', 'nope']);
  assert.deepEqual([missing.code, missing.stderr], [1, 'Error response from daemon: No such container: nope\n']);
  assert.equal((await apiRequest(api.socket, 'DELETE', '/v1.43/containers/nope')).status, 404);
  // 409: a name in use (run exits 125), rm of a running container (exits 1)
  ok(await api.docker(['run', '-d', '--name', 'busy', 'busybox', 'sleep', '300']), 'run -d');
  const taken = await api.docker(['run', '--name', 'busy', 'busybox', 'true']);
  assert.equal(taken.code, 125);
  assert.match(taken.stderr, /Error response from daemon: Conflict\. The container name "\/busy" is already in use/);
  const running = await api.docker(['rm', 'busy']);
  assert.equal(running.code, 1);
  assert.match(running.stderr, /Error response from daemon: You cannot remove a running container/);
  assert.equal((await apiRequest(api.socket, 'DELETE', '/v1.43/containers/busy')).status, 409);
  // 400: a command that is not there (run exits 127) and a bad parameter
  const noCmd = await api.docker(['run', '--rm', 'busybox', '/nope']);
  assert.equal(noCmd.code, 127);
  assert.match(noCmd.stderr, /Error response from daemon: .*\/nope.*no such file or directory/);
  const badFilter = await apiRequest(api.socket, 'GET', '/v1.43/containers/json?filters=notjson');
  assert.equal(badFilter.status, 400);
  // 304: start of a running container, stop of a stopped one: the CLI counts both as done
  assert.equal((await apiRequest(api.socket, 'POST', '/v1.43/containers/busy/start')).status, 304);
  assert.deepEqual([(await api.docker(['start', 'busy'])).code], [0]);
  ok(await api.docker(['stop', '-t', '1', 'busy']), 'stop');
  assert.equal((await apiRequest(api.socket, 'POST', '/v1.43/containers/busy/stop')).status, 304);
  const again = await api.docker(['stop', 'busy']);
  assert.deepEqual([again.code, again.stdout], [0, 'busy\n']);
  // 500: a registry that does not answer (as dockerd: "Error response from daemon: …", exit 1)
  const port = await freePort();
  const login = await api.docker(['login', '-u', 'a', '--password-stdin', `127.0.0.1:${port}`], { input: 'b\n' });
  assert.equal(login.code, 1);
  assert.match(login.stderr, /Error response from daemon: .*127\.0\.0\.1/);
  const status = await apiRequest(
    api.socket,
    'POST',
    '/v1.43/auth',
    JSON.stringify({ username: 'a', password: 'b', serveraddress: `127.0.0.1:${port}` }),
  );
  assert.equal(status.status, 500);
  ok(await api.docker(['rm', '-f', 'busy']), 'rm -f');
});

test('the tutorial exercise through docker: registry, build, tag, push, rmi, pull, run -p, curl, rm', async () => {
  const ctx = path.join(fx.root, 'tutorial');
  await fsp.mkdir(ctx);
  await fsp.writeFile(path.join(ctx, 'index.html'), 'hello from v12\n');
  await fsp.writeFile(
    path.join(ctx, 'Dockerfile'),
    'FROM busybox\nCOPY index.html /www/index.html\nEXPOSE 80\nCMD ["httpd", "-f", "-p", "80", "-h", "/www"]\n',
  );
  ok(await api.docker(['build', '-t', 'httpd:v12', ctx], { env: { DOCKER_BUILDKIT: '0' } }), 'build');
  const ref = `${reg}/tutorial/httpd:v12`;
  ok(await api.docker(['tag', 'httpd:v12', ref]), 'tag');
  ok(await api.docker(['push', ref]), 'push');
  ok(await api.docker(['rmi', 'httpd:v12', ref]), 'rmi');
  ok(await api.docker(['pull', ref]), 'pull');
  const port = await freePort();
  ok(await api.docker(['run', '-d', '--name', 'web12', '-p', `127.0.0.1:${port}:80`, ref]), 'run -p');
  let body = '';
  for (let i = 0; i < 50 && body !== 'hello from v12\n'; i++) {
    body = await httpGet(port).then(
      (r) => r.body,
      () => '',
    );
    if (body !== 'hello from v12\n') await sleep(100);
  }
  assert.equal(body, 'hello from v12\n');
  ok(await api.docker(['rm', '-f', 'web12']), 'rm -f');
  assert.equal(ok(await fx.cli(['ps', '-aq']), 'ps').stdout, '');
});

/** One message from a WebSocket attach: what it carried and whether it came as a binary frame. */
async function wsEcho(sock: string, version: string, id: string): Promise<{ text: string; binary: boolean }> {
  const ws = new WebSocket(
    `ws+unix://${sock}:/v${version}/containers/${id}/attach/ws?stream=1&stdin=1&stdout=1&stderr=1`,
  );
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const got = new Promise<{ text: string; binary: boolean }>((resolve) =>
      ws.once('message', (data: Buffer, binary: boolean) => resolve({ text: data.toString(), binary })),
    );
    ws.send(`hello ${version}\n`);
    return await Promise.race([got, sleep(20_000).then(() => ({ text: 'timeout', binary: false }))]);
  } finally {
    ws.close();
  }
}

test('attach over a WebSocket: stdin in, output back unframed; binary frames from 1.28, text before', async () => {
  const id = ok(await api.docker(['run', '-d', '-i', '--name', 'wscat', 'busybox', 'cat']), 'run -d -i').stdout.trim();
  assert.deepEqual(await wsEcho(api.socket, '1.43', id), { text: 'hello 1.43\n', binary: true });
  assert.deepEqual(await wsEcho(api.socket, '1.27', id), { text: 'hello 1.27\n', binary: false });
  ok(await api.docker(['rm', '-f', 'wscat']), 'rm -f');
});

test('attach over a WebSocket with logs=1: the past output first; without stream=1 the socket then closes', async () => {
  const id = ok(
    await api.docker(['run', '-d', '--name', 'wslogs', 'busybox', 'echo', 'said before']),
    'run -d',
  ).stdout.trim();
  ok(await api.docker(['wait', id]), 'wait');
  const ws = new WebSocket(`ws+unix://${api.socket}:/v1.43/containers/${id}/attach/ws?logs=1&stdout=1&stderr=1`);
  const chunks: string[] = [];
  ws.on('message', (data: Buffer) => chunks.push(data.toString()));
  const closed = await Promise.race([
    new Promise<boolean>((resolve) => ws.once('close', () => resolve(true))),
    sleep(20_000).then(() => false),
  ]);
  ws.close();
  assert.equal(closed, true, 'the socket closes after the logs');
  assert.equal(chunks.join(''), 'said before\n');
  ok(await api.docker(['rm', '-f', 'wslogs']), 'rm -f');
});

test('GET /version before 1.35 has no Components; GET /info has SystemTime, NFd, NGoroutines, NEventsListener', async () => {
  const v34 = JSON.parse((await apiRequest(api.socket, 'GET', '/v1.34/version')).body) as Record<string, unknown>;
  const v43 = JSON.parse((await apiRequest(api.socket, 'GET', '/v1.43/version')).body) as Record<string, unknown>;
  assert.equal('Components' in v34, false);
  assert.ok(Array.isArray(v43.Components));
  assert.equal(v34.ApiVersion, v43.ApiVersion);
  const info = JSON.parse((await apiRequest(api.socket, 'GET', '/v1.43/info')).body) as Record<string, unknown>;
  assert.ok(Number.isFinite(Date.parse(String(info.SystemTime))), String(info.SystemTime));
  assert.ok(Number(info.NFd) > 0);
  assert.ok(Number(info.NGoroutines) > 0);
  assert.equal(info.NEventsListener, 0);
});

test('older API versions get their shapes: BuilderSize and KernelMemory before 1.42, the filter parameter up to 1.40', async () => {
  const df41 = JSON.parse((await apiRequest(api.socket, 'GET', '/v1.41/system/df')).body) as Record<string, unknown>;
  const df43 = JSON.parse((await apiRequest(api.socket, 'GET', '/v1.43/system/df')).body) as Record<string, unknown>;
  assert.equal(df41.BuilderSize, 0);
  assert.equal('BuilderSize' in df43, false);
  ok(await api.docker(['create', '--name', 'shaped', 'busybox', 'true']), 'create');
  const hc = async (v: string) =>
    (
      JSON.parse((await apiRequest(api.socket, 'GET', `/v${v}/containers/shaped/json`)).body) as {
        HostConfig: Record<string, unknown>;
      }
    ).HostConfig;
  assert.equal((await hc('1.41')).KernelMemory, 0);
  assert.equal('KernelMemory' in (await hc('1.43')), false);
  const list = async (v: string) =>
    (JSON.parse((await apiRequest(api.socket, 'GET', `/v${v}/images/json?filter=busybox`)).body) as unknown[]).length;
  ok(await api.docker(['tag', 'busybox', 'other:v1']), 'tag');
  assert.equal(await list('1.40'), 1);
  assert.equal(await list('1.41'), 2, 'the filter parameter is gone in 1.41');
  ok(await api.docker(['rmi', 'other:v1']), 'rmi');
  ok(await api.docker(['rm', 'shaped']), 'rm');
});

test('run -e, and docker events streaming live while a container comes and goes', async () => {
  const env = ok(
    await api.docker(['run', '--rm', '-e', 'GREETING=hi there', 'busybox', 'sh', '-c', 'echo "$GREETING"']),
    'run -e',
  );
  assert.equal(env.stdout, 'hi there\n');
  const events = spawn(
    'docker',
    ['events', '--filter', 'type=container', '--format', '{{.Action}} {{.Actor.Attributes.name}}'],
    {
      env: { ...process.env, DOCKER_HOST: `unix://${api.socket}`, DOCKER_CONFIG: api.dockerConfig },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  events.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const closed = new Promise((r) => events.once('close', r));
  try {
    await sleep(500); // the stream is open before the container is made
    ok(await api.docker(['run', '--rm', '--name', 'evented', 'busybox', 'true']), 'run');
    for (let i = 0; i < 100 && !/destroy evented/.test(out); i++) await sleep(100);
    assert.match(out, /^create evented$/m);
    assert.match(out, /^start evented$/m);
    assert.match(out, /^die evented$/m);
    assert.match(out, /^destroy evented$/m);
  } finally {
    events.kill('SIGTERM');
    await closed;
  }
});
