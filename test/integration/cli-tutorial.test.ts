/**
 * A Docker tutorial's commands as written (issue 12), with `wharf` in place of `docker`: pflag's `-m="…"`, `-t="…"`,
 * `--privileged=true`, `-e=FOO=bar`, `--rm=false`, `-d=true`, `-itd`; `--restart=always` and `stop`; a build whose
 * FROM is only in a registry and a `run` of an image only in a registry (pulled on demand); push and pull; and the
 * registry clean-up: DELETE of a manifest by digest with curl, then `wharf registry gc` freeing what only it used.
 * Each step checks what the command did, not only its exit status. Three roots play three machines: the user's,
 * a build host, and another host that only pulls; the registry is `wharf registry serve` on a loopback port.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from '../../src/util/index.js';
import { ok, tempRoot, WHARF_BIN, type CliResult } from '../helpers/cli.js';
import { serveRegistry, type ServedRegistry } from '../helpers/registry-serve.js';
import { fetchWithRetry, until, withBusybox, type Fixture } from './container/fixture.js';

type Root = Awaited<ReturnType<typeof tempRoot>>;
let user: Fixture;
let builder: Root;
let other: Root;
let regRoot: Root;
let reg: ServedRegistry;
/** host:port of the registry, as the tutorial's `localhost:5000`. */
let R = '';

/** Remove the containers a root made (their monitors and networks), then its files. */
async function removeRoot(r: Root | undefined): Promise<void> {
  if (!r) return;
  const ids = (await r.cli(['ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean);
  if (ids.length) await r.cli(['rm', '-f', '-v', ...ids]);
  await r.cleanup();
}

before(async () => {
  user = await withBusybox('wharf-tut-user-');
  builder = await tempRoot('wharf-tut-build-');
  other = await tempRoot('wharf-tut-other-');
  regRoot = await tempRoot('wharf-tut-reg-');
  reg = await serveRegistry(regRoot.root);
  R = reg.host;
});
after(async () => {
  await reg?.stop();
  await user?.cleanup();
  await removeRoot(builder);
  await removeRoot(other);
  await regRoot?.cleanup();
});

/**
 * A tutorial's command line as typed, run by bash with `wharf` as a function for this root: the shell removes the
 * quotes of `-m="add f"` and Wharf gets `-m=add f`, as docker would.
 */
async function typed(root: string, line: string, cwd?: string): Promise<CliResult> {
  const script = `wharf() { ${JSON.stringify(WHARF_BIN)} --root ${JSON.stringify(root)} "$@"; }\n${line}`;
  const r = await run('bash', ['-c', script], {
    check: false,
    ...(cwd !== undefined ? { cwd } : {}),
    signal: AbortSignal.timeout(120_000),
  });
  return { code: r.code, stdout: r.stdout, stderr: r.stderr };
}

const inspect = async (cli: Root['cli'], format: string, name: string): Promise<string> =>
  ok(await cli(['inspect', '-f', format, name]), `inspect ${name}`).stdout.trimEnd();

/** curl as the tutorial types it; the status and headers from `-D -`, the body after them. */
async function curl(args: string[]): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const r = await run('curl', ['-sS', '-D', '-', ...args], { signal: AbortSignal.timeout(30_000) });
  const sep = r.stdout.indexOf('\r\n\r\n');
  const head = r.stdout.slice(0, sep).split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of head.slice(1)) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status: Number(head[0]!.split(' ')[1]), headers, body: r.stdout.slice(sep + 4) };
}

const MANIFEST_V2 = 'application/vnd.docker.distribution.manifest.v2+json';

/** The digest and the blobs (config and layers) of a manifest in the registry, read as the tutorial reads it. */
async function manifestOf(repo: string, ref: string): Promise<{ digest: string; blobs: string[] }> {
  const r = await curl(['-H', `Accept: ${MANIFEST_V2}`, '-X', 'GET', `http://${R}/v2/${repo}/manifests/${ref}`]);
  assert.equal(r.status, 200, r.body);
  const m = JSON.parse(r.body) as { config: { digest: string }; layers: Array<{ digest: string }> };
  return { digest: r.headers['docker-content-digest']!, blobs: [m.config.digest, ...m.layers.map((l) => l.digest)] };
}

