import { isUtf8 } from 'node:buffer';
import { closeSync, fstatSync, openSync, promises as fsp, read, writeSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { setTimeout as sleep } from 'node:timers/promises';

export type LogStream = 'stdout' | 'stderr';

/** One entry of Docker's json-file log driver. */
export interface LogEntry {
  stream: LogStream;
  /** The line including its trailing "\n" (absent on a final partial line). */
  log: string;
  /** RFC 3339 with fractional seconds, UTC. */
  time: string;
}

/** How much of a log file one read takes. */
const READ_BUFFER = 64 * 1024;

/** Docker splits lines longer than 16 KiB into partial entries. */
const MAX_LINE = 16 * 1024;

/**
 * Appends json-file entries, one per line of output, buffering each stream's unfinished line. Writes are
 * synchronous, one per chunk of output (as Docker's json-file driver writes in the daemon): appends to the page
 * cache take microseconds, and closing at the container's exit has nothing left to wait for.
 */
export class JsonLogWriter {
  private fd: number | undefined;
  private readonly partial: Record<LogStream, Buffer> = { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) };

  constructor(file: string) {
    this.fd = openSync(file, 'a', 0o640);
  }

  write(stream: LogStream, chunk: Buffer): void {
    let buf = this.partial[stream].length ? Buffer.concat([this.partial[stream], chunk]) : chunk;
    let out = '';
    for (;;) {
      const nl = buf.indexOf(0x0a);
      if (nl >= 0 && nl < MAX_LINE) {
        out += entryLine(stream, buf.subarray(0, nl + 1));
        buf = buf.subarray(nl + 1);
      } else if (buf.length >= MAX_LINE) {
        out += entryLine(stream, buf.subarray(0, MAX_LINE));
        buf = buf.subarray(MAX_LINE);
      } else break;
    }
    this.partial[stream] = Buffer.from(buf);
    this.append(out);
  }

  private append(text: string): void {
    if (!text || this.fd === undefined) return;
    try {
      writeSync(this.fd, text);
    } catch {
      /* a full disk must not kill the monitor; the container keeps running */
    }
  }

  /** Writes unfinished lines and closes the file. */
  async close(): Promise<void> {
    let out = '';
    for (const s of ['stdout', 'stderr'] as const) {
      if (this.partial[s].length) out += entryLine(s, this.partial[s]);
      this.partial[s] = Buffer.alloc(0);
    }
    this.append(out);
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

function entryLine(stream: LogStream, line: Buffer): string {
  const entry: LogEntry = { log: decodeUtf8LikeGo(line), stream, time: new Date().toISOString() };
  return JSON.stringify(entry) + '\n';
}

/**
 * Bytes as text the way Docker's json-file driver (Go's utf8.DecodeRune) reads them: one U+FFFD for every byte that
 * does not start a valid sequence, where Node's decoder writes one per maximal subpart (a truncated sequence is one
 * U+FFFD for Node, one per byte for Go). native/monitor/util.c's json_string_from_bytes does the same.
 */
function decodeUtf8LikeGo(buf: Buffer): string {
  if (isUtf8(buf)) return buf.toString('utf8');
  let out = '';
  let from = 0; // start of the valid run not yet decoded
  for (let i = 0; i < buf.length; ) {
    const n = validSequenceLength(buf, i);
    if (n > 0) {
      i += n;
      continue;
    }
    out += buf.toString('utf8', from, i) + '\ufffd';
    i += 1;
    from = i;
  }
  return out + buf.toString('utf8', from);
}

/** The length of the valid UTF-8 sequence at buf[i], 0 if none starts there. */
function validSequenceLength(buf: Buffer, i: number): number {
  const c = buf[i]!;
  if (c < 0x80) return 1;
  let need: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) need = 1;
  else if (c >= 0xe0 && c <= 0xef) {
    need = 2;
    if (c === 0xe0) lo = 0xa0;
    if (c === 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    need = 3;
    if (c === 0xf0) lo = 0x90;
    if (c === 0xf4) hi = 0x8f;
  } else return 0;
  for (let k = 1; k <= need; k++) {
    const d = buf[i + k];
    if (d === undefined || d < lo || d > hi) return 0;
    lo = 0x80;
    hi = 0xbf;
  }
  return need + 1;
}

export interface ReadLogsOptions {
  /** Keep reading as the file grows until `stopWhen` says the writer is done (or `signal` aborts). */
  follow?: boolean;
  stopWhen?: () => boolean | Promise<boolean>;
  /** Only the last N entries (before following). */
  tail?: number;
  /** Only entries at or after / before this time. */
  since?: Date;
  until?: Date;
  stdout?: boolean;
  stderr?: boolean;
  signal?: AbortSignal;
  /** Poll interval while following, ms (default 100). */
  pollMs?: number;
}

/**
 * The rotated files of a json-file log (`file.1` … `file.N`, as Docker's rotation names them), oldest first. A
 * missing directory reads as none.
 */
async function rotatedFiles(file: string): Promise<string[]> {
  const dir = path.dirname(file);
  const base = path.basename(file);
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return [];
  }
  return names
    .map((n) => ({ n, i: n.startsWith(`${base}.`) ? Number(n.slice(base.length + 1)) : Number.NaN }))
    .filter((x) => Number.isInteger(x.i) && x.i > 0)
    .sort((a, b) => b.i - a.i)
    .map((x) => path.join(dir, x.n));
}

/** The live log file, held open by a reader: what it wrote stays readable after a rename (rotation) or unlink. */
interface HeldFile {
  fd: number;
  ino: number;
}

/** Open `file` for reading now (synchronously), or undefined when it does not exist (yet). */
function holdFile(file: string): HeldFile | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return { fd, ino: fstatSync(fd).ino };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

const readAt = (fd: number, into: Buffer, length: number, position: number): Promise<number> =>
  new Promise((resolve, reject) => read(fd, into, 0, length, position, (err, n) => (err ? reject(err) : resolve(n))));

/**
 * The entries of a json-file log, oldest first: the rotated files (`file.N` … `file.1`) and then the live file. A
 * missing file reads as empty. The live file is opened at the call, before the caller answers anyone (an API
 * handler sends its headers): a container removed right after (docker-py's `containers.run` removes it before it
 * reads the stream) still has its whole log read, as Docker's reader keeps its file open. Following survives a
 * rotation: the rest of the renamed file is read through the held descriptor before the new one. Iterate the
 * result (or `return()` it): that closes the file.
 */
export function readLogs(file: string, opts: ReadLogsOptions = {}): AsyncGenerator<LogEntry> {
  const held = holdFile(file);
  const gen = readHeldLogs(file, held, opts);
  if (!held) return gen;
  // A generator returned before its first step never runs its body's `finally`: the file is closed here then.
  let started = false;
  const first = <T>(step: () => T): T => {
    started = true;
    return step();
  };
  return Object.assign(Object.create(gen) as AsyncGenerator<LogEntry>, {
    next: (...args: [] | [unknown]) => first(() => gen.next(...args)),
    throw: (err: unknown) => first(() => gen.throw(err)),
    return: (value: unknown) => {
      if (!started) {
        started = true;
        closeSync(held.fd);
      }
      return gen.return(value as undefined);
    },
  });
}

async function* readHeldLogs(
  file: string,
  heldAtCall: HeldFile | undefined,
  opts: ReadLogsOptions,
): AsyncGenerator<LogEntry> {
  let live = heldAtCall;
  const wantStdout = opts.stdout ?? true;
  const wantStderr = opts.stderr ?? true;
  const keep = (e: LogEntry): boolean => {
    if (e.stream === 'stdout' ? !wantStdout : !wantStderr) return false;
    const t = Date.parse(e.time);
    if (opts.since && t < opts.since.getTime()) return false;
    if (opts.until && t > opts.until.getTime()) return false;
    return true;
  };
  let offset = 0;
  let rest = '';
  // One read buffer for the whole read, decoded at once: a new buffer a read (as a ReadStream's) would leave one
  // garbage buffer outside V8's heap per 64 KiB, which the GC lets pile up to tens of MB while a `logs -f` runs.
  const buf = Buffer.allocUnsafe(READ_BUFFER);
  let decoder = new StringDecoder('utf8'); // a character cut by a read's end is finished by the next
  // Whole lines of the open file `fd` from `offset` to `size`; a half-written last line waits for the next pass.
  const readFd = async function* (fd: number, size: number): AsyncGenerator<LogEntry> {
    while (offset < size) {
      const bytesRead = await readAt(fd, buf, Math.min(buf.length, size - offset), offset);
      if (bytesRead === 0) break;
      offset += bytesRead;
      rest += decoder.write(buf.subarray(0, bytesRead));
      for (let nl = rest.indexOf('\n'); nl >= 0; nl = rest.indexOf('\n')) {
        const line = rest.slice(0, nl);
        rest = rest.slice(nl + 1);
        if (line.trim() === '') continue;
        // A line that is not JSON (an entry torn by a full disk) is skipped, as Docker's json-file reader resets its
        // decoder on a syntax error and reads on: one lost entry must not make the whole log unreadable.
        const entry = parseEntry(line);
        if (entry && keep(entry)) yield entry;
      }
    }
  };
  // A rotated file, whole.
  const readPath = async function* (from: string): AsyncGenerator<LogEntry> {
    let fh: FileHandle;
    try {
      fh = await fsp.open(from, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    try {
      yield* readFd(fh.fd, (await fh.stat()).size);
    } finally {
      await fh.close();
    }
  };
  const readLive = async function* (): AsyncGenerator<LogEntry> {
    if (live) yield* readFd(live.fd, fstatSync(live.fd).size);
  };
  const restart = (): void => {
    offset = 0;
    rest = '';
    decoder = new StringDecoder('utf8');
  };
  const release = (): void => {
    if (live) closeSync(live.fd);
    live = undefined;
  };
  // What the live file has now; when the path names another file (rotated), the rest of the held one first.
  const readNew = async function* (): AsyncGenerator<LogEntry> {
    const st = await fsp.stat(file).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (st && live && st.ino !== live.ino) {
      yield* readLive();
      release();
    }
    if (st && !live) {
      live = holdFile(file);
      restart();
    } else if (live && st && st.ino === live.ino && st.size < offset) {
      restart(); // cut back (max-file 1) or truncated
    }
    yield* readLive();
  };
  const readAll = async function* (): AsyncGenerator<LogEntry> {
    for (const old of await rotatedFiles(file)) {
      // The file held at the call may have been rotated since: it is read last, as the live one.
      if (live && (await fsp.stat(old).catch(() => undefined))?.ino === live.ino) continue;
      restart();
      yield* readPath(old);
    }
    restart();
    yield* readLive();
    yield* readNew();
  };

  try {
    if (opts.tail !== undefined && opts.tail >= 0) {
      const ring: LogEntry[] = [];
      if (opts.tail > 0) {
        for await (const e of readAll()) {
          ring.push(e);
          if (ring.length > opts.tail) ring.shift();
        }
      } else {
        for await (const _ of readAll()) void _;
      }
      yield* ring;
    } else {
      yield* readAll();
    }
    if (!opts.follow) return;
    const poll = opts.pollMs ?? 100;
    for (;;) {
      if (opts.signal?.aborted) return;
      const done = opts.stopWhen ? await opts.stopWhen() : false;
      yield* readNew();
      if (done) return;
      try {
        await sleep(poll, undefined, { signal: opts.signal });
      } catch {
        return;
      }
    }
  } finally {
    release();
  }
}

function parseEntry(line: string): LogEntry | undefined {
  try {
    const e = JSON.parse(line) as LogEntry;
    return e && typeof e === 'object' && typeof e.log === 'string' ? e : undefined;
  } catch {
    return undefined;
  }
}

/** Docker's `logs` rendering of one entry (with `--timestamps`, the time then a space). */
export function formatLogEntry(e: LogEntry, timestamps = false): string {
  return timestamps ? `${e.time} ${e.log}` : e.log;
}
