/**
 * dockerode (npm, with docker-modem) drives Wharf's Engine API: create, attach before start, start, wait, logs,
 * exec (plain and hijacked with stdin), inspect, archives, remove, push and pull with followProgress against
 * `wharf registry serve` on loopback, and docker-modem's demuxStream of the multiplexed stdout/stderr frames.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { PassThrough, type Readable, type Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type Dockerode from 'dockerode';
import { startApiService, type ApiService } from '../../helpers/api-service.js';
import { serveRegistry, type ServedRegistry } from '../../helpers/registry-serve.js';
import { withBusybox, type Fixture } from '../container/fixture.js';

const require = createRequire(import.meta.url);

/** dockerode, or the reason it cannot be loaded (a dev dependency: missing only where npm ci was not run). */
function loadDockerode(): { Docker?: typeof Dockerode; version?: string; missing?: string } {
  try {
    return {
      Docker: require('dockerode') as typeof Dockerode,
      version: (require('dockerode/package.json') as { version: string }).version,
    };
  } catch (err) {
    return { missing: `dockerode is not installed (npm ci): ${(err as Error).message}` };
  }
}
const { Docker, version, missing } = loadDockerode();

let fx: Fixture;
let registry: ServedRegistry;
let service: ApiService;
let docker: Dockerode;

before(async () => {
  if (!Docker) return;
  fx = await withBusybox('wharf-api-dockerode-');
  registry = await serveRegistry(fx.root);
  service = await startApiService(fx.root);
  docker = new Docker({ socketPath: service.socket });
});

after(async () => {
  await service?.stop();
  await registry?.stop();
  await fx?.cleanup();
});

/** What a stream carries until it ends, split by docker-modem's demuxStream into stdout and stderr. */
function demuxed(stream: Readable | Duplex): Promise<{ stdout: string; stderr: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (c: Buffer) => (stdout += c.toString()));
  err.on('data', (c: Buffer) => (stderr += c.toString()));
  docker.modem.demuxStream(stream, out, err);
  return new Promise((resolve, reject) => {
    stream.on('end', () => resolve({ stdout, stderr }));
    stream.on('close', () => resolve({ stdout, stderr }));
    stream.on('error', reject);
  });
}

function followProgress(stream: NodeJS.ReadableStream): Promise<Array<Record<string, unknown>>> {
  return new Promise((resolve, reject) => {
    const seen: Array<Record<string, unknown>> = [];
    docker.modem.followProgress(
      stream,
      (err: Error | null, all: Array<Record<string, unknown>>) => (err ? reject(err) : resolve(all)),
      (event: Record<string, unknown>) => seen.push(event),
    );
  });
}

const skip = missing ?? false;

test(`dockerode ${version ?? ''}: ping, version, info, images`, { skip }, async () => {
  assert.equal(String(await docker.ping()), 'OK');
  const v = await docker.version();
  assert.equal(v.Os, 'linux');
  assert.ok(v.ApiVersion);
  const info = await docker.info();
  assert.equal(typeof info.Images, 'number');
  const images = await docker.listImages();
  assert.ok(images.some((i) => (i.RepoTags ?? []).includes('busybox:latest')));
  const inspected = await docker.getImage('busybox').inspect();
  assert.deepEqual(inspected.Config.Cmd, ['sh']);
  await assert.rejects(docker.getImage('nope:v9').inspect(), (err: { statusCode?: number }) => err.statusCode === 404);
});

test('create, attach before start, demuxStream, wait, inspect, logs, remove', { skip }, async () => {
  const c = await docker.createContainer({
    Image: 'busybox',
    Cmd: ['sh', '-c', 'echo out; echo err >&2; exit 3'],
    AttachStdout: true,
    AttachStderr: true,
    Labels: { suite: 'dockerode' },
  });
  const stream = await c.attach({ stream: true, stdout: true, stderr: true });
  const output = demuxed(stream as unknown as Duplex);
  await c.start();
  // After the start: a wait (condition not-running) on a container not started yet returns at once, as dockerd's.
  const waited = c.wait();
  assert.deepEqual(await output, { stdout: 'out\n', stderr: 'err\n' });
  assert.equal((await waited).StatusCode, 3);
  const info = await c.inspect();
  assert.equal(info.State.Status, 'exited');
  assert.equal(info.State.ExitCode, 3);
  assert.deepEqual(info.Config.Labels, { suite: 'dockerode' });
  // logs without follow: one Buffer of mux frames; with follow: a stream.
  const logs = (await c.logs({ stdout: true, stderr: true })) as unknown as Buffer;
  const frames = new PassThrough();
  const fromBuffer = demuxed(frames);
  frames.end(logs);
  assert.deepEqual(await fromBuffer, { stdout: 'out\n', stderr: 'err\n' });
  const followed = await c.logs({ stdout: true, stderr: false, follow: true });
  assert.deepEqual(await demuxed(followed as unknown as Readable), { stdout: 'out\n', stderr: '' });
  const listed = await docker.listContainers({ all: true, filters: { label: ['suite=dockerode'] } });
  assert.deepEqual(
    listed.map((x) => x.Id),
    [c.id],
  );
  await c.remove();
  await assert.rejects(c.inspect(), (err: { statusCode?: number }) => err.statusCode === 404);
});