test('run -itd on a terminal (and with a pipe for stdin, which Docker accepts detached), then exec writes a file', async () => {
  const pty = await import('node-pty');
  const term = pty.spawn(WHARF_BIN, ['--root', user.root, 'run', '-itd', '--name', 'c1', 'busybox', 'sh'], {
    cols: 100,
    rows: 30,
    env: process.env as Record<string, string>,
  });
  let out = '';
  term.onData((d) => (out += d));
  const code = await Promise.race([
    new Promise<number>((r) => term.onExit(({ exitCode }) => r(exitCode))),
    sleep(60_000).then(() => -1),
  ]);
  assert.equal(code, 0, out);
  assert.match(out, /^[0-9a-f]{64}\r?\n/);
  assert.equal(
    await inspect(user.cli, '{{.State.Status}} {{.Config.Tty}} {{.Config.OpenStdin}}', 'c1'),
    'running true true',
  );

  const piped = ok(await typed(user.root, 'wharf run -itd --name c2 busybox sh < /dev/null'), 'run -itd, no terminal');
  assert.match(piped.stdout, /^[0-9a-f]{64}\n$/);
  assert.equal(await inspect(user.cli, '{{.State.Status}}', 'c2'), 'running');
  ok(await user.cli(['rm', '-f', 'c2']), 'rm c2');

  ok(await typed(user.root, "wharf exec c1 sh -c 'echo hi > /f'"), 'exec');
  assert.equal(ok(await user.cli(['exec', 'c1', 'cat', '/f']), 'exec cat').stdout, 'hi\n');
  assert.equal(ok(await user.cli(['diff', 'c1']), 'diff').stdout, 'A /f\n');
});

test('commit -m="add f" -a="shanla": the comment and the author without the "="', async () => {
  const r = ok(await typed(user.root, 'wharf commit -m="add f" -a="shanla" c1 me/img:v1'), 'commit');
  assert.match(r.stdout, /^sha256:[0-9a-f]{64}\n$/);
  assert.equal(await inspect(user.cli, '{{.Comment}}|{{.Author}}', 'me/img:v1'), 'add f|shanla');
  const history = ok(await user.cli(['history', '--format', '{{.CreatedBy}}|{{.Comment}}', 'me/img:v1']), 'history');
  assert.equal(history.stdout.split('\n')[0], 'sh|add f');
  assert.equal(ok(await user.cli(['run', '--rm', 'me/img:v1', 'cat', '/f']), 'run').stdout, 'hi\n');
});

test('push to the registry', async () => {
  ok(await user.cli(['tag', 'me/img:v1', `${R}/tutorial/img:v1`]), 'tag');
  const r = ok(await user.cli(['push', `${R}/tutorial/img:v1`]), 'push');
  assert.match(r.stdout, new RegExp(`^The push refers to repository \\[${R}/tutorial/img\\]\n`));
  assert.match(r.stdout, /: Pushed\n/);
  const { digest } = await manifestOf('tutorial/img', 'v1');
  assert.match(r.stdout, new RegExp(`v1: digest: ${digest} size: \\d+\n$`));
});

