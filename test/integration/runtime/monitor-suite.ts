import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { is } from '../../../src/errors/index.js';
import {
  Runc,
  buildExecProcess,
  buildSpec,
  execInContainer,
  monitorPaths,
  readLogs,
  readState,
  startMonitor,
  waitExit,
  type ImageRunConfig,
  type SpecOptions,
  type StartMonitorOptions,
} from '../../../src/runtime/index.js';
import { Frame, encodeFrame } from '../../../src/runtime/attach-protocol.js';
import { readEvents } from '../../../src/events/index.js';
import { makeRootfs } from './rootfs-helper.js';
import { bridgeAdd, linkDel, linkGet } from '../../../src/network/netlink.js';

const cleanups: Array<() => Promise<void>> = [];
/** Every monitor's state directory, for the last test's look at their logs. */
const stateDirs: string[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: 'inherit' });
    p.on('error', reject);
    p.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}`)),
    );
  });
}

function collector(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (d: Buffer) => chunks.push(d));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

/** A bundle on a busybox rootfs, and the monitor options that run it. */
async function prepare(
  image: ImageRunConfig,
  extra: Partial<SpecOptions> = {},
  mon: Partial<StartMonitorOptions> = {},
) {
  const r = await makeRootfs();
  const runc = new Runc({ root: path.join(r.runDir, 'runc') });
  cleanups.push(async () => {
    await runc.delete(r.id, { force: true }).catch(() => {});
    const st = await readState(path.join(r.runDir, 'm')).catch(() => undefined);
    if (st?.pid) {
      try {
        process.kill(st.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await waitExit(path.join(r.runDir, 'm'), 10_000).catch(() => {});
    await r.remove();
  });
  const spec = buildSpec(image, {
    rootfs: r.rootfs,
    network: { mode: 'new' },
    hostname: 'box',
    cgroupsPath: `/wharf-test/${r.id}`,
    passwd: await fsp.readFile(path.join(r.rootfs, 'etc/passwd'), 'utf8'),
    group: await fsp.readFile(path.join(r.rootfs, 'etc/group'), 'utf8'),
    ...extra,
  });
  await fsp.writeFile(path.join(r.dir, 'config.json'), JSON.stringify(spec, null, 2));
  const stateDir = path.join(r.runDir, 'm');
  stateDirs.push(stateDir);
  const logPath = path.join(r.dir, `${r.id}-json.log`);
  const opts: StartMonitorOptions = {
    id: r.id,
    bundle: r.dir,
    runcRoot: runc.root,
    stateDir,
    logPath,
    tty: extra.tty === true,
    openStdin: false,
    ...mon,
  };
  return { r, runc, spec, stateDir, logPath, opts };
}

async function logLines(file: string): Promise<Array<{ stream: string; log: string }>> {
  const out = [];
  for await (const e of readLogs(file)) out.push({ stream: e.stream, log: e.log });
  return out;
}

test('echo through the monitor lands in the json-file log with stream and time', async () => {
  const { opts, stateDir, logPath } = await prepare({ Cmd: ['sh', '-c', 'echo hello; echo oops >&2; echo bye'] });
  const started = await startMonitor(opts);
  assert.ok(started.monitorPid > 0);
  const st = await waitExit(stateDir, 20_000);
  assert.equal(st.status, 'exited');
  assert.equal(st.exitCode, 0);
  assert.ok(st.startedAt && st.finishedAt);
  assert.equal(st.cleanedUp, true);
  const lines = await logLines(logPath);
  assert.deepEqual(
    lines.filter((l) => l.stream === 'stdout').map((l) => l.log),
    ['hello\n', 'bye\n'],
  );
  assert.deepEqual(
    lines.filter((l) => l.stream === 'stderr').map((l) => l.log),
    ['oops\n'],
  );
  const raw = (await fsp.readFile(logPath, 'utf8')).split('\n').find((l) => l.includes('hello'))!;
  assert.match(raw, /^\{"log":"hello\\n","stream":"stdout","time":"\d{4}-\d\d-\d\dT[0-9:.]+Z"\}$/);
  // the socket is gone once the monitor finished
  await assert.rejects(fsp.stat(monitorPaths(stateDir).socket));
});

test('the exit code of the process is recorded', async () => {
  const { opts, stateDir } = await prepare({ Cmd: ['sh', '-c', 'exit 3'] });
  await startMonitor(opts);
  assert.equal((await waitExit(stateDir, 20_000)).exitCode, 3);
});

test("the monitor appends the container's start and die events, with Docker's attributes, to the event log", async () => {
  const { opts, stateDir, r } = await prepare({ Cmd: ['sh', '-c', 'exit 3'] });
  const log = path.join(r.dir, 'events.log');
  // A label with characters that need escaping both in the config file and in JSON; name and image win over labels.
  const labels = { 'quote"back\\slash': 'new\nline', name: 'not-the-name' };
  await startMonitor({ ...opts, events: { path: log, name: 'web', image: 'busybox:1', labels } });
  assert.equal((await waitExit(stateDir, 20_000)).exitCode, 3);
  const events = await readEvents(r.dir);
  // `start` first (a fast command exits before it is seen running: the monitor still puts its start before its die).
  assert.deepEqual(
    events.map((e) => e.Action),
    ['start', 'die'],
  );
  assert.deepEqual(events[0]!.Actor.Attributes, { 'quote"back\\slash': 'new\nline', name: 'web', image: 'busybox:1' });
  const die = events[1];
  assert.equal(die!.Type, 'container');
  assert.equal(die!.Action, 'die');
  assert.equal(die!.status, 'die');
  assert.equal(die!.id, r.id);
  assert.equal(die!.from, 'busybox:1');
  assert.equal(die!.Actor.ID, r.id);
  assert.deepEqual(die!.Actor.Attributes, {
    execDuration: '0',
    exitCode: '3',
    'quote"back\\slash': 'new\nline',
    name: 'web',
    image: 'busybox:1',
  });
  assert.equal(die!.scope, 'local');
  assert.equal(BigInt(die!.time) * 1_000_000_000n <= die!.timeNano, true);
  assert.ok(die!.timeNano - BigInt(die!.time) * 1_000_000_000n < 1_000_000_000n);
  assert.equal((await fsp.stat(log)).mode & 0o777, 0o600);
});

test("an event line that would pass 4 KiB drops the container's labels, keeping name and image", async () => {
  const { opts, stateDir, r } = await prepare({ Cmd: ['true'] });
  const labels: Record<string, string> = {};
  for (let i = 0; i < 20; i++) labels[`label.${i}`] = 'x'.repeat(400);
  await startMonitor({
    ...opts,
    events: { path: path.join(r.dir, 'events.log'), name: 'big', image: 'busybox', labels },
  });
  await waitExit(stateDir, 20_000);
  const events = await readEvents(r.dir);
  assert.deepEqual(
    events.map((e) => e.Action),
    ['start', 'die'],
  );
  for (const e of events) {
    assert.deepEqual(
      Object.keys(e.Actor.Attributes).filter((k) => k.startsWith('label.')),
      [],
    );
    assert.equal(e.Actor.Attributes.name, 'big');
    assert.equal(e.Actor.Attributes.image, 'busybox');
  }
  assert.equal(events[1]!.Actor.Attributes.exitCode, '0');
});

test('a missing executable is COMMAND_NOT_FOUND with exit code 127', async () => {
  const { opts, stateDir, logPath, r } = await prepare({ Cmd: ['no-such-program'] });
  opts.events = { path: path.join(r.dir, 'events.log'), name: 'x' };
  await assert.rejects(startMonitor(opts), (err: unknown) => {
    assert.ok(is(err, 'COMMAND_NOT_FOUND'), String(err));
    assert.equal(err.details?.exitCode, 127);
    assert.match(err.message, /no-such-program/);
    return true;
  });
  const st = await waitExit(stateDir, 20_000);
  assert.equal(st.exitCode, 127);
  // runc's own complaint is not the container's output
  assert.equal((await logLines(logPath)).length, 0);
  // Nothing ran, so nothing died: Docker reports a failed start as the start's error only.
  assert.deepEqual(await readEvents(r.dir), []);
});

test('a file that cannot be executed is COMMAND_NOT_EXECUTABLE with exit code 126', async () => {
  const { opts, stateDir, logPath } = await prepare({ Cmd: ['/etc/passwd'] });
  await assert.rejects(startMonitor(opts), (err: unknown) => {
    assert.ok(is(err, 'COMMAND_NOT_EXECUTABLE'), String(err));
    assert.equal(err.details?.exitCode, 126);
    return true;
  });
  await waitExit(stateDir, 20_000);
  assert.deepEqual(await logLines(logPath), [], "runc's own complaint is not the container's output");
});

test("a container's own line that starts like runc's error is its output, not filtered", async () => {
  // runc's own error line is its last output before it fails: such a line is held back only while it is the last
  // output, and dropped only if runc failed.
  const script =
    'echo "runc run failed: mine" >&2; echo x; printf "runc run failed: split" >&2; sleep 0.2; echo " line" >&2; echo "runc run failed: last" >&2';
  const { opts, stateDir, logPath } = await prepare({ Cmd: ['sh', '-c', script] });
  await startMonitor(opts);
  assert.equal((await waitExit(stateDir, 20_000)).exitCode, 0);
  const lines = await logLines(logPath);
  assert.deepEqual(
    lines.filter((l) => l.stream === 'stderr').map((l) => l.log),
    ['runc run failed: mine\n', 'runc run failed: split line\n', 'runc run failed: last\n'],
  );
  assert.deepEqual(
    lines.filter((l) => l.stream === 'stdout').map((l) => l.log),
    ['x\n'],
  );
});

test('the container outlives the CLI that started it; SIGKILL of the container records 137', async () => {
  const { opts, stateDir, runc, r } = await prepare({ Cmd: ['sleep', '60'] });
  const script = path.join(r.dir, 'cli.mts');
  const monitorTs = fileURLToPath(new URL('../../../src/runtime/monitor.ts', import.meta.url));
  await fsp.writeFile(
    script,
    `import { startMonitor } from ${JSON.stringify(monitorTs)};\n` +
      `const s = await startMonitor(${JSON.stringify(opts)});\n` +
      `process.stdout.write(JSON.stringify({ pid: s.containerPid, monitor: s.monitorPid }) + '\\n');\n` +
      `setInterval(() => {}, 1000);\n`,
  );
  const cli = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    let buf = '';
    cli.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('\n')) resolve(buf.split('\n')[0]!);
    });
    cli.on('exit', () => reject(new Error(`cli exited early: ${buf}`)));
  });
  const { pid, monitor } = JSON.parse(line) as { pid: number; monitor: number };
  assert.ok(pid > 0);
  cli.kill('SIGKILL');
  await new Promise((resolve) => cli.once('exit', resolve));
  await sleep(300);
  assert.doesNotThrow(() => process.kill(monitor, 0), 'monitor survives its parent');
  assert.equal((await runc.state(r.id)).status, 'running');
  assert.equal((await readState(stateDir))?.status, 'running');
  process.kill(pid, 'SIGKILL');
  const st = await waitExit(stateDir, 20_000);
  assert.equal(st.exitCode, 137);
  assert.equal(await runc.tryState(r.id), undefined, 'runc forgot the container');
});

test('signals sent to the monitor reach the container', async () => {
  const { opts, stateDir } = await prepare({
    Cmd: ['sh', '-c', 'trap "exit 7" TERM; echo ready; while :; do sleep 0.1; done'],
  });
  const s = await startMonitor(opts);
  // give the shell a moment to install its trap
  for (let i = 0; i < 50; i++) {
    if ((await fsp.readFile(opts.logPath, 'utf8').catch(() => '')).includes('ready')) break;
    await sleep(100);
  }
  process.kill(s.monitorPid, 'SIGTERM');
  assert.equal((await waitExit(stateDir, 20_000)).exitCode, 7);
});

test('-t gives the process a terminal', async () => {
  const { opts, stateDir, logPath } = await prepare(
    { Cmd: ['sh', '-c', 'tty; [ -t 0 ] && echo stdin-is-tty; [ -t 1 ] && echo stdout-is-tty; echo TERM=$TERM'] },
    { tty: true },
  );
  const out = collector();
  const s = await startMonitor({ ...opts, tty: true, attach: { stdout: out.stream } });
  const ex = await s.session!.exit;
  assert.equal(ex.exitCode, 0);
  const text = out.text();
  assert.match(text, /\/dev\/(pts\/\d+|console)\r?\n/);
  assert.match(text, /stdin-is-tty/);
  assert.match(text, /stdout-is-tty/);
  assert.match(text, /TERM=xterm/);
  assert.equal((await waitExit(stateDir, 5000)).exitCode, 0);
  const logged = (await logLines(logPath)).map((l) => l.log).join('');
  assert.match(logged, /stdin-is-tty/);
});

test('a detached terminal container logs its output; signals sent to the monitor reach it', async () => {
  const { opts, stateDir, logPath } = await prepare(
    { Cmd: ['sh', '-c', 'trap "echo bye; exit 7" TERM; stty size; echo ready; while :; do sleep 0.1; done'] },
    { tty: true },
  );
  const s = await startMonitor({ ...opts, tty: true });
  assert.ok(s.containerPid && s.containerPid > 0);
  for (let i = 0; i < 50 && !(await fsp.readFile(logPath, 'utf8').catch(() => '')).includes('ready'); i++)
    await sleep(100);
  process.kill(s.monitorPid, 'SIGTERM');
  const st = await waitExit(stateDir, 20_000);
  assert.equal(st.exitCode, 7);
  assert.equal(st.cleanedUp, true);
  const logged = (await logLines(logPath)).map((l) => l.log);
  assert.deepEqual(logged, ['24 80\r\n', 'ready\r\n', 'bye\r\n'], 'a terminal of 80x24 by default; \\n becomes \\r\\n');
  await assert.rejects(fsp.stat(path.join(stateDir, 'pty.sock')), 'the console socket is gone');
});

test("a signal sent before a terminal container's pid is known reaches it once it is", async () => {
  // A terminal container starts when its client attaches; a SIGTERM to the monitor before that is kept. The container
  // shares the host's pid namespace, so that SIGTERM ends its shell whenever it lands (an init would ignore it).
  const { opts, stateDir, r } = await prepare(
    { Cmd: ['sh', '-c', 'echo up; sleep 30'] },
    { tty: true },
    { waitForAttach: true },
  );
  const cfgPath = path.join(r.dir, 'config.json');
  const spec = JSON.parse(await fsp.readFile(cfgPath, 'utf8'));
  spec.linux.namespaces = spec.linux.namespaces.filter((n: { type: string }) => n.type !== 'pid');
  await fsp.writeFile(cfgPath, JSON.stringify(spec));
  const starting = startMonitor({ ...opts, tty: true });
  starting.catch(() => {});
  let st = await readState(stateDir);
  for (let i = 0; i < 100 && !st?.attachReady; i++, st = await readState(stateDir)) await sleep(50);
  assert.ok(st?.attachReady && st.status === 'starting', JSON.stringify(st));
  process.kill(st.monitorPid, 'SIGTERM');
  await sleep(200);
  const net = await import('node:net');
  const sock = net.createConnection(monitorPaths(stateDir).socket);
  sock.on('error', () => {});
  sock.on('data', () => {});
  const done = await waitExit(stateDir, 20_000);
  sock.destroy();
  assert.equal(done.exitCode, 143, 'SIGTERM reached the container');
});

test("a connection to the console socket that brings no terminal does not keep runc's from coming", async () => {
  const { opts, stateDir } = await prepare({ Cmd: ['sh', '-c', 'echo hello'] }, { tty: true }, { waitForAttach: true });
  const starting = startMonitor({ ...opts, tty: true });
  starting.catch(() => {});
  let st = await readState(stateDir);
  for (let i = 0; i < 100 && !st?.attachReady; i++, st = await readState(stateDir)) await sleep(50);
  assert.ok(st?.attachReady, JSON.stringify(st));
  const net = await import('node:net');
  const junk = net.createConnection(path.join(stateDir, 'pty.sock'));
  junk.on('error', () => {});
  await new Promise<void>((resolve, reject) => junk.once('connect', resolve).once('error', reject));
  junk.end('not a terminal');
  await sleep(200);
  const sock = net.createConnection(monitorPaths(stateDir).socket);
  sock.on('error', () => {});
  let out = '';
  sock.on('data', (d: Buffer) => (out += d.toString('latin1')));
  const done = await waitExit(stateDir, 20_000);
  sock.destroy();
  assert.equal(done.exitCode, 0, JSON.stringify(done));
  assert.ok(out.includes('hello'), out);
  assert.match(await fsp.readFile(monitorPaths(stateDir).monitorLog, 'utf8'), /sent no terminal \(0 descriptors\)/);
});

test('a resize sent before the terminal exists is applied when it arrives', async () => {
  const { opts, stateDir } = await prepare(
    { Cmd: ['sh', '-c', 'sleep 0.5; stty size'] },
    { tty: true },
    { waitForAttach: true },
  );
  const starting = startMonitor({ ...opts, tty: true });
  starting.catch(() => {});
  let st = await readState(stateDir);
  for (let i = 0; i < 100 && !st?.attachReady; i++, st = await readState(stateDir)) await sleep(50);
  assert.ok(st?.attachReady, JSON.stringify(st));
  const net = await import('node:net');
  const sock = net.createConnection(monitorPaths(stateDir).socket);
  sock.on('error', () => {});
  let out = '';
  sock.on('data', (d: Buffer) => (out += d.toString('latin1')));
  sock.write(encodeFrame(Frame.RESIZE, JSON.stringify({ cols: 100, rows: 33 })));
  const done = await waitExit(stateDir, 20_000);
  sock.destroy();
  assert.equal(done.exitCode, 0);
  assert.match(out, /33 100/);
});

test('input typed before the terminal exists reaches the process', async () => {
  const { opts } = await prepare({ Cmd: ['sh', '-c', 'read x; echo "got $x"'] }, { tty: true }, { openStdin: true });
  const out = collector();
  const stdin = new PassThrough();
  stdin.write('early\r'); // sent as soon as the client is connected: before runc even starts
  const s = await startMonitor({ ...opts, tty: true, attach: { stdin, stdout: out.stream } });
  const ex = await Promise.race([s.session!.exit, sleep(20_000).then(() => ({ exitCode: -1 }))]);
  if (ex.exitCode === -1) process.kill(s.containerPid!, 'SIGKILL'); // the input was lost: `read` waits forever
  assert.match(out.text(), /got early/);
  assert.equal(ex.exitCode, 0);
});

test('stdin piped through attach reaches the process and its end closes it', async () => {
  const { opts } = await prepare({ Cmd: ['cat'] }, {}, { openStdin: true });
  const out = collector();
  const s = await startMonitor({
    ...opts,
    attach: { stdin: Readable.from([Buffer.from('hi\n'), Buffer.from('there\n')]), stdout: out.stream },
  });
  const ex = await s.session!.exit;
  assert.equal(ex.exitCode, 0);
  assert.equal(out.text(), 'hi\nthere\n');
});

test("StdinOnce: a stdin client that goes away without ending its stdin (killed) closes the container's stdin", async () => {
  const { opts, stateDir } = await prepare(
    { Cmd: ['sh', '-c', 'cat; echo stdin-closed'] },
    {},
    { openStdin: true, waitForAttach: false },
  );
  const net = await import('node:net');
  await startMonitor(opts);
  const sock = net.createConnection(monitorPaths(stateDir).socket);
  await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
  sock.on('error', () => {});
  let out = '';
  sock.on('data', (d: Buffer) => (out += d.toString('latin1')));
  sock.write(encodeFrame(Frame.STDIN, 'typed\n'));
  const t0 = Date.now();
  while (!out.includes('typed')) {
    assert.ok(Date.now() - t0 < 20_000, 'the input did not come back');
    await sleep(50);
  }
  sock.destroy(); // no STDIN_EOF: as when the CLI is killed
  const st = await waitExit(stateDir, 20_000);
  assert.equal(st.exitCode, 0);
});

test('output from before the client attached reaches it in full, beyond what the monitor holds', async () => {
  // runc starts while the attach socket is set up: the first megabyte is held, then the container waits.
  const { opts, stateDir } = await prepare({ Cmd: ['sh', '-c', 'head -c 3000000 /dev/zero; echo end >&2'] });
  let bytes = 0;
  const out = new PassThrough();
  out.on('data', (d: Buffer) => (bytes += d.length));
  const err = collector();
  const s = await startMonitor({ ...opts, attach: { stdout: out, stderr: err.stream, claimCleanup: true } });
  const ex = await s.session!.exit;
  assert.equal(ex.exitCode, 0);
  assert.equal(ex.cleanupDelegated, true);
  assert.equal(bytes, 3_000_000);
  assert.equal(err.text(), 'end\n');
  assert.equal((await readState(stateDir))?.status, 'exited');
});

test('a container that exits before its claiming client attached waits for it: output, exit and cleanup go to it', async () => {
  const base = await prepare({ Cmd: ['sh', '-c', 'echo early; sleep 0.3'] });
  const marker = path.join(base.r.dir, 'monitor-cleaned');
  const s = await startMonitor({
    ...base.opts,
    waitForAttach: true,
    attachClaimsCleanup: true,
    cleanup: ['/bin/sh', '-c', `echo done > ${marker}`],
  });
  // The container is gone before anyone attaches.
  for (let i = 0; i < 100 && (await base.runc.tryState(base.r.id)); i++) await sleep(50);
  assert.equal(await base.runc.tryState(base.r.id), undefined);
  assert.notEqual((await readState(base.stateDir))?.status, 'exited', 'the exit waits for the client');
  const { attach } = await import('../../../src/runtime/index.js');
  const out = collector();
  const session = await attach(monitorPaths(base.stateDir).socket, { stdout: out.stream, claimCleanup: true });
  const ex = await session.exit;
  assert.equal(out.text(), 'early\n');
  assert.equal(ex.exitCode, 0);
  assert.equal(ex.cleanupDelegated, true);
  assert.ok(s.monitorPid > 0);
  await assert.rejects(fsp.stat(marker), 'the monitor left the cleanup to the client');
});

test('a container whose attaching client died before attaching has its exit recorded at once', async () => {
  const base = await prepare({ Cmd: ['sh', '-c', 'echo alone; sleep 0.2'] });
  const gone = spawn('true');
  await new Promise((r) => gone.once('exit', r));
  const t = Date.now();
  await startMonitor({ ...base.opts, waitForAttach: true, attachClaimsCleanup: true, attachClientPid: gone.pid! });
  const st = await waitExit(base.stateDir, 20_000);
  assert.equal(st.exitCode, 0);
  assert.ok(Date.now() - t < 10_000, 'not the 30 s an attaching client would be given');
  assert.deepEqual(
    (await logLines(base.logPath)).map((l) => l.log),
    ['alone\n'],
  );
});

test('the cleanup command runs after the container exits', async () => {
  const base = await prepare({ Cmd: ['true'] });
  const marker = path.join(base.r.dir, 'cleaned');
  await startMonitor({ ...base.opts, cleanup: ['/bin/sh', '-c', `echo done > ${marker}`] });
  const st = await waitExit(base.stateDir, 20_000);
  assert.equal(st.cleanedUp, true);
  assert.equal(await fsp.readFile(marker, 'utf8'), 'done\n');
});

test('the host links it is told to release (by index) are deleted once the container exited', async () => {
  const base = await prepare({ Cmd: ['true'] });
  // A bridge stands in for a container's veth: any link is deleted the same way.
  const name = `wrl${randomBytes(4).toString('hex')}`;
  assert.equal(bridgeAdd(name), true);
  cleanups.push(async () => {
    linkDel(name);
  });
  const index = linkGet(name)!.index;
  await startMonitor({ ...base.opts, releaseLinks: [index] });
  assert.equal((await waitExit(base.stateDir, 20_000)).exitCode, 0);
  // A child of the monitor deletes it, neither of them waits for that: bounded wait.
  for (let i = 0; i < 100 && linkGet(name); i++) await sleep(20);
  assert.equal(linkGet(name), null);
});

test('descriptors the monitor inherited reach neither the container nor the cleanup command', async () => {
  // A wrapper opens descriptors 7 and 9 (not close-on-exec) and runs the monitor with it, as a shell or service manager might.
  const monitorBin =
    process.env.WHARF_MONITOR_BINARY ?? fileURLToPath(new URL('../../../build/Release/wharf-monitor', import.meta.url));
  const base = await prepare({ Cmd: ['sh', '-c', 'ls /proc/self/fd'] });
  const wrapper = path.join(base.r.dir, 'monitor-fd.sh');
  await fsp.writeFile(
    wrapper,
    `#!/bin/sh\nexec 7</etc/hostname 9</etc/hostname\nexec ${JSON.stringify(monitorBin)} "$@"\n`,
    { mode: 0o755 },
  );
  const listing = path.join(base.r.dir, 'cleanup-fds');
  await startMonitor({
    ...base.opts,
    nativeMonitor: wrapper,
    cleanup: ['/bin/sh', '-c', `exec ls /proc/self/fd > ${listing}`],
  });
  const st = await waitExit(base.stateDir, 20_000);
  assert.equal(st.exitCode, 0);
  const fds = (await fsp.readFile(listing, 'utf8')).split('\n').filter(Boolean).map(Number);
  assert.ok(!fds.includes(7) && !fds.includes(9), `the cleanup command had ${fds.join(' ')}`);
  const inContainer = (await logLines(base.logPath)).map((l) => Number(l.log.trim()));
  assert.ok(!inContainer.includes(7) && !inContainer.includes(9), `the container had ${inContainer.join(' ')}`);
});

