import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { Frame, FrameDecoder, FrameSplitter, chunkFrames, encodeFrame } from '../../src/runtime/attach-protocol.js';
import { FlowGate } from '../../src/util/stream.js';
import {
  JsonLogWriter,
  classifyRuncError,
  formatLogEntry,
  readLogs,
  runcErrorMessage,
  type LogEntry,
} from '../../src/runtime/index.js';

test('runc error messages are found in text and JSON logs and classified like Docker', () => {
  const text =
    'time="2026-11-23T10:47:49Z" level=error msg="runc run failed: unable to start container process: exec: \\"nosuch\\": executable file not found in $PATH"\n';
  assert.equal(
    runcErrorMessage(text),
    'runc run failed: unable to start container process: exec: "nosuch": executable file not found in $PATH',
  );
  const json = '{"level":"info","msg":"x"}\n{"level":"error","msg":"container \\"abc\\" does not exist","time":"t"}\n';
  assert.equal(runcErrorMessage(json), 'container "abc" does not exist');
  assert.equal(runcErrorMessage('plain failure\n'), 'plain failure');
  const cases: Array<[string, string, number]> = [
    ['exec: "nosuch": executable file not found in $PATH', 'COMMAND_NOT_FOUND', 127],
    ['exec: "/x": stat /x: no such file or directory', 'COMMAND_NOT_FOUND', 127],
    ['exec: "/etc/passwd": permission denied', 'COMMAND_NOT_EXECUTABLE', 126],
    ['container "abc" does not exist', 'NOT_FOUND', 125],
    ['container with id exists: abc already exists', 'ALREADY_EXISTS', 125],
    ['cannot exec in a stopped container: container not running', 'FAILED_PRECONDITION', 125],
    ['something else broke', 'INTERNAL', 128],
  ];
  for (const [msg, code, exit] of cases) assert.deepEqual(classifyRuncError(msg), { code, exitCode: exit }, msg);
});

test('frame pieces come as they arrive, from a reused buffer, and add up to the frames', () => {
  const all = Buffer.concat([
    encodeFrame(Frame.STDOUT, 'hello world'),
    encodeFrame(Frame.STDERR, ''),
    encodeFrame(Frame.EXIT, '{"exitCode":3}'),
  ]);
  for (const size of [1, 3, 5, 6, 9, all.length]) {
    const s = new FrameSplitter();
    const reused = Buffer.alloc(size);
    const got = new Map<Frame, string>();
    let lasts = 0;
    for (let i = 0; i < all.length; i += size) {
      const n = all.copy(reused, 0, i, i + size);
      for (const p of s.push(reused.subarray(0, n))) {
        got.set(p.type, (got.get(p.type) ?? '') + p.payload.toString()); // used before the buffer is reused
        if (p.last) lasts++;
      }
    }
    assert.deepEqual(
      [...got],
      [
        [Frame.STDOUT, 'hello world'],
        [Frame.STDERR, ''],
        [Frame.EXIT, '{"exitCode":3}'],
      ],
    );
    assert.equal(lasts, 3);
  }
});

test('a borrowed write holds the source until the sink has written it', async () => {
  const calls: string[] = [];
  let finish: (() => void) | undefined;
  const slow = new Writable({
    highWaterMark: 1024,
    write: (_c, _e, cb) => {
      finish = cb; // written later
    },
  });
  const fast = new Writable({ write: (_c, _e, cb) => cb() });
  const gate = new FlowGate(
    () => calls.push('pause'),
    () => calls.push('resume'),
  );
  gate.writeBorrowed(fast, Buffer.from('x')); // done at once: no pause
  assert.deepEqual(calls, []);
  gate.writeBorrowed(slow, Buffer.from('small')); // under the high-water mark, but not written yet
  assert.deepEqual(calls, ['pause']);
  finish!();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(calls, ['pause', 'resume']);
});