test('build -t="andrew/static_web:v1" . with FROM an image only in the registry, then serve it on -p 80', async () => {
  const ctx = path.join(builder.root, 'static_web');
  await mkdir(ctx);
  await writeFile(
    path.join(ctx, 'Dockerfile'),
    [
      `FROM ${R}/tutorial/img:v1`,
      'MAINTAINER James Turnbull "james@example.com"',
      "RUN echo 'Hi, I am in your container' > /var/www/index.html",
      'EXPOSE 80',
      '',
    ].join('\n'),
  );
  const b = await typed(builder.root, 'wharf build -t="andrew/static_web:v1" .', ctx);
  assert.equal(b.code, 0, b.stderr);
  assert.match(b.stdout, new RegExp(`Step 1/4 : FROM ${R}/tutorial/img:v1\nv1: Pulling from tutorial/img\n`));
  assert.match(b.stdout, new RegExp(`Status: Downloaded newer image for ${R}/tutorial/img:v1\n`));
  assert.match(b.stdout, /Successfully tagged andrew\/static_web:v1\n$/);
  assert.equal(
    await inspect(builder.cli, '{{.Author}} {{json .Config.ExposedPorts}}', 'andrew/static_web:v1'),
    'James Turnbull "james@example.com" {"80/tcp":{}}',
  );

  // The tutorial's `nginx -g "daemon off;"`, as busybox has it.
  ok(
    await typed(builder.root, 'wharf run -d -p 80 --name static_web andrew/static_web:v1 httpd -f -p 80 -h /var/www'),
    'run',
  );
  const port = ok(await builder.cli(['port', 'static_web', '80']), 'port').stdout;
  const m = /^0\.0\.0\.0:(\d+)\n/.exec(port);
  assert.ok(m, port);
  const page = await fetchWithRetry(Number(m[1]));
  assert.equal(page.body, 'Hi, I am in your container\n');
  ok(await builder.cli(['rm', '-f', 'static_web']), 'rm static_web');

  ok(await builder.cli(['tag', 'andrew/static_web:v1', `${R}/andrew/static_web:v1`]), 'tag');
  ok(await builder.cli(['push', `${R}/andrew/static_web:v1`]), 'push static_web');
});

test("run --privileged=true has every capability and device of the host; without it, Docker's defaults", async () => {
  const own = (await readFile('/proc/self/status', 'utf8')).split('\n').find((l) => l.startsWith('CapBnd:'));
  const caps = (flag: string) =>
    typed(user.root, `wharf run --rm ${flag} busybox grep CapBnd /proc/self/status`).then((r) => ok(r, 'run'));
  assert.equal((await caps('--privileged=true')).stdout, `${own}\n`);
  assert.equal((await caps('--privileged=false')).stdout, 'CapBnd:\t00000000a80425fb\n');
  // And the host's devices (Docker's WithDevices), beyond the few every container gets.
  const everyones = new Set(['null', 'zero', 'full', 'random', 'urandom', 'tty', 'ptmx', 'console']);
  const hostDev = readdirSync('/dev', { withFileTypes: true }).find(
    (e) => (e.isCharacterDevice() || e.isBlockDevice()) && !everyones.has(e.name),
  )?.name;
  if (hostDev) {
    const ls = (flag: string) => typed(user.root, `wharf run --rm ${flag} busybox ls /dev`).then((r) => ok(r, 'ls'));
    assert.ok((await ls('--privileged=true')).stdout.split('\n').includes(hostDev), hostDev);
    assert.ok(!(await ls('--privileged=false')).stdout.split('\n').includes(hostDev), hostDev);
  }
  ok(await typed(user.root, 'wharf create --privileged=true --name priv busybox'), 'create');
  assert.equal(await inspect(user.cli, '{{.HostConfig.Privileged}}', 'priv'), 'true');
});

test('--restart=always restarts a container that exits; stop ends the loop', async () => {
  ok(await typed(user.root, "wharf run -d --restart=always --name always busybox sh -c 'sleep 0.2; exit 3'"), 'run');
  assert.equal(
    await inspect(user.cli, '{{json .HostConfig.RestartPolicy}}', 'always'),
    '{"Name":"always","MaximumRetryCount":0}',
  );
  await until(async () => Number(await inspect(user.cli, '{{.RestartCount}}', 'always')) >= 2, 'two restarts', 60_000);
  ok(await user.cli(['stop', 'always']), 'stop');
  assert.equal(
    await inspect(user.cli, '{{.State.Status}} {{.State.Restarting}} {{.State.Running}} {{.State.Pid}}', 'always'),
    'exited false false 0',
  );
  const ps = ok(await user.cli(['ps', '-a', '--filter', 'name=always', '--format', '{{.Status}}']), 'ps');
  assert.match(ps.stdout, /^Exited \((3|137|143)\) /);
});