/** Reads a stream until `want` is in what came, at most 20 s; what came. */
function readUntil(stream: Duplex, want: string, seen = { text: '' }): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const check = () => {
      if (!seen.text.includes(want)) return;
      clearTimeout(timer);
      stream.off('data', onData);
      resolve(seen.text);
    };
    const onData = (d: Buffer) => {
      seen.text += d.toString();
      check();
    };
    const timer = setTimeout(() => reject(new Error(`no ${want} in ${JSON.stringify(seen.text)}`)), 20_000);
    stream.on('data', onData);
    check();
  });
}

test('a TTY container: attach with logs, raw bytes both ways, resize, stop, wait', { skip }, async () => {
  const c = await docker.createContainer({
    Image: 'busybox',
    Cmd: ['sh', '-c', 'tty; echo ready; read line; echo "got $line"; sleep 30'],
    Tty: true,
    OpenStdin: true,
  });
  await c.start();
  try {
    // What it wrote before the attach comes with `logs`: wait until it wrote it (the log is what the attach replays).
    for (let i = 0; i < 100 && !String(await c.logs({ stdout: true })).includes('ready'); i++) await sleep(100);
    const stream = (await c.attach({
      stream: true,
      stdin: true,
      stdout: true,
      stderr: true,
      logs: true,
      hijack: true,
    })) as unknown as Duplex;
    const seen = { text: '' };
    assert.match(await readUntil(stream, 'ready\r\n', seen), /^\/dev\/pts\/\d+\r\nready\r\n$/);
    // Then the live stream: stdin goes in raw, the terminal echoes it, the answer comes back raw.
    stream.write('hello\n');
    assert.match(await readUntil(stream, 'got hello\r\n', seen), /ready\r\nhello\r\ngot hello\r\n$/);
    await c.resize({ h: 30, w: 100 });
    const waited = c.wait();
    await c.stop({ t: 1 });
    assert.notEqual((await waited).StatusCode, 0);
    stream.destroy();
  } finally {
    await c.remove({ force: true });
  }
});

test('exec: output demuxed, exit code, hijacked stdin, tty', { skip }, async () => {
  const c = await docker.createContainer({ Image: 'busybox', Cmd: ['sleep', '60'] });
  await c.start();
  try {
    const plain = await c.exec({
      Cmd: ['sh', '-c', 'echo out; echo err >&2; exit 4'],
      AttachStdout: true,
      AttachStderr: true,
    });
    const out = await demuxed(await plain.start({}));
    assert.deepEqual(out, { stdout: 'out\n', stderr: 'err\n' });
    const inspected = await plain.inspect();
    assert.equal(inspected.ExitCode, 4);
    assert.equal(inspected.Running, false);

    const withStdin = await c.exec({
      Cmd: ['sh', '-c', 'cat; echo done'],
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
    });
    const duplex = (await withStdin.start({ hijack: true, stdin: true })) as unknown as Duplex;
    const result = demuxed(duplex);
    duplex.end('from stdin\n');
    assert.deepEqual(await result, { stdout: 'from stdin\ndone\n', stderr: '' });

    const tty = await c.exec({ Cmd: ['sh', '-c', 'tty; echo hi'], AttachStdout: true, Tty: true });
    const raw = await tty.start({ Tty: true });
    let text = '';
    raw.on('data', (d: Buffer) => (text += d.toString()));
    await new Promise((resolve) => raw.on('end', resolve));
    assert.match(text, /^\/dev\/pts\/\d+\r\nhi\r\n$/);
    assert.equal((await tty.inspect()).ExitCode, 0);

    // A client that drops a hijacked connection with output unread (the service sees ECONNRESET): the service goes on.
    const noisy = await c.exec({ Cmd: ['seq', '1', '200000'], AttachStdout: true });
    const dropped = (await noisy.start({ hijack: true, stdin: true })) as unknown as Duplex;
    await new Promise((resolve) => dropped.once('data', resolve));
    dropped.destroy();
    assert.equal(String(await docker.ping()), 'OK');
  } finally {
    await c.remove({ force: true });
  }
});