test('configuration values with newlines and backslashes reach the monitor intact', async () => {
  const base = await prepare({ Cmd: ['true'] });
  const marker = path.join(base.r.dir, 'cleaned');
  // Two lines of shell, and a backslash that must stay one.
  await startMonitor({
    ...base.opts,
    cleanup: ['/bin/sh', '-c', `echo one > ${marker}\nprintf '%s\\n' 'a\\b' >> ${marker}`],
  });
  const st = await waitExit(base.stateDir, 20_000);
  assert.equal(st.cleanupError, undefined);
  assert.equal(await fsp.readFile(marker, 'utf8'), 'one\na\\b\n');
});

test('a cleanup command killed by a signal is reported as 128 + its number', async () => {
  const base = await prepare({ Cmd: ['true'] });
  await startMonitor({ ...base.opts, cleanup: ['/bin/sh', '-c', 'kill -ABRT $$'] });
  const st = await waitExit(base.stateDir, 20_000);
  assert.equal(st.cleanedUp, true);
  assert.equal(st.cleanupError, 'cleanup command exited with 134');
});

test('a log file that cannot be opened fails the start before the container runs', async () => {
  const base = await prepare({ Cmd: ['sh', '-c', 'echo never'] });
  await assert.rejects(startMonitor({ ...base.opts, logPath: path.join(base.r.dir, 'no-such-dir', 'x.log') }), /died/);
  assert.equal(await base.runc.tryState(base.r.id), undefined, 'runc never ran');
});