test('-e=FOO=bar --rm=false -d=true: the value without "=", the container kept after it exits', async () => {
  const r = ok(
    await typed(user.root, "wharf run -e=FOO=bar --rm=false -d=true --name envc busybox sh -c 'echo $FOO'"),
    'run',
  );
  assert.match(r.stdout, /^[0-9a-f]{64}\n$/);
  assert.equal(ok(await user.cli(['wait', 'envc']), 'wait').stdout, '0\n');
  assert.equal(ok(await user.cli(['logs', 'envc']), 'logs').stdout, 'bar\n');
  assert.equal(await inspect(user.cli, '{{.HostConfig.AutoRemove}} {{json .Config.Env}}', 'envc'), 'false ["FOO=bar"]');
});

test('run of an image only in the registry: "Unable to find image … locally", pulled, run; pull of another', async () => {
  const image = `${R}/andrew/static_web:v1`;
  const r = ok(await other.cli(['run', '--rm', image, 'cat', '/var/www/index.html']), 'run');
  assert.equal(r.stdout, 'Hi, I am in your container\n');
  assert.match(r.stderr, new RegExp(`^Unable to find image '${image}' locally\nv1: Pulling from andrew/static_web\n`));
  assert.match(r.stderr, new RegExp(`Status: Downloaded newer image for ${image}\n$`));

  const p = ok(await other.cli(['pull', `${R}/tutorial/img:v1`]), 'pull');
  const { digest } = await manifestOf('tutorial/img', 'v1');
  assert.match(p.stdout, new RegExp(`Digest: ${digest}\nStatus: Downloaded newer image for ${R}/tutorial/img:v1\n`));
  assert.equal(ok(await other.cli(['run', '--rm', `${R}/tutorial/img:v1`, 'cat', '/f']), 'run').stdout, 'hi\n');
  const images = ok(await other.cli(['images', '--format', '{{.Repository}}:{{.Tag}}']), 'images').stdout;
  assert.deepEqual(images.split('\n').filter(Boolean).sort(), [image, `${R}/tutorial/img:v1`]);
});

test('registry clean-up: DELETE the manifest by digest with curl, then gc frees the blobs only it used', async () => {
  const gone = await manifestOf('andrew/static_web', 'v1');
  const kept = await manifestOf('tutorial/img', 'v1');
  const onlyGone = gone.blobs.filter((b) => !kept.blobs.includes(b)).sort();
  assert.ok(onlyGone.length >= 2, 'its config and its RUN layer');

  const del = await curl([
    '-H',
    `Accept: ${MANIFEST_V2}`,
    '-X',
    'DELETE',
    `http://${R}/v2/andrew/static_web/manifests/${gone.digest}`,
  ]);
  assert.equal(del.status, 202, del.body);
  const after = await curl(['-H', `Accept: ${MANIFEST_V2}`, `http://${R}/v2/andrew/static_web/manifests/v1`]);
  assert.equal(after.status, 404);

  const gc: CliResult = ok(await regRoot.cli(['registry', 'gc']), 'registry gc');
  const deleted = [...gc.stdout.matchAll(/^deleted blob (sha256:[0-9a-f]{64}) \(/gm)].map((m) => m[1]!).sort();
  assert.deepEqual(deleted, onlyGone, gc.stdout);
  assert.match(gc.stdout, /^kept 1 manifest\(s\) reachable from tags$/m);
  assert.match(
    gc.stdout,
    new RegExp(`^kept ${kept.blobs.length} blob\\(s\\) \\([^)]+\\) referenced by tagged manifests$`, 'm'),
  );
  assert.match(
    gc.stdout,
    /^0 manifest\(s\), \d+ blob\(s\), 0 orphan file\(s\), 0 stale upload\(s\): freed [\d.]+k?B \((\d+) bytes\)/m,
  );
  const freed = Number(/freed [^(]+\((\d+) bytes\)/.exec(gc.stdout)![1]);
  assert.ok(freed > 0);

  for (const b of onlyGone)
    assert.equal((await curl(['-I', `http://${R}/v2/andrew/static_web/blobs/${b}`])).status, 404);
  for (const b of kept.blobs) assert.equal((await curl(['-I', `http://${R}/v2/tutorial/img/blobs/${b}`])).status, 200);
  // A second collection finds nothing more.
  assert.match(ok(await regRoot.cli(['registry', 'gc']), 'gc again').stdout, /: freed 0B \(0 bytes\)/);
});
