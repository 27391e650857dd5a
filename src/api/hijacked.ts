import { randomBytes } from 'node:crypto';
import { Writable, type Duplex } from 'node:stream';
import { WharfError } from '../errors/index.js';
import { pidRunning } from '../util/index.js';
import { formatLogEntry, type AttachOptions, type AttachSession } from '../runtime/index.js';
import { boolParam, hijack, readJson, sendEmpty, sendJson, type ApiRequest } from './context.js';
import { muxFrame, STDERR, STDOUT } from './frames.js';
import type { ExecInstance } from './state.js';

/** A Writable that sends what the container writes to the client: in mux frames, or raw with a TTY. */
function toClient(socket: Duplex, stream: typeof STDOUT | typeof STDERR, tty: boolean): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (socket.destroyed || socket.writableEnded) return cb();
      socket.write(tty ? chunk : muxFrame(stream, chunk), () => cb());
    },
  });
}

/**
 * POST /containers/{id}/attach (hijacked): the client's streams until the container exits. Before its start (the
 * docker CLI attaches, then waits, then starts), the streams wait for the start; on a running container they
 * attach through the monitor.
 */
export async function attachHandler(r: ApiRequest): Promise<void> {
  const c = await r.wharf.containers.get(r.params.id!);
  if (!boolParam(r.query, 'stream') && !boolParam(r.query, 'logs'))
    throw new WharfError('INVALID_ARGUMENT', 'Bad parameters: you must choose at least one stream');
  const tty = c.config.Tty === true;
  const socket = hijack(r);
  const stdout = boolParam(r.query, 'stdout');
  const stderr = boolParam(r.query, 'stderr');
  if (boolParam(r.query, 'logs') && (stdout || stderr)) {
    // `logs`: what the container wrote so far first (dockerode's attach to a running TTY container sees its prompt).
    for await (const e of r.wharf.tasks.logs(c.id, { follow: false, stdout, stderr })) {
      const text = formatLogEntry(e, false);
      if (!socket.write(tty ? text : muxFrame(e.stream === 'stderr' ? STDERR : STDOUT, text)))
        await new Promise((resolve) => socket.once('drain', resolve));
    }
  }
  if (!boolParam(r.query, 'stream')) return void socket.end();
  const streams: AttachOptions = {
    ...(boolParam(r.query, 'stdin') ? { stdin: socket } : {}),
    ...(stdout ? { stdout: toClient(socket, STDOUT, tty) } : {}),
    ...(stderr ? { stderr: toClient(socket, tty ? STDOUT : STDERR, tty) } : {}),
  };
  // The relay counts for `wait` from its start on (not while pending: a wait on a container that was not started
  // need not wait for it); taken by the start before it runs the container, whose exit may come at once.
  let relayed = () => {};
  const relayFrom = () => {
    relayed = r.state.trackRelay(c.id);
    socket.once('close', relayed);
  };
  const follow = (session: AttachSession | undefined) => {
    if (!session) return void socket.end(relayed);
    r.state.sessions.set(c.id, session);
    socket.once('close', () => session.detach());
    const done = () => {
      if (r.state.sessions.get(c.id) === session) r.state.sessions.delete(c.id);
      socket.end(relayed); // done once the last output is handed to the kernel
    };
    void session.exit.then(done, done);
  };
  if (c.running) {
    relayFrom();
    const { session } = await r.wharf.tasks.attach(c.id, streams).catch((err: Error) => {
      socket.end();
      throw err;
    });
    follow(session);
    return;
  }
  const forget = r.state.addPendingAttach(c.id, { streams, taken: relayFrom, started: follow });
  socket.once('close', forget);
}

/**
 * POST /containers/{id}/resize?h=&w=: the terminal of a container with a TTY, through the attach session this service
 * holds (`docker run -it`), or a short one of its own.
 */
export async function resizeHandler(r: ApiRequest): Promise<void> {
  const c = await r.wharf.containers.get(r.params.id!);
  if (!c.running) throw new WharfError('CONFLICT', `Container ${c.id} is not running`);
  const cols = Number(r.query.get('w') ?? '0');
  const rows = Number(r.query.get('h') ?? '0');
  const held = r.state.sessions.get(c.id);
  if (held) held.resize(cols, rows);
  else {
    const { session } = await r.wharf.tasks.attach(c.id, {});
    session.resize(cols, rows);
    session.detach();
  }
  sendEmpty(r.res, 200);
}

interface ExecBody {
  Cmd?: string[] | null;
  Env?: string[] | null;
  User?: string;
  WorkingDir?: string;
  Tty?: boolean;
  Privileged?: boolean;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
}