test('pause freezes the container and resume thaws it', async () => {
  const { opts, runc, r, stateDir, logPath } = await prepare({
    Cmd: ['sh', '-c', 'while :; do echo tick; sleep 0.05; done'],
  });
  await startMonitor(opts);
  await sleep(300);
  const stats = await runc.stats(r.id);
  assert.ok((stats.memory?.usage?.usage ?? 0) > 0, 'memory usage is reported');
  assert.ok((stats.pids?.current ?? 0) >= 1, 'pids are reported');
  assert.ok((await runc.ps(r.id)).length >= 1);
  assert.ok((await runc.list()).some((c) => c.id === r.id));
  await runc.pause(r.id);
  assert.equal((await runc.state(r.id)).status, 'paused');
  await sleep(100);
  const frozen = (await fsp.stat(logPath)).size;
  await sleep(400);
  assert.equal((await fsp.stat(logPath)).size, frozen, 'no output while paused');
  await runc.resume(r.id);
  assert.equal((await runc.state(r.id)).status, 'running');
  await sleep(400);
  assert.ok((await fsp.stat(logPath)).size > frozen, 'output again after resume');
  await runc.kill(r.id, 'SIGKILL');
  assert.equal((await waitExit(stateDir, 20_000)).exitCode, 137);
});