test('attach frames survive arbitrary chunking', () => {
  const frames = [
    encodeFrame(Frame.STDOUT, 'hello'),
    encodeFrame(Frame.STDIN_EOF),
    encodeFrame(Frame.EXIT, '{"exitCode":3}'),
  ];
  const all = Buffer.concat(frames);
  for (const size of [1, 2, 5, 7, all.length]) {
    const d = new FrameDecoder();
    const got = [];
    for (let i = 0; i < all.length; i += size) got.push(...d.push(all.subarray(i, i + size)));
    assert.deepEqual(
      got.map((f) => [f.type, f.payload.toString()]),
      [
        [Frame.STDOUT, 'hello'],
        [Frame.STDIN_EOF, ''],
        [Frame.EXIT, '{"exitCode":3}'],
      ],
    );
  }
  const big = Buffer.alloc(2.5 * 1024 * 1024, 7);
  const parts = [...chunkFrames(Frame.STDERR, big)];
  assert.equal(parts.length, 3);
  const d = new FrameDecoder();
  const back = parts.flatMap((p) => d.push(p));
  assert.equal(Buffer.concat(back.map((f) => f.payload)).equals(big), true);
  const hostile = Buffer.alloc(5);
  hostile.writeUInt32BE(0xffffffff, 1);
  assert.throws(() => new FrameDecoder().push(hostile));
});