/** POST /containers/{id}/exec: an exec instance, run by its start. 409 when the container does not run. */
export async function execCreateHandler(r: ApiRequest): Promise<void> {
  const body = await readJson<ExecBody>(r.req);
  const c = await r.wharf.containers.get(r.params.id!);
  if (!body.Cmd || body.Cmd.length === 0) throw new WharfError('INVALID_ARGUMENT', 'No exec command specified');
  if (!c.running) throw new WharfError('CONFLICT', `Container ${c.id} is not running`);
  if (c.status === 'paused')
    throw new WharfError('CONFLICT', `Container ${c.id} is paused, unpause the container before exec`);
  const id = randomBytes(32).toString('hex');
  r.state.execs.set(id, {
    id,
    containerId: c.id,
    cmd: body.Cmd,
    env: body.Env ?? [],
    user: body.User ?? '',
    workdir: body.WorkingDir ?? '',
    tty: body.Tty === true,
    privileged: body.Privileged === true,
    attachStdin: body.AttachStdin === true,
    attachStdout: body.AttachStdout === true,
    attachStderr: body.AttachStderr === true,
    running: false,
    exitCode: null,
    pid: 0,
  });
  sendJson(r.res, 201, { Id: id });
}

function execOf(r: ApiRequest): ExecInstance {
  const e = r.state.execs.get(r.params.id!);
  if (!e) throw new WharfError('NOT_FOUND', `No such exec instance: ${r.params.id}`);
  return e;
}

/** POST /exec/{id}/start: hijacked unless `Detach`; the connection closes when the process exits. */
export async function execStartHandler(r: ApiRequest): Promise<void> {
  const e = execOf(r);
  const body = await readJson<{ Detach?: boolean; Tty?: boolean }>(r.req);
  if (e.running || e.exitCode !== null) throw new WharfError('CONFLICT', `exec ${e.id} has already been started`);
  const tty = body.Tty ?? e.tty;
  const detach = body.Detach === true;
  const socket = detach ? undefined : hijack(r);
  e.running = true;
  const finish = (code: number) => {
    e.running = false;
    e.exitCode = code;
    socket?.end();
  };
  try {
    const handle = await r.wharf.tasks.exec(e.containerId, {
      cmd: e.cmd,
      env: e.env,
      ...(e.user ? { user: e.user } : {}),
      ...(e.workdir ? { workdir: e.workdir } : {}),
      tty,
      privileged: e.privileged,
      detach,
      ...(socket && e.attachStdin ? { stdin: socket } : {}),
      ...(socket && e.attachStdout ? { stdout: toClient(socket, STDOUT, tty) } : {}),
      ...(socket && e.attachStderr ? { stderr: toClient(socket, tty ? STDOUT : STDERR, tty) } : {}),
    });
    e.pid = handle.pid;
    e.resize = (cols, rows) => handle.resize(cols, rows);
    const failed = (err: Error) => {
      // A command that is missing or not executable: dockerd's exit codes, with the message on stderr.
      const code = (err as WharfError).code === 'COMMAND_NOT_FOUND' ? 127 : 126;
      socket?.write(tty ? `${err.message}\r\n` : muxFrame(STDOUT, `${err.message}\n`));
      finish(code);
    };
    if (detach) {
      // runc's --detach returns once the process started: it runs on, not a child of this service. As dockerd's,
      // the inspect says Running (ExitCode null) until its PID is gone (docker-py's exec_run(detach=True) reads that).
      e.detached = true;
      handle.exit.then(() => undefined, failed);
      sendEmpty(r.res, 200);
      return;
    }
    handle.exit.then(finish, failed);
  } catch (err) {
    e.running = false;
    e.exitCode = 126;
    if (!socket) throw err;
    socket.write(tty ? `${(err as Error).message}\r\n` : muxFrame(STDERR, `${(err as Error).message}\n`));
    socket.end();
  }
}

export function execInspectHandler(r: ApiRequest): void {
  const e = execOf(r);
  // A detached exec's process, which this service cannot wait for: a zombie its new parent (the container's
  // monitor) did not reap yet has ended.
  if (e.detached && e.running && !pidRunning(e.pid)) {
    // Its exit status went to the container's init, not here: reported as 0, as the library's detached exec does.
    e.running = false;
    e.exitCode = 0;
  }
  sendJson(r.res, 200, {
    CanRemove: false,
    ContainerID: e.containerId,
    DetachKeys: '',
    ExitCode: e.exitCode,
    ID: e.id,
    OpenStderr: e.attachStderr,
    OpenStdin: e.attachStdin,
    OpenStdout: e.attachStdout,
    ProcessConfig: {
      arguments: e.cmd.slice(1),
      entrypoint: e.cmd[0],
      privileged: e.privileged,
      tty: e.tty,
      user: e.user,
    },
    Running: e.running,
    Pid: e.pid,
  });
}

export function execResizeHandler(r: ApiRequest): void {
  const e = execOf(r);
  e.resize?.(Number(r.query.get('w') ?? '0'), Number(r.query.get('h') ?? '0'));
  sendEmpty(r.res, 200);
}