test('exec runs a process in a running container, with exit codes and errors like docker exec', async () => {
  const { opts, runc, r, spec } = await prepare({ Cmd: ['sleep', '60'] });
  await startMonitor(opts);
  const out = collector();
  const err = collector();
  const code = await execInContainer({
    runc,
    id: r.id,
    process: buildExecProcess(spec.process, {
      args: ['sh', '-c', 'hostname; id -u; echo e >&2; exit 4'],
      user: 'www',
      passwd: await fsp.readFile(path.join(r.rootfs, 'etc/passwd'), 'utf8'),
    }),
    stdout: out.stream,
    stderr: err.stream,
  });
  assert.equal(code, 4);
  assert.equal(out.text(), 'box\n33\n');
  assert.equal(err.text(), 'e\n');
  await assert.rejects(
    execInContainer({ runc, id: r.id, process: buildExecProcess(spec.process, { args: ['nope'] }) }),
    (err: unknown) => is(err, 'COMMAND_NOT_FOUND'),
  );
  const tty = collector();
  const ttyCode = await execInContainer({
    runc,
    id: r.id,
    process: buildExecProcess(spec.process, { args: ['tty'], tty: true }),
    stdout: tty.stream,
  });
  assert.equal(ttyCode, 0);
  assert.match(tty.text(), /\/dev\/pts\/\d+/);
  const inp = collector();
  const catCode = await execInContainer({
    runc,
    id: r.id,
    process: buildExecProcess(spec.process, { args: ['cat'] }),
    stdin: Readable.from(['piped\n']),
    stdout: inp.stream,
  });
  assert.equal(catCode, 0);
  assert.equal(inp.text(), 'piped\n');
  // exec -d returns at once; the process goes on in the background
  const t0 = Date.now();
  const detached = await execInContainer({
    runc,
    id: r.id,
    process: buildExecProcess(spec.process, { args: ['sh', '-c', 'sleep 0.3; echo bg > /tmp/bg'] }),
    detach: true,
  });
  assert.equal(detached, 0);
  assert.ok(Date.now() - t0 < 3000);
  const bg = collector();
  for (let i = 0; i < 40 && !bg.text().includes('bg'); i++) {
    await sleep(100);
    await execInContainer({
      runc,
      id: r.id,
      process: buildExecProcess(spec.process, { args: ['sh', '-c', 'cat /tmp/bg 2>/dev/null || true'] }),
      stdout: bg.stream,
    });
  }
  assert.equal(bg.text(), 'bg\n');
  await runc.kill(r.id, 'SIGKILL');
});

test('--init runs tini as PID 1 and the command under it', async () => {
  const { findInitBinary } = await import('../../../src/runtime/index.js');
  const init = await findInitBinary();
  assert.ok(init, 'tini (docker-init) is installed with docker.io');
  const { opts, stateDir, logPath } = await prepare(
    { Cmd: ['sh', '-c', 'cat /proc/1/cmdline | tr "\\0" " "; echo; echo $$'] },
    { init },
  );
  await startMonitor(opts);
  assert.equal((await waitExit(stateDir, 20_000)).exitCode, 0);
  const lines = (await logLines(logPath)).map((l) => l.log);
  assert.match(lines[0]!, /^\/sbin\/docker-init -- sh -c /);
  assert.notEqual(lines[1], '1\n');
});

test('the kernel OOM kill is recorded; a plain SIGKILL under a memory limit is not', async () => {
  const mem = 8 * 1024 * 1024;
  const hog = await prepare(
    { Cmd: ['sh', '-c', 'a=$(head -c 64000000 /dev/urandom); echo survived ${#a}'] },
    { memory: mem, memorySwap: mem },
    { watchOom: true },
  );
  const hogEvents = { path: path.join(hog.r.dir, 'events.log'), name: 'hog' };
  hog.opts.events = hogEvents;
  // a parent cgroup of its own keeps the peak usage after runc removed the container's cgroup
  const spec = JSON.parse(await fsp.readFile(path.join(hog.r.dir, 'config.json'), 'utf8'));
  spec.linux.cgroupsPath = `/wharf-test/${hog.r.id}/ctr`;
  await fsp.writeFile(path.join(hog.r.dir, 'config.json'), JSON.stringify(spec));
  await startMonitor(hog.opts).catch(() => undefined);
  const st = await waitExit(hog.stateDir, 30_000);
  assert.equal(st.exitCode, 137);
  assert.equal(st.oomKilled, true);
  await assert.rejects(fsp.stat(`/sys/fs/cgroup/memory/wharf-test/${hog.r.id}`), 'the parent cgroup is removed');
  // Docker's events for it: oom, then die with 137.
  const events = await readEvents(hog.r.dir);
  assert.deepEqual(
    events.map((e) => [e.Action, e.Actor.Attributes.exitCode, e.Actor.Attributes.name]),
    [
      ['start', undefined, 'hog'],
      ['oom', undefined, 'hog'],
      ['die', '137', 'hog'],
    ],
  );

  const calm = await prepare({ Cmd: ['sleep', '60'] }, { memory: mem }, { watchOom: true });
  const spec2 = JSON.parse(await fsp.readFile(path.join(calm.r.dir, 'config.json'), 'utf8'));
  spec2.linux.cgroupsPath = `/wharf-test/${calm.r.id}/ctr`;
  await fsp.writeFile(path.join(calm.r.dir, 'config.json'), JSON.stringify(spec2));
  const s = await startMonitor(calm.opts);
  process.kill(s.containerPid!, 'SIGKILL');
  const st2 = await waitExit(calm.stateDir, 20_000);
  assert.equal(st2.exitCode, 137);
  assert.notEqual(st2.oomKilled, true);
});