test('json-file log: one entry per line, partial lines kept until the end, tail/since/stream filters', async () => {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-log-'));
  try {
    const file = path.join(dir, 'c-json.log');
    const w = new JsonLogWriter(file);
    w.write('stdout', Buffer.from('one\ntw'));
    w.write('stderr', Buffer.from('err\n'));
    w.write('stdout', Buffer.from('o\nthree'));
    await w.close();
    const raw = (await fsp.readFile(file, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as LogEntry);
    assert.deepEqual(
      raw.map((e) => [e.stream, e.log]),
      [
        ['stdout', 'one\n'],
        ['stderr', 'err\n'],
        ['stdout', 'two\n'],
        ['stdout', 'three'],
      ],
    );
    for (const e of raw) assert.match(e.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$/);
    const read = async (o: Parameters<typeof readLogs>[1]) => {
      const out = [];
      for await (const e of readLogs(file, o)) out.push(e.log);
      return out;
    };
    assert.deepEqual(await read({}), ['one\n', 'err\n', 'two\n', 'three']);
    assert.deepEqual(await read({ tail: 2 }), ['two\n', 'three']);
    assert.deepEqual(await read({ tail: 0 }), []);
    assert.deepEqual(await read({ stderr: false }), ['one\n', 'two\n', 'three']);
    assert.deepEqual(await read({ stdout: false }), ['err\n']);
    assert.deepEqual(await read({ since: new Date(Date.now() + 60_000) }), []);
    assert.deepEqual(await read({ until: new Date(0) }), []);
    assert.deepEqual(await read({}).then(() => readLogs(path.join(dir, 'missing')).next()), {
      done: true,
      value: undefined,
    });
    assert.equal(formatLogEntry(raw[0]!, true), `${raw[0]!.time} one\n`);

    // follow: lines appended later arrive, and the iteration ends when stopWhen says so
    const w2 = new JsonLogWriter(file);
    let stop = false;
    const got: string[] = [];
    const reader = (async () => {
      for await (const e of readLogs(file, { follow: true, tail: 1, stopWhen: () => stop, pollMs: 20 }))
        got.push(e.log);
    })();
    await new Promise((r) => setTimeout(r, 60));
    w2.write('stdout', Buffer.from('four\n'));
    await w2.close();
    await new Promise((r) => setTimeout(r, 100));
    stop = true;
    await reader;
    assert.deepEqual(got, ['three', 'four\n']);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
});

test('a character cut by the end of a read of the log file is read whole', async () => {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-log-'));
  try {
    const file = path.join(dir, 'x.log');
    // Entries of a known size, so that one 3-byte character sits across the 64 KiB a read takes.
    const entry = (log: string): string =>
      `${JSON.stringify({ log, stream: 'stdout', time: '2026-01-01T00:00:00Z' })}\n`;
    const filler = entry('f'.repeat(1000));
    const before = filler.repeat(Math.floor(65536 / filler.length));
    const prefix = entry('').indexOf('""') + 1; // bytes of an entry before its text
    const cut = entry('x'.repeat(65536 - before.length - prefix - 1) + '\u20ac!');
    await fsp.writeFile(file, before + cut);
    const logs = [];
    for await (const e of readLogs(file)) logs.push(e.log);
    assert.equal(logs.at(-1)!.slice(-2), '\u20ac!');
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
});

test('long lines are split into 16 KiB entries as Docker does', async () => {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-log-'));
  try {
    const file = path.join(dir, 'x.log');
    const w = new JsonLogWriter(file);
    w.write('stdout', Buffer.from('a'.repeat(40 * 1024) + '\n'));
    await w.close();
    const logs = [];
    for await (const e of readLogs(file)) logs.push(e.log.length);
    assert.deepEqual(logs, [16384, 16384, 40 * 1024 - 32768 + 1]);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
});

test('the monitor configuration is key=value lines, newlines and backslashes escaped, cleanup once per argument', async () => {
  const { encodeMonitorConfig } = await import('../../src/runtime/index.js');
  const text = encodeMonitorConfig(
    {
      id: 'abc',
      bundle: '/b',
      runcRoot: '/r',
      stateDir: '/s',
      logPath: '/l/x.log',
      tty: true,
      openStdin: false,
      watchOom: true,
      cleanup: ['/usr/bin/node', 'a b', 'line\nbreak', 'back\\slash'],
      releaseLinks: [12, 345],
      notifyFd: 3,
    },
    { cgroupsPath: '/wharf/abc/ctr', memoryLimit: 8388608 },
  );
  const lines = text.trimEnd().split('\n');
  assert.match(lines[0]!, /^#/);
  assert.deepEqual(lines.slice(1), [
    'id=abc',
    'bundle=/b',
    'runc_root=/r',
    'state_dir=/s',
    'log_path=/l/x.log',
    'tty=1',
    'open_stdin=0',
    'watch_oom=1',
    'cgroups_path=/wharf/abc/ctr',
    'memory_limit=8388608',
    'cleanup=/usr/bin/node',
    'cleanup=a b',
    'cleanup=line\\nbreak',
    'cleanup=back\\\\slash',
    'release_link=12',
    'release_link=345',
    'notify_fd=3',
  ]);
  // A relative cgroups path is runc's to resolve: the monitor gets none.
  assert.doesNotMatch(
    encodeMonitorConfig(
      { id: 'x', bundle: '/b', runcRoot: '/r', stateDir: '/s', logPath: '/l', tty: false, openStdin: false },
      { cgroupsPath: 'rel' },
    ),
    /cgroups_path/,
  );
  assert.throws(
    () =>
      encodeMonitorConfig({
        id: 'x\0',
        bundle: '/b',
        runcRoot: '/r',
        stateDir: '/s',
        logPath: '/l',
        tty: false,
        openStdin: false,
      }),
    /NUL/,
  );
});

test('a log line that is not JSON (an entry torn by a full disk) is skipped, the entries around it are read', async () => {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-jsonlog-'));
  try {
    const file = path.join(dir, 'torn.log');
    const ok = (log: string): string => JSON.stringify({ log, stream: 'stdout', time: '2026-01-01T00:00:00.000Z' });
    await fsp.writeFile(file, `${ok('a\n')}\n{"log":"half an ent\n${ok('b\n')}\nnull\n${ok('c\n')}\n`);
    const got: string[] = [];
    for await (const e of readLogs(file)) got.push(e.log);
    assert.deepEqual(got, ['a\n', 'b\n', 'c\n']);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
});

test('invalid UTF-8 is logged as Docker (Go) decodes it: one U+FFFD per byte that starts no valid sequence', async () => {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-log-'));
  try {
    const file = path.join(dir, 'u.log');
    const w = new JsonLogWriter(file);
    // a lone byte, a truncated 3-byte and 4-byte sequence, a surrogate, an overlong form, valid text between
    w.write(
      'stdout',
      Buffer.from([
        0x61, 0xff, 0x62, 0xe2, 0x82, 0x63, 0xf0, 0x9f, 0x98, 0x64, 0xed, 0xa0, 0x80, 0x65, 0xc0, 0xaf, 0xc3, 0xa9,
        0xe2, 0x82,
      ]),
    );
    await w.close();
    const logs = [];
    for await (const e of readLogs(file)) logs.push(e.log);
    const F = '\ufffd';
    assert.deepEqual(logs, [`a${F}b${F}${F}c${F}${F}${F}d${F}${F}${F}e${F}${F}\u00e9${F}${F}`]);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
});

test('the log driver keys of the monitor config: log_disabled, log_max_size, log_max_files (only with a size)', async () => {
  const { encodeMonitorConfig } = await import('../../src/runtime/index.js');
  const base = { id: 'x', bundle: '/b', runcRoot: '/r', stateDir: '/s', logPath: '/l', tty: false, openStdin: false };
  const keys = (text: string) => text.split('\n').filter((l) => /^log_(disabled|max)/.test(l));
  assert.deepEqual(keys(encodeMonitorConfig(base)), []);
  assert.deepEqual(keys(encodeMonitorConfig({ ...base, logMaxSize: 10_000, logMaxFiles: 3 })), [
    'log_max_size=10000',
    'log_max_files=3',
  ]);
  assert.deepEqual(keys(encodeMonitorConfig({ ...base, logMaxFiles: 3 })), []);
  assert.deepEqual(keys(encodeMonitorConfig({ ...base, logDisabled: true })), ['log_disabled=1']);
});

test('readLogs reads rotated files oldest first (x.log.2, x.log.1, x.log) and follows across a rotation', async () => {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-log-'));
  const entry = (log: string) => `${JSON.stringify({ log, stream: 'stdout', time: new Date().toISOString() })}\n`;
  try {
    const file = path.join(dir, 'x.log');
    await fsp.writeFile(`${file}.2`, entry('a\n') + entry('b\n'));
    await fsp.writeFile(`${file}.1`, entry('c\n'));
    await fsp.writeFile(file, entry('d\n'));
    await fsp.writeFile(path.join(dir, 'x.logfile.1'), entry('not ours\n'));
    const read = async (o: Parameters<typeof readLogs>[1] = {}) => {
      const out = [];
      for await (const e of readLogs(file, o)) out.push(e.log.trim());
      return out;
    };
    assert.deepEqual(await read(), ['a', 'b', 'c', 'd']);
    assert.deepEqual(await read({ tail: 2 }), ['c', 'd']);

    // follow: an entry appended, then a rotation (the monitor renames x.log to x.log.1 and starts a new x.log)
    let stop = false;
    const got: string[] = [];
    const reader = (async () => {
      for await (const e of readLogs(file, { follow: true, tail: 1, stopWhen: () => stop, pollMs: 20 }))
        got.push(e.log.trim());
    })();
    await new Promise((r) => setTimeout(r, 80));
    await fsp.appendFile(file, entry('e\n'));
    await new Promise((r) => setTimeout(r, 80));
    await fsp.appendFile(file, entry('f\n'));
    await fsp.rename(`${file}.1`, `${file}.2`);
    await fsp.rename(file, `${file}.1`);
    await fsp.writeFile(file, entry('g\n'));
    await new Promise((r) => setTimeout(r, 100));
    stop = true;
    await reader;
    assert.deepEqual(got, ['d', 'e', 'f', 'g'], 'the rest of the renamed file, then the new one');
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
});

test('readLogs holds the live file from the call: a log removed before the read (a removed container) is read whole', async () => {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-log-'));
  const openFds = async () => (await fsp.readdir('/proc/self/fd')).length;
  try {
    const file = path.join(dir, 'c-json.log');
    const w = new JsonLogWriter(file);
    w.write('stdout', Buffer.from('hi\n'));
    await w.close();
    const before = await openFds();
    // docker-py's containers.run: the logs request is answered (headers), then the container is removed, then read.
    let removed = false;
    const entries = readLogs(file, { follow: true, stopWhen: () => removed, pollMs: 10 });
    await fsp.rm(file);
    removed = true;
    const got: string[] = [];
    for await (const e of entries) got.push(e.log);
    assert.deepEqual(got, ['hi\n']);
    assert.equal(await openFds(), before, 'the file is closed at the end');
    // Returned before its first step (an API handler that failed before it read): the file is closed too.
    await fsp.writeFile(file, '');
    const unread = readLogs(file);
    assert.equal(await openFds(), before + 1);
    await unread.return(undefined);
    assert.equal(await openFds(), before);
    // Appended after the call, then removed while following: what was written before the removal is read.
    const w2 = new JsonLogWriter(file);
    let gone = false;
    const following = readLogs(file, { follow: true, stopWhen: () => gone, pollMs: 10 });
    const reader = (async () => {
      const out: string[] = [];
      for await (const e of following) out.push(e.log);
      return out;
    })();
    w2.write('stdout', Buffer.from('a\n'));
    w2.write('stderr', Buffer.from('b\n'));
    await w2.close();
    await fsp.rm(file);
    gone = true;
    assert.deepEqual(await reader, ['a\n', 'b\n']);
    assert.equal(await openFds(), before);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
});
