/**
 * `attach` (with and without a terminal, detach keys, the exit code), the log drivers (json-file rotation read back by
 * `logs`, `none`, `local`) and `-p` on IPv6, with real runc and the real monitor.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ok, WHARF_BIN } from '../../helpers/cli.js';
import { freePort, withBusybox, type Fixture } from './fixture.js';

let f: Fixture;
before(async () => {
  f = await withBusybox('wharf-ctr-attach-');
});
after(async () => {
  await f?.cleanup();
});

test('attach without a terminal: stdin reaches the container, its output comes back, its exit code is ours', async () => {
  ok(
    await f.cli([
      'run',
      '-d',
      '-i',
      '--name',
      'pipe',
      '--network',
      'none',
      'busybox',
      'sh',
      '-c',
      'while read l; do echo got:$l; [ "$l" = quit ] && exit 7; done',
    ]),
    'run -di',
  );
  const r = await f.cli(['attach', 'pipe'], { input: 'a\nquit\n' });
  assert.equal(r.stdout, 'got:a\ngot:quit\n');
  assert.equal(r.code, 7);
  const stopped = await f.cli(['container', 'attach', 'pipe']);
  assert.equal(stopped.code, 1);
  assert.match(stopped.stderr, /You cannot attach to a stopped container, start it first/);

  ok(
    await f.cli([
      'run',
      '-d',
      '--name',
      'late',
      '--network',
      'none',
      'busybox',
      'sh',
      '-c',
      'sleep 1; echo late; exit 3',
    ]),
    'run',
  );
  const late = await f.cli(['attach', '--no-stdin', 'late']);
  assert.equal(late.stdout, 'late\n');
  assert.equal(late.code, 3);
  ok(await f.cli(['rm', 'pipe', 'late']), 'rm');
});

test("attach with a terminal: the session is the container's, ctrl-p ctrl-q (or --detach-keys) detaches and leaves it running", async () => {
  const pty = await import('node-pty');
  ok(await f.cli(['run', '-d', '-it', '--name', 'term', '--network', 'none', 'busybox', 'sh']), 'run -dit');
  const notTty = await f.cli(['attach', 'term']);
  assert.equal(notTty.code, 1);
  assert.match(notTty.stderr, /the input device is not a TTY/);

  const session = (args: string[]) => {
    const term = pty.spawn(WHARF_BIN, ['--root', f.root, 'attach', ...args, 'term'], {
      cols: 90,
      rows: 20,
      env: process.env as Record<string, string>,
    });
    let out = '';
    term.onData((d) => (out += d));
    const exited = new Promise<number>((resolve) => term.onExit(({ exitCode }) => resolve(exitCode)));
    const waitFor = async (re: RegExp): Promise<void> => {
      for (let i = 0; i < 150 && !re.test(out); i++) await sleep(100);
      assert.match(out, re);
    };
    return { term, exited, waitFor, output: () => out };
  };
  const a = session([]);
  a.term.write('echo $((6*7))\r');
  await a.waitFor(/42/);
  a.term.write('\x10\x11');
  assert.equal(await Promise.race([a.exited, sleep(20_000).then(() => -1)]), 0, 'detached');
  assert.equal(ok(await f.cli(['inspect', '-f', '{{.State.Running}}', 'term']), 'running').stdout.trim(), 'true');

  const b = session(['--detach-keys', 'ctrl-a,x']);
  b.term.write('echo $((7*8))\r');
  await b.waitFor(/56/);
  b.term.write('\x01x');
  assert.equal(await Promise.race([b.exited, sleep(20_000).then(() => -1)]), 0, 'detached with ctrl-a,x');

  const c = session([]);
  c.term.write('exit 5\r');
  assert.equal(await Promise.race([c.exited, sleep(20_000).then(() => -1)]), 5, "the container's exit code");
  const bad = await f.cli(['start', 'term']);
  assert.equal(bad.code, 0);
  const keys = await f.cli(['attach', '--detach-keys', 'bogus', '--no-stdin', 'term']).then(async (r) => {
    await f.cli(['rm', '-f', 'term']);
    return r;
  });
  assert.equal(keys.code, 1);
  assert.match(keys.stderr, /Invalid detach keys \(bogus\) provided/);
});

test('json-file rotation with --log-opt max-size/max-file, read back in order by logs; none refuses logs; local', async () => {
  const script = 'i=0; while [ $i -lt 100 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done';
  ok(
    await f.cli([
      'run',
      '--name',
      'rot',
      '--network',
      'none',
      '--log-opt',
      'max-size=1k',
      '--log-opt',
      'max-file=3',
      'busybox',
      'sh',
      '-c',
      script,
    ]),
    'run',
  );
  const logPath = ok(await f.cli(['inspect', '-f', '{{.LogPath}}', 'rot']), 'LogPath').stdout.trim();
  const names = (await fsp.readdir(path.dirname(logPath))).filter((n) => n.startsWith(path.basename(logPath))).sort();
  assert.deepEqual(names, [path.basename(logPath), `${path.basename(logPath)}.1`, `${path.basename(logPath)}.2`]);
  const lines = ok(await f.cli(['logs', 'rot']), 'logs')
    .stdout.trim()
    .split('\n');
  // As dockerd with the same options (measured: 23 entries kept, from line-77 on).
  assert.equal(lines.length, 23);
  assert.equal(lines[0], 'line-77-xxxxxxxxxxxxxxxxxxxx');
  assert.equal(lines.at(-1), 'line-99-xxxxxxxxxxxxxxxxxxxx');
  assert.deepEqual(
    ok(await f.cli(['logs', '--tail', '2', 'rot']), 'tail')
      .stdout.trim()
      .split('\n'),
    lines.slice(-2),
  );
  assert.equal(
    ok(await f.cli(['inspect', '-f', '{{json .HostConfig.LogConfig}}', 'rot']), 'LogConfig').stdout.trim(),
    '{"Type":"json-file","Config":{"max-file":"3","max-size":"1k"}}',
  );

  ok(
    await f.cli(['run', '--name', 'quiet', '--network', 'none', '--log-driver', 'none', 'busybox', 'echo', 'hi']),
    'none',
  );
  const refused = await f.cli(['logs', 'quiet']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /configured logging driver does not support reading/);
  assert.equal(ok(await f.cli(['inspect', '-f', '[{{.LogPath}}]', 'quiet']), 'path').stdout.trim(), '[]');

  ok(
    await f.cli(['run', '--name', 'loc', '--network', 'none', '--log-driver', 'local', 'busybox', 'echo', 'kept']),
    'local',
  );
  assert.equal(ok(await f.cli(['logs', 'loc']), 'logs local').stdout, 'kept\n');
  assert.equal(
    ok(await f.cli(['inspect', '-f', '{{json .HostConfig.LogConfig}} [{{.LogPath}}]', 'loc']), 'inspect').stdout.trim(),
    '{"Type":"local","Config":{}} []',
  );
  ok(await f.cli(['rm', 'rot', 'quiet', 'loc']), 'rm');
});

/** A CLI process whose stdout says `ready` once the container runs its trap. */
async function startCli(
  args: string[],
): Promise<{ child: ChildProcess; closed: Promise<number | null>; out: () => string }> {
  const child = spawn(WHARF_BIN, ['--root', f.root, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const closed = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  for (let i = 0; i < 150 && !out.includes('ready'); i++) await sleep(100);
  assert.match(out, /ready/);
  return { child, closed, out: () => out };
}

test('--sig-proxy: run and attach pass SIGTERM on by default; --sig-proxy=false leaves the container alone', async () => {
  const trap = 'trap "echo got-term; exit 9" TERM; while :; do echo ready; sleep 0.5; done';
  const kept = await startCli([
    'run',
    '--name',
    'keep',
    '--network',
    'none',
    '--sig-proxy=false',
    'busybox',
    'sh',
    '-c',
    trap,
  ]);
  kept.child.kill('SIGTERM');
  assert.notEqual(await kept.closed, 9, 'the CLI itself ended');
  assert.equal(ok(await f.cli(['inspect', '-f', '{{.State.Running}}', 'keep']), 'running').stdout.trim(), 'true');

  const att = await startCli(['attach', 'keep']);
  att.child.kill('SIGTERM');
  assert.equal(await att.closed, 9, "attach passed SIGTERM on and exits with the container's status");
  assert.match(att.out(), /got-term/);
  ok(await f.cli(['rm', 'keep']), 'rm');
});

const connectTo = (host: string, port: number): Promise<string> =>
  new Promise((resolve, reject) => {
    const s = net.connect({ host, port }, () => s.end('GET /index.html HTTP/1.0\r\n\r\n'));
    let data = '';
    s.on('data', (d) => (data += d.toString()));
    s.on('end', () => resolve(data));
    s.on('error', reject);
  });

test('-p publishes on IPv6 too: [::1]:port and 127.0.0.1:port reach the container; the relay goes with it', async () => {
  const port = await freePort();
  const only6 = await freePort();
  ok(
    await f.cli([
      'run',
      '-d',
      '--name',
      'web6',
      '-p',
      `${port}:80`,
      '-p',
      `[::1]:${only6}:80`,
      'busybox',
      'httpd',
      '-f',
      '-p',
      '80',
      '-h',
      '/var/www',
    ]),
    'run -p',
  );
  let v6 = '';
  for (let i = 0; i < 50 && !v6.includes('hello from wharf'); i++) {
    v6 = await connectTo('::1', port).catch(() => '');
    if (!v6.includes('hello from wharf')) await sleep(100);
  }
  assert.match(v6, /hello from wharf/);
  assert.match(await connectTo('127.0.0.1', port), /hello from wharf/);
  assert.match(await connectTo('::1', only6), /hello from wharf/, '-p [::1]:port:80');
  await assert.rejects(connectTo('127.0.0.1', only6), /ECONNREFUSED/, 'published on [::1] only');
  ok(await f.cli(['rm', '-f', 'web6']), 'rm');
  await assert.rejects(connectTo('::1', port), /ECONNREFUSED/, 'nothing listens on [::1] after rm');
});