test('a tty session can be resized and detached from; a later attach sees new output', async () => {
  const { opts, runc, r, stateDir } = await prepare(
    { Cmd: ['sh', '-c', 'stty size; read x; stty size; while :; do echo tick; sleep 0.1; done'] },
    { tty: true },
    { openStdin: true, consoleSize: { cols: 120, rows: 40 } },
  );
  const out = collector();
  const stdin = new PassThrough();
  const s = await startMonitor({
    ...opts,
    tty: true,
    attach: { stdin, stdout: out.stream, detachKeys: Buffer.from([0x10, 0x11]) },
  });
  for (let i = 0; i < 50 && !out.text().includes('40 120'); i++) await sleep(50);
  assert.match(out.text(), /40 120/);
  s.session!.resize(90, 30);
  await sleep(100);
  stdin.write('go\r');
  for (let i = 0; i < 50 && !out.text().includes('30 90'); i++) await sleep(50);
  assert.match(out.text(), /30 90/);
  stdin.write(Buffer.from([0x10, 0x11])); // ctrl-p ctrl-q
  const ex = await s.session!.exit;
  assert.equal(ex.detached, true);
  assert.equal((await runc.state(r.id)).status, 'running', 'detaching leaves the container running');

  const { attach } = await import('../../../src/runtime/index.js');
  const later = collector();
  const again = await attach(monitorPaths(stateDir).socket, { stdout: later.stream });
  for (let i = 0; i < 50 && !later.text().includes('tick'); i++) await sleep(50);
  assert.match(later.text(), /tick/);
  await runc.kill(r.id, 'SIGKILL');
  assert.equal((await again.exit).exitCode, 137);
});