test('putArchive, getArchive, top, pause, unpause, rename', { skip }, async () => {
  const c = await docker.createContainer({ Image: 'busybox', Cmd: ['sleep', '60'], name: 'dode' });
  await c.start();
  try {
    const archive = await c.getArchive({ path: '/var/www/index.html' });
    const chunks: Buffer[] = [];
    for await (const chunk of archive) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    assert.ok(body.includes(Buffer.from('hello from wharf\n')), 'the tar holds the file');
    await c.putArchive(body, { path: '/tmp' });
    const check = await c.exec({ Cmd: ['cat', '/tmp/index.html'], AttachStdout: true, AttachStderr: true });
    assert.deepEqual(await demuxed(await check.start({})), { stdout: 'hello from wharf\n', stderr: '' });
    const top = await c.top();
    assert.ok(top.Processes.some((p: string[]) => p.join(' ').includes('sleep')));
    await c.pause();
    assert.equal((await c.inspect()).State.Status, 'paused');
    await c.unpause();
    await c.rename({ name: 'dode2' });
    assert.equal((await c.inspect()).Name, '/dode2');
  } finally {
    await c.remove({ force: true });
  }
});

test('push and pull with followProgress against wharf registry serve', { skip }, async () => {
  const repo = `${registry.host}/dode/bb`;
  await docker.getImage('busybox').tag({ repo, tag: 'v1' });
  const pushed = await followProgress(await docker.getImage(`${repo}:v1`).push({ tag: 'v1' }));
  assert.ok(!pushed.some((e) => e.error), JSON.stringify(pushed));
  assert.ok(
    pushed.some((e) => (e.aux as { Digest?: string } | undefined)?.Digest),
    JSON.stringify(pushed),
  );
  await docker.getImage(`${repo}:v1`).remove();
  const progress: string[] = [];
  const pulled = await new Promise<Array<Record<string, unknown>>>((resolve, reject) => {
    docker.pull(`${repo}:v1`, (err: Error | null, stream: NodeJS.ReadableStream) => {
      if (err) return reject(err);
      docker.modem.followProgress(
        stream,
        (e: Error | null, all: Array<Record<string, unknown>>) => (e ? reject(e) : resolve(all)),
        (event: { status?: string }) => progress.push(event.status ?? ''),
      );
    });
  });
  assert.ok(!pulled.some((e) => e.error), JSON.stringify(pulled));
  assert.ok(
    progress.some((s) => /^Status: /.test(s)),
    progress.join('\n'),
  );
  assert.equal((await docker.getImage(`${repo}:v1`).inspect()).Id, (await docker.getImage('busybox').inspect()).Id);
  // A missing tag: the error before the stream, as a 404.
  await assert.rejects(docker.pull(`${repo}:nope`), (err: { statusCode?: number }) => err.statusCode === 404);
  await docker.getImage(`${repo}:v1`).remove();
});

test('volumes and the run helper', { skip }, async () => {
  const vol = await docker.createVolume({ Name: 'dodevol', Labels: { a: 'b' } });
  assert.equal(vol.name, 'dodevol');
  assert.deepEqual((await vol.inspect()).Labels, { a: 'b' });
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  const [result, container] = (await docker.run('busybox', ['sh', '-c', 'echo hi > /v/f; cat /v/f'], out, {
    HostConfig: { Binds: ['dodevol:/v'] },
  })) as [{ StatusCode: number }, Dockerode.Container];
  assert.equal(result.StatusCode, 0);
  assert.equal(text, 'hi\r\n', 'docker.run makes a TTY container');
  await container.remove();
  const { Volumes } = await docker.listVolumes();
  assert.ok(Volumes.some((v) => v.Name === 'dodevol'));
  await docker.getVolume('dodevol').remove();
  // As dockerd's: the list of deleted volumes is [] when none went (not null, as for containers and images).
  assert.deepEqual(await docker.pruneVolumes(), { VolumesDeleted: [], SpaceReclaimed: 0 });
  assert.equal((await fx.cli(['ps', '-aq'])).stdout, '');
});
