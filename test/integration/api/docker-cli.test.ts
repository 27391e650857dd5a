/**
 * The Engine API with the real docker CLI 28: `wharf system service` on a temporary socket over a temporary root,
 * `DOCKER_HOST` pointing at it. What docker does through the API is what `wharf` sees in the same store.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startRegistry, loadRegistryConfig, type RunningRegistry } from '../../../src/registry.js';
import { WHARF_BIN, ok, type CliResult } from '../../helpers/cli.js';
import { withBusybox, type Fixture } from '../container/fixture.js';

let fx: Fixture;
let registry: RunningRegistry;
let service: ChildProcess;
let socket: string;
let dockerConfig: string;
let serviceLog = '';

function docker(args: string[], input = ''): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', args, {
      env: { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: dockerConfig, DOCKER_BUILDKIT: '0' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 137, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
    child.stdin.end(input);
  });
}

before(async () => {
  fx = await withBusybox('wharf-api-');
  socket = path.join(fx.root, 'api.sock');
  dockerConfig = path.join(fx.root, 'docker-config');
  await fsp.mkdir(dockerConfig);
  registry = await startRegistry(
    await loadRegistryConfig({ wharfRoot: path.join(fx.root, 'registry'), addr: '127.0.0.1:0' }),
    { log: () => {} },
  );
  service = spawn(WHARF_BIN, ['--root', fx.root, 'system', 'service', '--time', '0', `unix://${socket}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  service.stderr!.on('data', (c: Buffer) => (serviceLog += c.toString()));
  for (let i = 0; i < 100 && !existsSync(socket); i++) await sleep(50);
  assert.ok(existsSync(socket), `the service did not create its socket: ${serviceLog}`);
});

after(async () => {
  if (service && service.exitCode === null) {
    const exited = new Promise((r) => service.once('exit', r));
    service.kill('SIGTERM');
    await exited;
  }
  await registry?.close();
  await fx?.cleanup();
});

test('the socket is mode 0660 and /_ping answers with the API headers', async () => {
  const st = await fsp.stat(socket);
  assert.equal(st.mode & 0o777, 0o660);
  const v = ok(await docker(['version', '--format', '{{.Server.APIVersion}} {{.Server.Os}}']), 'docker version');
  assert.equal(v.stdout.trim(), '1.43 linux');
});

test('docker info reports the store wharf info does', async () => {
  const fmt = '{{.Images}} {{.Driver}} {{.DockerRootDir}}';
  const d = ok(await docker(['info', '--format', fmt]), 'docker info');
  const w = ok(await fx.cli(['info', '--format', fmt]), 'wharf info');
  assert.equal(d.stdout, w.stdout);
});

test('images, tag, inspect, history and rmi through the API match wharf', async () => {
  const fmt = '{{.Repository}}:{{.Tag}} {{.ID}}';
  assert.equal(
    ok(await docker(['images', '--format', fmt]), 'images').stdout,
    (await fx.cli(['images', '--format', fmt])).stdout,
  );
  ok(await docker(['tag', 'busybox', 'busybox:two']), 'tag');
  assert.match((await fx.cli(['images', '--format', fmt])).stdout, /^busybox:two /m);
  assert.equal(
    ok(await docker(['image', 'inspect', '-f', '{{.Id}}', 'busybox:two']), 'inspect').stdout,
    (await fx.cli(['image', 'inspect', '-f', '{{.Id}}', 'busybox'])).stdout,
  );
  assert.match(ok(await docker(['history', 'busybox:two']), 'history').stdout, /^IMAGE +CREATED +CREATED BY/);
  const rmi = ok(await docker(['rmi', 'busybox:two']), 'rmi');
  assert.equal(rmi.stdout, 'Untagged: busybox:two\n');
  const missing = await docker(['rmi', 'nope']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /Error response from daemon: No such image: nope/);
});

test('docker pull from a local wharf registry streams progress and lands in the store', async () => {
  const ref = `${registry.host}:${registry.port}/x/bb:v1`;
  ok(await fx.cli(['tag', 'busybox', ref]), 'tag');
  ok(await fx.cli(['push', ref]), 'wharf push');
  ok(await fx.cli(['rmi', ref]), 'wharf rmi');
  const pulled = ok(await docker(['pull', ref]), 'docker pull');
  assert.match(pulled.stdout, /v1: Pulling from x\/bb/);
  assert.match(pulled.stdout, /Status: /);
  assert.ok(pulled.stdout.trimEnd().endsWith(ref), pulled.stdout);
  assert.match((await fx.cli(['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout, new RegExp(`^${ref}$`, 'm'));
  const gone = await docker(['pull', `${registry.host}:${registry.port}/x/bb:nope`]);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /Error response from daemon: /);
});

test('run --rm prints the output and exits with the command code; the container is removed', async () => {
  const hi = await docker(['run', '--rm', 'busybox', 'echo', 'hi']);
  assert.deepEqual([hi.code, hi.stdout], [0, 'hi\n'], hi.stderr);
  const three = await docker(['run', '--rm', 'busybox', 'sh', '-c', 'echo oops >&2; exit 3']);
  assert.deepEqual([three.code, three.stderr], [3, 'oops\n']);
  assert.equal(ok(await fx.cli(['ps', '-aq']), 'ps').stdout, '');
});

test('run -d, ps, logs, exec, inspect, wait, stop and rm: wharf sees the same container', async () => {
  const id = ok(
    await docker(['run', '-d', '--name', 'web', 'busybox', 'sh', '-c', 'echo out; echo err >&2; sleep 300']),
    'run -d',
  ).stdout.trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  const psFmt = '{{.ID}} {{.Names}} {{.Image}}';
  assert.equal(
    ok(await docker(['ps', '--format', psFmt]), 'ps').stdout,
    ok(await fx.cli(['ps', '--format', psFmt]), 'wharf ps').stdout,
  );
  let logs: CliResult | undefined;
  for (let i = 0; i < 50; i++) {
    logs = await docker(['logs', 'web']);
    if (logs.stdout === 'out\n' && logs.stderr === 'err\n') break;
    await sleep(100);
  }
  assert.deepEqual([logs!.stdout, logs!.stderr], ['out\n', 'err\n']);
  const ex = await docker(['exec', 'web', 'sh', '-c', 'echo in; exit 4']);
  assert.deepEqual([ex.code, ex.stdout], [4, 'in\n']);
  // The exec start's JSON body is not the process's stdin.
  assert.equal(ok(await docker(['exec', '-i', 'web', 'cat'], 'piped\n'), 'exec -i').stdout, 'piped\n');
  const fmt = '{{.Id}} {{.Name}} {{.State.Status}} {{.Config.Image}}';
  assert.equal(ok(await docker(['inspect', '-f', fmt, 'web']), 'inspect').stdout, `${id} /web running busybox\n`);
  assert.equal((await fx.cli(['inspect', '-f', fmt, 'web'])).stdout, `${id} /web running busybox\n`);
  // 409s: the name is taken, a running container is not removed without force.
  const taken = await docker(['create', '--name', 'web', 'busybox']);
  assert.equal(taken.code, 1);
  assert.match(taken.stderr, /Conflict\. The container name "\/web" is already in use/);
  const busy = await docker(['rm', 'web']);
  assert.equal(busy.code, 1);
  assert.match(busy.stderr, /Error response from daemon: .*running container/);
  const waiting = docker(['wait', 'web']);
  ok(await docker(['stop', '-t', '1', 'web']), 'stop');
  assert.equal((await waiting).stdout, '137\n');
  // 304: stopping a stopped container is a success.
  assert.equal(ok(await docker(['stop', 'web']), 'stop again').stdout, 'web\n');
  assert.match((await fx.cli(['ps', '-a', '--format', '{{.Status}}'])).stdout, /^Exited \(137\)/);
  ok(await docker(['rm', 'web']), 'rm');
  assert.equal((await fx.cli(['ps', '-aq'])).stdout, '');
});

test('errors: inspect of a missing object, 404 for a missing container', async () => {
  const r = await docker(['inspect', 'nope']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Error: No such object: nope/);
  const s = await docker(['stop', 'nope']);
  assert.equal(s.code, 1);
  assert.match(s.stderr, /Error response from daemon: No such container: nope/);
});

test('lifecycle verbs: pause, unpause, rename, restart, kill, start, port, logs -f, attach, piped stdin', async () => {
  ok(await docker(['run', '-d', '--name', 'life', '-p', '127.0.0.1::80', 'busybox', 'sleep', '300']), 'run -d -p');
  assert.match(ok(await docker(['port', 'life']), 'port').stdout, /^80\/tcp -> 127\.0\.0\.1:\d+$/m);
  const fmt = '{{.Names}} {{.Image}}';
  for (const filter of ['name=lif', 'status=running', 'ancestor=busybox', 'label=none']) {
    const d = ok(await docker(['ps', '-a', '--filter', filter, '--format', fmt]), `ps --filter ${filter}`).stdout;
    assert.equal(d, (await fx.cli(['ps', '-a', '--filter', filter, '--format', fmt])).stdout, filter);
  }
  ok(await docker(['pause', 'life']), 'pause');
  assert.match((await fx.cli(['ps', '--format', '{{.Status}}'])).stdout, /\(Paused\)/);
  const again = await docker(['pause', 'life']);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /is already paused/);
  ok(await docker(['unpause', 'life']), 'unpause');
  ok(await docker(['rename', 'life', 'life2']), 'rename');
  assert.equal((await fx.cli(['ps', '--format', '{{.Names}}'])).stdout, 'life2\n');
  ok(await docker(['restart', '-t', '1', 'life2']), 'restart');
  assert.equal(ok(await docker(['kill', 'life2']), 'kill').stdout, 'life2\n');
  assert.equal(ok(await docker(['start', 'life2']), 'start').stdout, 'life2\n');
  assert.match((await fx.cli(['ps', '--format', '{{.Status}}'])).stdout, /^Up /);
  ok(await docker(['rm', '-f', 'life2']), 'rm -f');

  ok(
    await docker([
      'run',
      '-d',
      '--name',
      'talk',
      'busybox',
      'sh',
      '-c',
      'sleep 2; echo one; sleep 1; echo two; exit 5',
    ]),
    'run -d',
  );
  const [followed, attached] = await Promise.all([docker(['logs', '-f', 'talk']), docker(['attach', 'talk'])]);
  assert.equal(followed.stdout, 'one\ntwo\n');
  assert.equal(attached.code, 5);
  assert.match(attached.stdout, /two\n$/);
  ok(await docker(['rm', 'talk']), 'rm');

  const piped = await docker(['run', '-i', '--rm', 'busybox', 'sh', '-c', 'cat; echo done'], 'a\nb\n');
  assert.deepEqual([piped.code, piped.stdout], [0, 'a\nb\ndone\n']);
});

test('volumes and events through the API', async () => {
  assert.equal(ok(await docker(['volume', 'create', '--label', 'a=b', 'v1']), 'volume create').stdout, 'v1\n');
  const fmt = '{{.Driver}} {{.Name}}';
  assert.equal(
    ok(await docker(['volume', 'ls', '--format', fmt]), 'volume ls').stdout,
    (await fx.cli(['volume', 'ls', '--format', fmt])).stdout,
  );
  assert.equal(
    ok(await docker(['volume', 'inspect', '-f', '{{.Mountpoint}} {{.Labels}}', 'v1']), 'volume inspect').stdout,
    (await fx.cli(['volume', 'inspect', '-f', '{{.Mountpoint}} {{.Labels}}', 'v1'])).stdout,
  );
  ok(await docker(['run', '-d', '--name', 'vol', '-v', 'v1:/data', 'busybox', 'sleep', '300']), 'run -v');
  const busy = await docker(['volume', 'rm', 'v1']);
  assert.equal(busy.code, 1);
  assert.match(busy.stderr, /volume is in use/);
  ok(await docker(['rm', '-f', 'vol']), 'rm -f');
  ok(await docker(['volume', 'rm', 'v1']), 'volume rm');
  const missing = await docker(['volume', 'inspect', 'v1']);
  assert.equal(missing.code, 1);
  // The docker CLI sends `until` in whole seconds: a moment just ahead, so that the last second's events are in.
  const until = String(Math.ceil(Date.now() / 1000) + 1);
  const df = ok(await docker(['system', 'df', '--format', '{{.Type}} {{.TotalCount}}']), 'system df').stdout;
  assert.match(df, /^Images \d+\nContainers 0\nLocal Volumes 0\nBuild Cache 0\n$/);
  const past = ok(
    await docker(['events', '--since', '5m', '--until', until, '--filter', 'type=volume']),
    'events',
  ).stdout;
  assert.match(past, /volume create v1 /);
  assert.match(past, /volume destroy v1 /);
  assert.equal(past, (await fx.cli(['events', '--since', '5m', '--until', until, '--filter', 'type=volume'])).stdout);
});

test('diff, top, commit and export through the API', async () => {
  ok(await docker(['run', '-d', '--name', 'files', 'busybox', 'sleep', '300']), 'run -d');
  assert.equal(ok(await docker(['diff', 'files']), 'diff').stdout, '');
  ok(await docker(['exec', 'files', 'sh', '-c', 'echo x > /newfile']), 'exec');
  assert.equal(ok(await docker(['diff', 'files']), 'diff').stdout, (await fx.cli(['diff', 'files'])).stdout);
  assert.match(ok(await docker(['diff', 'files']), 'diff').stdout, /^A \/newfile$/m);
  const top = ok(await docker(['top', 'files', '-o', 'pid,comm']), 'top').stdout;
  assert.match(top, /^PID +COMMAND\n\d+ +sleep\n$/);
  const id = ok(
    await docker(['commit', '-m', 'msg', '-c', 'ENV A=1', 'files', 'committed:v1']),
    'commit',
  ).stdout.trim();
  assert.equal(
    (await fx.cli(['image', 'inspect', '-f', '{{.Id}} {{.Comment}}', 'committed:v1'])).stdout,
    `${id} msg\n`,
  );
  const tar = await new Promise<Buffer>((resolve, reject) => {
    const child = spawn('docker', ['export', 'files'], {
      env: { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: dockerConfig },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.on('error', reject);
    child.on('close', () => resolve(Buffer.concat(chunks)));
  });
  assert.ok(tar.includes(Buffer.from('newfile')), 'the export holds the new file');
  ok(await docker(['rm', '-f', 'files']), 'rm');
  ok(await docker(['rmi', 'committed:v1']), 'rmi');
});

test('save, load and import through the API', async () => {
  const tarFile = path.join(fx.root, 'saved.tar');
  ok(await fx.cli(['pull', `${registry.host}:${registry.port}/x/bb:v1`]), 'wharf pull');
  ok(await docker(['tag', `${registry.host}:${registry.port}/x/bb:v1`, 'saved:v1']), 'tag');
  ok(await docker(['save', '-o', tarFile, 'saved:v1']), 'docker save');
  ok(await docker(['rmi', 'saved:v1']), 'rmi');
  const loaded = ok(await docker(['load', '-i', tarFile]), 'docker load');
  assert.equal(loaded.stdout, 'Loaded image: saved:v1\n');
  assert.match((await fx.cli(['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout, /^saved:v1$/m);
  const missing = await docker(['save', '-o', path.join(fx.root, 'none.tar'), 'nope:v1']);
  assert.equal(missing.code, 1);
  ok(await docker(['run', '--name', 'exp', 'saved:v1', 'sh', '-c', 'echo x > /imported-file']), 'run');
  const exported = path.join(fx.root, 'exp.tar');
  ok(await docker(['export', '-o', exported, 'exp']), 'export -o');
  const imported = ok(await docker(['import', '-m', 'imp msg', '-c', 'CMD ["sh"]', exported, 'imported:v1']), 'import');
  assert.match(imported.stdout, /^sha256:[0-9a-f]{64}\n$/);
  const ran = await docker(['run', '--rm', 'imported:v1', 'cat', '/imported-file']);
  assert.deepEqual([ran.code, ran.stdout], [0, 'x\n']);
  ok(await docker(['rm', 'exp']), 'rm');
});

test('cp both ways through the archive endpoint', async () => {
  const dir = path.join(fx.root, 'cp');
  await fsp.mkdir(dir);
  ok(await docker(['run', '-d', '--name', 'cp', 'busybox', 'sleep', '300']), 'run -d');
  ok(await docker(['cp', 'cp:/var/www/index.html', path.join(dir, 'out.html')]), 'cp from');
  assert.equal(await fsp.readFile(path.join(dir, 'out.html'), 'utf8'), 'hello from wharf\n');
  ok(await docker(['cp', 'cp:/var/www', path.join(dir, 'www')]), 'cp a directory from');
  assert.deepEqual(await fsp.readdir(path.join(dir, 'www')), ['index.html']);
  await fsp.writeFile(path.join(dir, 'in.txt'), 'in\n');
  ok(await docker(['cp', path.join(dir, 'in.txt'), 'cp:/tmp/']), 'cp into a directory');
  ok(await docker(['cp', path.join(dir, 'in.txt'), 'cp:/tmp/renamed.txt']), 'cp to a new name');
  assert.equal(ok(await docker(['exec', 'cp', 'cat', '/tmp/in.txt', '/tmp/renamed.txt']), 'exec').stdout, 'in\nin\n');
  const missing = await docker(['cp', 'cp:/nonexist', dir]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /Could not find the file \/nonexist in container cp/);
  ok(await docker(['rm', '-f', 'cp']), 'rm');
});

test('push to a local wharf registry and prunes through the API', async () => {
  const login = ok(await docker(['login', '-u', 'bob', '-p', 'secret', `${registry.host}:${registry.port}`]), 'login');
  assert.match(login.stdout, /Login Succeeded/);
  const ref = `${registry.host}:${registry.port}/x/pushed:v1`;
  ok(await docker(['tag', 'busybox', ref]), 'tag');
  const pushed = ok(await docker(['push', ref]), 'docker push');
  assert.match(pushed.stdout, /The push refers to repository|v1: digest: sha256:[0-9a-f]{64} size: \d+/);
  assert.match(pushed.stdout, /v1: digest: sha256:[0-9a-f]{64} size: \d+/);
  ok(await docker(['rmi', ref]), 'rmi');
  ok(await fx.cli(['pull', ref]), 'wharf pull of what docker pushed');
  const missing = await docker(['push', `${registry.host}:${registry.port}/x/nothing:v1`]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /No such image/);

  ok(await docker(['create', '--name', 'stale', '--label', 'p=1', 'busybox']), 'create');
  const pruned = ok(await docker(['container', 'prune', '-f', '--filter', 'label=p=1']), 'container prune');
  assert.match(pruned.stdout, /^Deleted Containers:\n[0-9a-f]{64}\n/);
  assert.equal((await fx.cli(['ps', '-aq'])).stdout, '');
  ok(await fx.cli(['tag', 'busybox', 'extra:v1']), 'tag');
  const images = ok(await docker(['image', 'prune', '-af']), 'image prune -a');
  assert.match(images.stdout, /untagged: /);
  assert.equal((await fx.cli(['images', '-q'])).stdout, '');
});