test('stop sends the stop signal, then SIGKILL after the timeout, also to a paused container', async () => {
  const { stopContainer } = await import('../../../src/runtime/index.js');
  const polite = await prepare({ Cmd: ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 0.1; done'] });
  await startMonitor(polite.opts);
  await sleep(300);
  const st = await stopContainer({ runc: polite.runc, id: polite.r.id, stateDir: polite.stateDir, timeoutSec: 10 });
  assert.equal(st.exitCode, 0);
  assert.equal(st.cleanedUp, true);

  const stubborn = await prepare({ Cmd: ['sleep', '60'] }); // PID 1 ignores SIGTERM
  await startMonitor(stubborn.opts);
  await stubborn.runc.pause(stubborn.r.id);
  const t0 = Date.now();
  const st2 = await stopContainer({
    runc: stubborn.runc,
    id: stubborn.r.id,
    stateDir: stubborn.stateDir,
    timeoutSec: 1,
  });
  assert.equal(st2.exitCode, 137);
  assert.ok(Date.now() - t0 >= 900, 'waited for the timeout first');
});

test('stop with the cleanup claimed on the socket: the exit frame ends the wait, the cleanup is left to the caller', async () => {
  const { attach, stopContainer } = await import('../../../src/runtime/index.js');
  const stubborn = await prepare({ Cmd: ['sleep', '60'] }); // PID 1 ignores SIGTERM
  await startMonitor(stubborn.opts);
  await stubborn.runc.pause(stubborn.r.id);
  const claim = await attach(monitorPaths(stubborn.stateDir).socket, { claimCleanup: true });
  const signals: string[] = [];
  const st = await stopContainer({
    runc: stubborn.runc,
    id: stubborn.r.id,
    stateDir: stubborn.stateDir,
    timeoutSec: 1,
    exit: claim.exit,
    onSignal: (s) => signals.push(s),
  });
  assert.deepEqual(signals, ['SIGTERM', 'SIGKILL'], 'killed after the timeout, thawed to take the signals');
  assert.equal(st.exitCode, 137);
  assert.equal(st.cleanupBy, process.pid, 'the monitor left the cleanup to the claiming caller');
  assert.notEqual(st.cleanedUp, true, 'and did not run its cleanup command');
  assert.equal((await claim.exit).cleanupDelegated, true);
});

test("a SIGNAL frame: the monitor signals the container's init itself (pipes and terminal), and says when it is gone", async () => {
  const { signalThroughMonitor } = await import('../../../src/runtime/monitor-signal.js');
  for (const tty of [false, true]) {
    const { opts, stateDir, logPath } = await prepare(
      { Cmd: ['sh', '-c', 'trap "exit 7" USR1; echo ready; while :; do sleep 0.1; done'] },
      { tty },
    );
    await startMonitor({ ...opts, tty });
    for (let i = 0; i < 50 && !(await fsp.readFile(logPath, 'utf8').catch(() => '')).includes('ready'); i++)
      await sleep(100);
    const socket = monitorPaths(stateDir).socket;
    assert.equal((await readState(stateDir))?.signalFrames, true, 'the state says the monitor takes SIGNAL frames');
    assert.equal(await signalThroughMonitor(socket, 'RTMIN+3'), 'unavailable', 'a name only runc knows: runc');
    assert.equal(await signalThroughMonitor(socket, 'SIGUSR1'), 'sent', `tty ${tty}`);
    const st = await waitExit(stateDir, 20_000);
    assert.equal(st.exitCode, 7, 'the init got the signal (PID 1 takes only the signals it handles)');
    assert.equal(await signalThroughMonitor(socket, 'SIGKILL'), 'unavailable', 'no socket after the exit');
  }
});

test('a monitor killed outright is reported as lost, not as a clean exit', async () => {
  const { opts, stateDir, runc, r } = await prepare({ Cmd: ['sleep', '60'] });
  const s = await startMonitor(opts);
  process.kill(s.monitorPid, 'SIGKILL');
  await sleep(200);
  const st = await readState(stateDir);
  assert.equal(st?.status, 'exited');
  assert.equal(st?.monitorLost, true);
  assert.equal(st?.exitCode, undefined);
  assert.equal((await runc.state(r.id)).status, 'running', 'the container itself still runs');
  await runc.kill(r.id, 'SIGKILL');
  for (let i = 0; i < 50 && (await runc.tryState(r.id))?.status === 'running'; i++) await sleep(100);
  await runc.delete(r.id, { force: true }).catch(() => {});
});

test('a missing runc binary is UNAVAILABLE, not a hung or dead monitor', async () => {
  const { opts } = await prepare({ Cmd: ['true'] });
  await assert.rejects(startMonitor({ ...opts, runcBinary: '/nonexistent/runc' }), (err: unknown) =>
    is(err, 'UNAVAILABLE'),
  );
});

test('a monitor program that cannot be executed is UNAVAILABLE, and nothing runs', async () => {
  const { opts, r, runc } = await prepare({ Cmd: ['sh', '-c', 'echo never'] });
  const unusable = path.join(r.dir, 'wharf-monitor');
  await fsp.writeFile(unusable, '#!/nonexistent/interpreter\n');
  await fsp.chmod(unusable, 0o644);
  await assert.rejects(startMonitor({ ...opts, nativeMonitor: unusable }), (err: unknown) => is(err, 'UNAVAILABLE'));
  assert.equal(await runc.tryState(r.id), undefined);
});

test('echo hi | run -i img cat: a CLI attached to its own stdio prints hi and exits with the container', async () => {
  const { opts, r } = await prepare({ Cmd: ['sh', '-c', 'cat; exit 3'] }, {}, { openStdin: true });
  const script = path.join(r.dir, 'run-i.mts');
  const monitorTs = fileURLToPath(new URL('../../../src/runtime/monitor.ts', import.meta.url));
  await fsp.writeFile(
    script,
    `import { startMonitor } from ${JSON.stringify(monitorTs)};\n` +
      `const s = await startMonitor({ ...${JSON.stringify(opts)}, attach: { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr } });\n` +
      `const ex = await s.session.exit;\n` +
      `process.exitCode = ex.exitCode ?? 125;\n`,
  );
  const cli = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  cli.stdout.on('data', (d: Buffer) => (out += d.toString()));
  cli.stdin.end('hi\n');
  const code = await new Promise<number | null>((resolve) => {
    const t = setTimeout(() => cli.kill('SIGKILL'), 20_000);
    cli.on('exit', (c) => {
      clearTimeout(t);
      resolve(c);
    });
  });
  assert.equal(out, 'hi\n');
  assert.equal(code, 3, 'the CLI exits by itself with the container exit code');
});

test('bytes that are not UTF-8, control characters, long lines and a last partial line are logged as Docker decodes them', async () => {
  // Invalid sequences (a lone byte, a truncated sequence, a surrogate, an overlong form) become U+FFFD per byte, as
  // Docker's json-file driver (Go) decodes them; control characters are escaped as JSON.stringify escapes them; a
  // line over 16 KiB is split.
  const bytes = [
    Buffer.from([0x61, 0xff, 0x62, 0xc3, 0x28, 0x63, 0xed, 0xa0, 0x80, 0x64, 0xc0, 0xaf, 0x65, 0xe2, 0x82]),
    Buffer.from(' \u00e9\u20ac\u{1f600} "q" \\ \x01\x1b\x7f\t\n', 'utf8'),
    Buffer.from('x'.repeat(20_000) + '\n'),
    Buffer.from('tail'),
  ];
  const octal = (b: Buffer): string => [...b].map((x) => `\\${x.toString(8).padStart(3, '0')}`).join('');
  const script = `printf '${octal(bytes[0]!)}${octal(bytes[1]!)}'; head -c 20000 /dev/zero | tr '\\000' x; printf '\\ntail'`;
  const { opts, stateDir, logPath } = await prepare({ Cmd: ['sh', '-c', script] });
  await startMonitor(opts);
  assert.equal((await waitExit(stateDir, 20_000)).exitCode, 0);
  const first = Buffer.concat([bytes[0]!, bytes[1]!]);
  // Node's decoder differs only for the truncated sequence e2 82 at the end of bytes[0]: one U+FFFD for Node, two for Go.
  const asGo = first.toString('utf8').replace('e\ufffd \u00e9', 'e\ufffd\ufffd \u00e9');
  assert.notEqual(asGo, first.toString('utf8'));
  const expected = [asGo, 'x'.repeat(16_384), 'x'.repeat(20_000 - 16_384) + '\n', 'tail'];
  assert.deepEqual(
    (await logLines(logPath)).map((l) => l.log),
    expected,
  );
  // The serialised form too: the same escapes as JSON.stringify (e.g. \u001b in lower case, DEL verbatim).
  const raw = await fsp.readFile(logPath, 'utf8');
  assert.ok(raw.includes(`{"log":${JSON.stringify(expected[0])},"stream":"stdout","time":"`), raw.slice(0, 300));
});

test('the kernel OOM kill is recorded from cgroup v2 memory.events too', async () => {
  // A cgroup v2 tree of our own (this machine's memory controller is v1): the monitor watches <root><path>/memory.events
  // with inotify and reads its oom_kill counter, and the parent's counter covers a cgroup removed before the read.
  const base = await prepare({ Cmd: ['sleep', '60'] }, { memory: 64 * 1024 * 1024 }, { watchOom: true });
  const fake = path.join(base.r.dir, 'cgroup2');
  const spec = JSON.parse(await fsp.readFile(path.join(base.r.dir, 'config.json'), 'utf8'));
  const leaf = spec.linux.cgroupsPath as string;
  await fsp.mkdir(path.join(fake, leaf), { recursive: true });
  const events = path.join(fake, leaf, 'memory.events');
  await fsp.writeFile(events, 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n');
  const s = await startMonitor({ ...base.opts, cgroupRoot: fake });
  await sleep(200);
  await fsp.writeFile(events, 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n');
  await sleep(200);
  await fsp.rm(path.join(fake, leaf), { recursive: true }); // as the kernel removes it with the cgroup
  process.kill(s.containerPid!, 'SIGKILL');
  const st = await waitExit(base.stateDir, 20_000);
  assert.equal(st.exitCode, 137);
  assert.equal(st.oomKilled, true);

  // A counter that stays 0, and a parent whose counter did not move: no OOM kill.
  const calm = await prepare({ Cmd: ['sleep', '60'] }, { memory: 64 * 1024 * 1024 }, { watchOom: true });
  const fake2 = path.join(calm.r.dir, 'cgroup2');
  const leaf2 = JSON.parse(await fsp.readFile(path.join(calm.r.dir, 'config.json'), 'utf8')).linux
    .cgroupsPath as string;
  await fsp.mkdir(path.join(fake2, leaf2), { recursive: true });
  await fsp.writeFile(path.join(fake2, leaf2, 'memory.events'), 'oom 0\noom_kill 0\n');
  await fsp.writeFile(path.join(fake2, path.posix.dirname(leaf2), 'memory.events'), 'oom 2\noom_kill 2\n');
  const s2 = await startMonitor({ ...calm.opts, cgroupRoot: fake2 });
  process.kill(s2.containerPid!, 'SIGKILL');
  const st2 = await waitExit(calm.stateDir, 20_000);
  assert.equal(st2.exitCode, 137);
  assert.equal(st2.oomKilled, undefined);
});

test('a client that never reads is dropped: the container goes on and the monitor does not grow', async () => {
  // 40 MB of output; one attached client reads nothing. The container's output waits while the client's queue is
  // full (back-pressure), the client is dropped after a few seconds without progress, and the rest flows to the log.
  const { opts, stateDir, logPath } = await prepare(
    { Cmd: ['sh', '-c', 'head -c 40000000 /dev/zero | tr "\\000" x; echo; echo end'] },
    {},
    {
      waitForAttach: false,
    },
  );
  const net = await import('node:net');
  const s = await startMonitor(opts);
  const sock = net.createConnection(monitorPaths(stateDir).socket);
  await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
  sock.pause(); // never read
  sock.on('error', () => {});
  let peakKb = 0;
  const { readFileSync } = await import('node:fs');
  const sample = (): void => {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${s.monitorPid}/status`, 'utf8'));
      if (m) peakKb = Math.max(peakKb, Number(m[1]));
    } catch {
      /* exited */
    }
  };
  const baseKb = (() => {
    sample();
    const b = peakKb;
    peakKb = 0;
    return b;
  })();
  const t0 = Date.now();
  let st: Awaited<ReturnType<typeof readState>>;
  for (;;) {
    sample();
    st = await readState(stateDir);
    if (st?.status === 'exited' || Date.now() - t0 > 60_000) break;
    await sleep(100);
  }
  sock.destroy();
  assert.equal(st?.status, 'exited', 'the container finished although a client never read');
  assert.equal(st?.exitCode, 0);
  assert.match(await fsp.readFile(monitorPaths(stateDir).monitorLog, 'utf8'), /dropping an attach client/);
  // The queue is bounded at about 1 MiB plus one read; the sanitizer build's shadow memory costs more per byte.
  const limitKb = process.env.WHARF_MONITOR_BINARY?.endsWith('-asan') ? 48 * 1024 : 12 * 1024;
  assert.ok(peakKb - baseKb < limitKb, `the monitor grew by ${peakKb - baseKb} kB`);
  const lines = await logLines(logPath);
  assert.equal(lines.map((l) => l.log).join('').length, 40_000_000 + 1 + 4);
});

test('a full disk loses log entries but never leaves a torn one: the log stays readable and later entries land', async () => {
  // The log on a 64 KiB tmpfs, most of it taken by a filler: the container's output fills the rest (writes fail,
  // some half-way through an entry); once the filler is gone, the next line must be an entry of its own.
  const base = await prepare({
    Cmd: [
      'sh',
      '-c',
      'i=0; while [ $i -lt 400 ]; do echo "line $i $(printf %0200d 0)"; i=$((i+1)); done; touch /filled; while [ ! -e /go ]; do sleep 0.1; done; echo after',
    ],
  });
  const fsDir = path.join(base.r.dir, 'logfs');
  await fsp.mkdir(fsDir);
  await run('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', fsDir]);
  try {
    const filler = path.join(fsDir, 'filler');
    await fsp.writeFile(filler, Buffer.alloc(40 * 1024, 1));
    const logPath = path.join(fsDir, 'c-json.log');
    await startMonitor({ ...base.opts, logPath });
    const t0 = Date.now();
    while (!(await fsp.stat(path.join(base.r.rootfs, 'filled')).catch(() => undefined))) {
      assert.ok(Date.now() - t0 < 20_000, 'the container did not write its lines');
      await sleep(100);
    }
    await sleep(500); // the monitor reads the last of them
    assert.match(await fsp.readFile(monitorPaths(base.stateDir).monitorLog, 'utf8'), /cannot write the log/);
    await fsp.rm(filler);
    await fsp.writeFile(path.join(base.r.rootfs, 'go'), '');
    assert.equal((await waitExit(base.stateDir, 20_000)).exitCode, 0);
    const raw = await fsp.readFile(logPath, 'utf8');
    for (const line of raw.split('\n').filter((l) => l !== ''))
      assert.doesNotThrow(() => JSON.parse(line), line.slice(0, 200));
    const logs = (await logLines(logPath)).map((l) => l.log);
    // Some entries were lost (the disk was full) and some kept. How many depends on how much output the monitor read
    // at once (it writes a read's entries together and cuts a failed write back), which a loaded machine changes.
    assert.ok(logs.length < 400, `${logs.length} entries`);
    assert.ok(
      logs.some((l) => l.startsWith('line ')),
      `an entry written before the disk filled is kept: ${logs.length} entries`,
    );
    assert.equal(logs.at(-1), 'after\n');
  } finally {
    await run('umount', [fsDir]).catch(() => {});
  }
});

test('out of descriptors, the monitor waits for free ones instead of spinning; clients beyond 64 are refused', async () => {
  // The monitor under a descriptor limit of 32 (a wrapper sets it): 40 clients exhaust it. The pending connections
  // must neither make the monitor spin nor flood its log; once clients leave, a new one is served.
  const monitorBin =
    process.env.WHARF_MONITOR_BINARY ?? fileURLToPath(new URL('../../../build/Release/wharf-monitor', import.meta.url));
  const { opts, stateDir, r } = await prepare(
    { Cmd: ['sh', '-c', 'while [ ! -e /go ]; do sleep 0.1; done; echo done'] },
    {},
    { waitForAttach: false },
  );
  const wrapper = path.join(r.dir, 'monitor-nofile.sh');
  await fsp.writeFile(wrapper, `#!/bin/sh\nulimit -n 32 || exit 99\nexec ${JSON.stringify(monitorBin)} "$@"\n`, {
    mode: 0o755,
  });
  const s = await startMonitor({ ...opts, nativeMonitor: wrapper });
  const net = await import('node:net');
  const connect = async (): Promise<import('node:net').Socket> => {
    const c = net.createConnection(monitorPaths(stateDir).socket);
    c.on('error', () => {});
    await new Promise<void>((resolve, reject) => c.once('connect', resolve).once('error', reject));
    return c;
  };
  const cpuTicks = async (): Promise<number> => {
    const f = (await fsp.readFile(`/proc/${s.monitorPid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
    return Number(f[11]) + Number(f[12]); // utime + stime
  };
  const socks = [];
  for (let i = 0; i < 40; i++) socks.push(await connect());
  await sleep(300);
  const before = await cpuTicks();
  await sleep(1000);
  const used = (await cpuTicks()) - before;
  const log = await fsp.readFile(monitorPaths(stateDir).monitorLog, 'utf8');
  assert.match(log, /accept on .*(Too many open files|descriptors)/);
  assert.ok(log.split('\n').filter((l) => l.includes('accept on')).length <= 2, log.slice(0, 2000));
  assert.ok(used < 30, `the monitor used ${used} ticks of CPU in a second`);
  for (const c of socks) c.destroy();
  await sleep(300);
  const late = await connect();
  let got = '';
  late.on('data', (d: Buffer) => (got += d.toString('latin1')));
  await fsp.writeFile(path.join(r.rootfs, 'go'), '');
  const st = await waitExit(stateDir, 20_000);
  assert.equal(st.exitCode, 0);
  assert.ok(got.includes('done'), 'the client that came later was served');
  late.destroy();

  // At most 64 clients: more are refused, each connection closed at once.
  const many = await prepare(
    { Cmd: ['sh', '-c', 'while [ ! -e /go ]; do sleep 0.1; done'] },
    {},
    { waitForAttach: false },
  );
  await startMonitor(many.opts);
  const conns: Array<import('node:net').Socket> = [];
  let closed = 0;
  for (let i = 0; i < 70; i++) {
    const c = net.createConnection(monitorPaths(many.stateDir).socket);
    c.on('error', () => {});
    c.on('close', () => closed++);
    conns.push(c);
  }
  const t0 = Date.now();
  while (closed < 6 && Date.now() - t0 < 10_000) await sleep(50);
  assert.equal(closed, 6, 'the connections beyond 64 are closed');
  assert.match(await fsp.readFile(monitorPaths(many.stateDir).monitorLog, 'utf8'), /refusing attach clients beyond 64/);
  for (const c of conns) c.destroy();
  await fsp.writeFile(path.join(many.r.rootfs, 'go'), '');
  assert.equal((await waitExit(many.stateDir, 20_000)).exitCode, 0);
});

test('a state that cannot be written is retried, reported, and makes the monitor exit 1', async () => {
  // The state directory made immutable (chattr +i, which binds root too) while the container runs: its exit
  // cannot be recorded. A wrapper records the monitor's own exit status.
  const monitorBin =
    process.env.WHARF_MONITOR_BINARY ?? fileURLToPath(new URL('../../../build/Release/wharf-monitor', import.meta.url));
  const { opts, stateDir, r } = await prepare({ Cmd: ['sleep', '60'] }, {}, { waitForAttach: false });
  const status = path.join(r.dir, 'monitor-status');
  const wrapper = path.join(r.dir, 'monitor-status.sh');
  await fsp.writeFile(wrapper, `#!/bin/sh\n${JSON.stringify(monitorBin)} "$@"\necho $? > ${JSON.stringify(status)}\n`, {
    mode: 0o755,
  });
  const s = await startMonitor({ ...opts, nativeMonitor: wrapper });
  const before = await fsp.readFile(monitorPaths(stateDir).state, 'utf8');
  await run('chattr', ['+i', stateDir]);
  try {
    process.kill(s.containerPid!, 'SIGKILL');
    const t0 = Date.now();
    while (!(await fsp.stat(status).catch(() => undefined))) {
      assert.ok(Date.now() - t0 < 20_000, 'the monitor did not exit');
      await sleep(100);
    }
    assert.equal((await fsp.readFile(status, 'utf8')).trim(), '1');
    assert.equal(await fsp.readFile(monitorPaths(stateDir).state, 'utf8'), before, 'the old state stays');
    assert.match(
      await fsp.readFile(monitorPaths(stateDir).monitorLog, 'utf8'),
      /cannot write .*state\.json \(5 retries\)/,
    );
  } finally {
    await run('chattr', ['-i', stateDir]);
  }
});

test('restart policy on-failure:2: the monitor runs a failing command three times, one log, then exits', async () => {
  const { opts, stateDir, logPath } = await prepare(
    { Cmd: ['sh', '-c', 'echo run; exit 3'] },
    {},
    { restartPolicy: { name: 'on-failure', max: 2 } },
  );
  await startMonitor(opts);
  const st = await waitExit(stateDir, 30_000);
  assert.equal(st.exitCode, 3);
  assert.equal(st.restartCount, 2);
  assert.equal(st.cleanedUp, true);
  assert.deepEqual(
    (await logLines(logPath)).map((l) => l.log),
    ['run\n', 'run\n', 'run\n'],
  );
});

test('restart policy always on a terminal: each exit ends the attach session with its code, the no-restart file ends the loop', async () => {
  const { opts, stateDir, logPath } = await prepare(
    { Cmd: ['sh', '-c', 'echo tty; sleep 0.3; exit 2'] },
    { tty: true },
    { restartPolicy: { name: 'always', max: 0 } },
  );
  const out = collector();
  const started = await startMonitor({ ...opts, attach: { stdout: out.stream } });
  const ex = await started.session!.exit;
  assert.equal(ex.exitCode, 2, "the first run's exit: Docker ends attach sessions at each exit");
  assert.match(out.text(), /tty/);
  let st = await readState(stateDir);
  for (let i = 0; i < 200 && !st?.restartCount; i++) {
    await sleep(25);
    st = await readState(stateDir);
  }
  assert.ok(st?.restartCount, 'restarted');
  // A later client gets the next run's output.
  const { attach } = await import('../../../src/runtime/index.js');
  const later = collector();
  const again = await attach(monitorPaths(stateDir).socket, { stdout: later.stream });
  await fsp.writeFile(monitorPaths(stateDir).noRestart, '');
  assert.equal((await again.exit).exitCode, 2);
  const end = await waitExit(stateDir, 30_000);
  assert.equal(end.exitCode, 2);
  assert.ok((end.restartCount ?? 0) >= 1);
  // A restart is counted when decided, as Docker counts it: a stop during its back-off leaves it without a run.
  const runs = (await logLines(logPath)).filter((l) => l.log === 'tty\r\n').length;
  assert.ok(runs >= 1 && runs >= (end.restartCount ?? 0) && runs <= (end.restartCount ?? 0) + 1, `${runs} runs`);
});

test('a restart policy changed while the container runs applies at its next exit', async () => {
  const { opts, stateDir } = await prepare(
    { Cmd: ['sh', '-c', 'sleep 0.3; exit 1'] },
    {},
    { restartPolicy: { name: 'always', max: 0 } },
  );
  await startMonitor(opts);
  await fsp.writeFile(monitorPaths(stateDir).restartPolicy, 'on-failure 1\n');
  const st = await waitExit(stateDir, 30_000);
  assert.equal(st.restartCount, 1);
  assert.equal(st.exitCode, 1);
});

/** The `runc exec` processes on the host for a container, by their command lines. */
async function runcExecsOf(id: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of await fsp.readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const argv = (await fsp.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (argv.includes('exec') && argv.includes(id)) found.push(argv.join(' '));
  }
  return found;
}

interface HealthFile {
  Status: string;
  FailingStreak: number;
  Log: Array<{ Start: string; End: string; ExitCode: number; Output: string }>;
}

async function waitHealthFile(stateDir: string, done: (h: HealthFile) => boolean): Promise<HealthFile> {
  let h: HealthFile | undefined;
  for (let i = 0; i < 600; i++) {
    h = await fsp
      .readFile(path.join(stateDir, 'health.json'), 'utf8')
      .then((t) => JSON.parse(t) as HealthFile)
      .catch(() => undefined);
    if (h && done(h)) return h;
    await sleep(100);
  }
  assert.fail(`health never got there: ${JSON.stringify(h)}`);
}

const probe = (cmd: string[], over: { timeoutMs?: number; retries?: number } = {}) => ({
  cmd,
  intervalMs: 100,
  timeoutMs: over.timeoutMs ?? 5000,
  startPeriodMs: 0,
  startIntervalMs: 5000,
  retries: over.retries ?? 2,
  timeoutText: `${over.timeoutMs ?? 5000}ms`,
});

test('health checks: probes run as runc exec, output capped at 4096 bytes, streaks, timeouts; none left at the exit', async () => {
  // On pipes: a passing probe with long output.
  const loud = ['sh', '-c', 'i=0; while [ $i -lt 600 ]; do echo 0123456789; i=$((i+1)); done'];
  const a = await prepare({ Cmd: ['sleep', '60'] }, {}, { health: probe(loud) });
  await startMonitor(a.opts);
  const good = await waitHealthFile(a.stateDir, (h) => h.Status === 'healthy');
  assert.equal(good.FailingStreak, 0);
  const out = good.Log.at(-1)!.Output;
  assert.equal(out.length, 4096 + 3);
  assert.ok(out.startsWith('0123456789\n') && out.endsWith('...'));
  // On a terminal: failures make it unhealthy after `retries`, and the log keeps five.
  const b = await prepare({ Cmd: ['sleep', '60'] }, { tty: true }, { health: probe(['sh', '-c', 'exit 2']) });
  await startMonitor(b.opts);
  const bad = await waitHealthFile(b.stateDir, (h) => h.FailingStreak >= 6);
  assert.equal(bad.Status, 'unhealthy');
  assert.equal(bad.Log.length, 5);
  assert.ok(bad.Log.every((r) => r.ExitCode === 2));
  // A probe past its timeout: killed, -1 and Docker's message.
  const c = await prepare({ Cmd: ['sleep', '60'] }, {}, { health: probe(['sleep', '30'], { timeoutMs: 200 }) });
  await startMonitor(c.opts);
  const slow = await waitHealthFile(c.stateDir, (h) => h.Log.length >= 1);
  assert.deepEqual([slow.Log[0]!.ExitCode, slow.Log[0]!.Output], [-1, 'Health check exceeded timeout (200ms)']);
  // A probe runc cannot start: -1 and the runtime's error as Docker words it.
  const d = await prepare({ Cmd: ['sleep', '60'] }, {}, { health: probe(['nonexistent']) });
  await startMonitor(d.opts);
  const missing = await waitHealthFile(d.stateDir, (h) => h.Log.length >= 1);
  assert.equal(missing.Log[0]!.ExitCode, -1);
  assert.match(missing.Log[0]!.Output, /^OCI runtime exec failed: .*nonexistent.*: unknown$/);
  // Paused: the checks stop and the status is unhealthy; resumed: they start again.
  await a.runc.pause(a.r.id);
  await waitHealthFile(a.stateDir, (h) => h.Status === 'unhealthy');
  await a.runc.resume(a.r.id);
  await waitHealthFile(a.stateDir, (h) => h.Status === 'healthy');
  // The container's end ends the probes: none left behind, and the status is unhealthy as Docker leaves it.
  for (const x of [a, b, c, d]) {
    await x.runc.kill(x.r.id, 'SIGKILL').catch(() => {});
    await waitExit(x.stateDir, 30_000);
    assert.deepEqual(await runcExecsOf(x.r.id), []);
    assert.equal((await waitHealthFile(x.stateDir, () => true)).Status, 'unhealthy');
  }
});

test('restart policy + health check: every run gets probes', async () => {
  // The probe prints the start time of the container's init (field 22 of /proc/1/stat, in the container's own pid
  // namespace): one value per run, known from the run's first instant, so each result names the run it probed.
  // Only results land in health.json (a probe between runs or killed at an exit is dropped), which keeps five:
  // it is read every 50 ms and the results are gathered by their start.
  const starttime = ['sh', '-c', 'read -r a b c d e f g h i j k l m n o p q r s t u v rest < /proc/1/stat; echo $v'];
  const x = await prepare(
    { Cmd: ['sh', '-c', 'sleep 1; exit 1'] },
    {},
    {
      restartPolicy: { name: 'on-failure', max: 3 },
      health: { ...probe(starttime), intervalMs: 250, startIntervalMs: 250 },
    },
  );
  await startMonitor(x.opts);
  const results = new Map<string, string>(); // Start → Output
  let end: Awaited<ReturnType<typeof readState>>;
  for (let i = 0; i < 1200; i++) {
    const h = await fsp
      .readFile(path.join(x.stateDir, 'health.json'), 'utf8')
      .then((t) => JSON.parse(t) as HealthFile)
      .catch(() => undefined);
    for (const r of h?.Log ?? []) if (r.ExitCode === 0) results.set(r.Start, r.Output.trim());
    end = await readState(x.stateDir);
    if (end?.status === 'exited') break;
    await sleep(50);
  }
  assert.equal(end?.status, 'exited');
  assert.equal(end?.restartCount, 3);
  const runs = new Set(results.values());
  assert.ok(
    [...runs].every((v) => /^\d+$/.test(v)),
    `probe outputs: ${JSON.stringify([...results])}`,
  );
  assert.equal(runs.size, 4, `one start time per run probed, 4 runs: ${JSON.stringify([...results])}`);
  assert.deepEqual(await runcExecsOf(x.r.id), []);
  assert.equal((await waitHealthFile(x.stateDir, () => true)).Status, 'unhealthy');
});

test("log rotation as Docker's json-file: max-size starts a new file, max-file keeps .1 and .2, logs reads them in order", async () => {
  const script = 'i=0; while [ $i -lt 100 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done';
  const { opts, stateDir, logPath } = await prepare({ Cmd: ['sh', '-c', script] });
  await startMonitor({ ...opts, logMaxSize: 1000, logMaxFiles: 3 });
  assert.equal((await waitExit(stateDir, 20_000)).exitCode, 0);
  const dir = path.dirname(logPath);
  const files = (await fsp.readdir(dir)).filter((n) => n.startsWith(path.basename(logPath))).sort();
  assert.deepEqual(files, [path.basename(logPath), `${path.basename(logPath)}.1`, `${path.basename(logPath)}.2`]);
  for (const f of files.slice(1)) {
    const size = (await fsp.stat(path.join(dir, f))).size;
    // Docker checks the size before each entry: a rotated file is at least max-size, less than one entry more.
    assert.ok(size >= 1000 && size < 1200, `${f}: ${size} bytes`);
  }
  const lines = (await logLines(logPath)).map((l) => l.log.trim());
  assert.equal(lines.at(-1), 'line-99-xxxxxxxxxxxxxxxxxxxx');
  const first = Number(/^line-(\d+)-/.exec(lines[0]!)![1]);
  assert.deepEqual(
    lines,
    Array.from({ length: 100 - first }, (_, i) => `line-${first + i}-xxxxxxxxxxxxxxxxxxxx`),
    'the kept entries, oldest first, none lost or repeated',
  );
});

test('log max-file 1 cuts the file back; log_disabled (--log-driver none) writes no file at all', async () => {
  const script = 'i=0; while [ $i -lt 50 ]; do echo line-$i; i=$((i+1)); done';
  const one = await prepare({ Cmd: ['sh', '-c', script] });
  await startMonitor({ ...one.opts, logMaxSize: 300, logMaxFiles: 1 });
  await waitExit(one.stateDir, 20_000);
  assert.ok((await fsp.stat(one.logPath)).size < 400);
  await assert.rejects(fsp.stat(`${one.logPath}.1`));
  assert.equal((await logLines(one.logPath)).at(-1)?.log, 'line-49\n');

  const none = await prepare({ Cmd: ['sh', '-c', 'echo hidden; exit 4'] });
  await startMonitor({ ...none.opts, logDisabled: true });
  assert.equal((await waitExit(none.stateDir, 20_000)).exitCode, 4);
  await assert.rejects(fsp.stat(none.logPath), /ENOENT/);
});

test('no monitor reported a memory error or undefined behaviour (the sanitizer build) or died', async () => {
  for (const dir of stateDirs) {
    const log = await fsp.readFile(monitorPaths(dir).monitorLog, 'utf8').catch(() => '');
    assert.doesNotMatch(
      log,
      /AddressSanitizer|LeakSanitizer|runtime error:|UndefinedBehaviorSanitizer/,
      `${dir}: ${log.slice(0, 2000)}`,
    );
  }
});
