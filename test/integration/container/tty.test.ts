import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { ok, WHARF_BIN } from '../../helpers/cli.js';
import { withBusybox, type Fixture } from './fixture.js';

let f: Fixture;
before(async () => {
  f = await withBusybox('wharf-ctr-tty-');
});
after(async () => {
  await f?.cleanup();
});

test('run -it: an interactive shell on a real pseudo-terminal, exit status passed through', async () => {
  const pty = await import('node-pty');
  const term = pty.spawn(WHARF_BIN, ['--root', f.root, 'run', '-it', '--rm', '--name', 'itest', 'busybox', 'sh'], {
    cols: 100,
    rows: 30,
    env: process.env as Record<string, string>,
  });
  let out = '';
  term.onData((d) => (out += d));
  const exited = new Promise<number>((resolve) => term.onExit(({ exitCode }) => resolve(exitCode)));
  const waitFor = async (re: RegExp): Promise<void> => {
    for (let i = 0; i < 150 && !re.test(out); i++) await sleep(100);
    assert.match(out, re);
  };
  await waitFor(/\/ # /);
  term.write('tty; stty size; echo $((6*7))\r');
  await waitFor(/42/);
  assert.match(out, /\/dev\/pts\/\d+/);
  assert.match(out, /30 100/);
  term.write('exit 3\r');
  const code = await Promise.race([exited, sleep(20_000).then(() => -1)]);
  assert.equal(code, 3);
  assert.equal(ok(await f.cli(['ps', '-aq']), 'ps').stdout, '', '--rm removed it');
});

test('run -i pipes stdin without a terminal; run passes SIGTERM on to the container', async () => {
  const r = ok(
    await f.cli(['run', '-i', '--rm', 'busybox', 'sh', '-c', 'cat; echo done'], { input: 'line one\nline two\n' }),
    'run -i',
  );
  assert.equal(r.stdout, 'line one\nline two\ndone\n');

  const child = spawn(
    WHARF_BIN,
    [
      '--root',
      f.root,
      'run',
      '--rm',
      'busybox',
      'sh',
      '-c',
      'trap "echo got-term; exit 9" TERM; echo ready; while :; do sleep 0.1; done',
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  for (let i = 0; i < 100 && !out.includes('ready'); i++) await sleep(100);
  assert.match(out, /ready/);
  child.kill('SIGTERM');
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  assert.equal(code, 9);
  assert.match(out, /got-term/);
});

test('exec -it runs on a terminal; start -a attaches and returns the exit code; logs --since filters by time', async () => {
  ok(await f.cli(['run', '-d', '--name', 'bg', 'busybox', 'sh', '-c', 'echo early; sleep 300']), 'run');
  const pty = await import('node-pty');
  const term = pty.spawn(WHARF_BIN, ['--root', f.root, 'exec', '-it', 'bg', 'sh', '-c', 'tty; exit 5'], {
    cols: 80,
    rows: 24,
    env: process.env as Record<string, string>,
  });
  let out = '';
  term.onData((d) => (out += d));
  const code = await Promise.race([
    new Promise<number>((r) => term.onExit(({ exitCode }) => r(exitCode))),
    sleep(20_000).then(() => -1),
  ]);
  assert.equal(code, 5);
  assert.match(out, /\/dev\/pts\/\d+/);

  ok(
    await f.cli(['create', '--name', 'att', 'busybox', 'sh', '-c', 'echo attached-out; echo attached-err >&2; exit 4']),
    'create',
  );
  const st = await f.cli(['start', '-a', 'att']);
  assert.equal(st.code, 4);
  assert.equal(st.stdout, 'attached-out\n');
  assert.equal(st.stderr, 'attached-err\n');

  await sleep(1100);
  const cut = new Date().toISOString();
  ok(await f.cli(['exec', 'bg', 'sh', '-c', 'echo late > /proc/1/fd/1']), 'exec');
  await sleep(300);
  const all = ok(await f.cli(['logs', 'bg']), 'logs').stdout;
  assert.equal(all, 'early\nlate\n');
  assert.equal(ok(await f.cli(['logs', '--since', cut, 'bg']), 'logs --since').stdout, 'late\n');
  ok(await f.cli(['rm', '-f', 'bg', 'att']), 'rm');
});
