import { WharfError, type ErrorCode } from '../errors/index.js';

const EXIT_STATUS = Symbol('wharf.exitStatus');

/**
 * Give one of the docker CLI's own errors its exit status (cli.StatusError): a `--format` template that does not
 * parse exits 64 in `inspect`, `info`, `version` and `events`.
 */
export function withExitStatus<T>(err: T, status: number): T {
  return mark(err, EXIT_STATUS, status);
}

/** Set `key` on an error object (a thrown non-object or a frozen one is left as it is). */
function mark<T>(err: T, key: symbol, value: unknown): T {
  if (err !== null && typeof err === 'object' && !Object.isFrozen(err)) (err as Record<symbol, unknown>)[key] = value;
  return err;
}

/**
 * Docker's exit codes: 125 when the engine itself fails (run/create and flag errors), 126 when the contained command
 * cannot be invoked, 127 when it cannot be found; other commands exit 1 on failure, as the docker CLI does.
 */
export function exitCodeFor(err: unknown, engineExit = 1): number {
  const status = (err as { [EXIT_STATUS]?: number } | null)?.[EXIT_STATUS];
  if (status !== undefined) return status;
  if (err instanceof WharfError) {
    const byCode: Partial<Record<ErrorCode, number>> = { COMMAND_NOT_FOUND: 127, COMMAND_NOT_EXECUTABLE: 126 };
    return byCode[err.code] ?? engineExit;
  }
  return engineExit;
}

const DAEMON_SIDE = Symbol('wharf.daemonSide');
const ERROR_PREFIXED = Symbol('wharf.errorPrefixed');

/**
 * Mark an error as the engine's answer to an operation (what dockerd would have answered): the docker CLI prints
 * those as "Error response from daemon: …", and its own (a flag, a template, a file on this host) bare.
 * withEngine's `daemon` option marks what the engine's calls throw (cli/engine.ts); an engine error thrown where no
 * such call is (a filter the CLI parses for the engine) says so by `details.daemonSide`.
 */
export function markDaemonSide<T>(err: T): T {
  return mark(err, DAEMON_SIDE, true);
}

/**
 * Mark one of the docker CLI's own errors that it words with "Error: " before it (its interactive login's, say);
 * its others print bare.
 */
export function withErrorPrefix<T>(err: T): T {
  return mark(err, ERROR_PREFIXED, true);
}

/**
 * Whether `err` (or the error it wraps: a full disk's, say) is the engine's answer (markDaemonSide), unless the
 * engine said it is about what the docker CLI does itself (`details.clientSide`: a path on the host in `cp`).
 */
function fromDaemon(err: unknown): boolean {
  const details = (err as { details?: { clientSide?: unknown; daemonSide?: unknown } } | null)?.details;
  if (details?.clientSide === true) return false;
  if (details?.daemonSide === true) return true;
  for (let e = err, depth = 0; e !== null && typeof e === 'object' && depth < 3; depth++) {
    if ((e as { [DAEMON_SIDE]?: boolean })[DAEMON_SIDE]) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * A system call's error as Go words it ("open /x.tar: no such file or directory"), which is how the docker CLI and
 * dockerd print them, instead of Node's "ENOENT: no such file or directory, open '/x.tar'".
 */
function goSyscallText(err: NodeJS.ErrnoException, line: string): string {
  const m = /^E[A-Z0-9]+: (.+), ([a-z_0-9]+)(?: '(.*?)')?(?: -> '(.*)')?$/.exec(line);
  if (!m || typeof err.code !== 'string' || !err.syscall) return line;
  const [, what, call, from, to] = m;
  const where = [from, to].filter((x) => x !== undefined).join(' ');
  return `${call}${where ? ` ${where}` : ''}: ${what}`;
}

/**
 * The error as the docker CLI words it: a daemon's answer (markDaemonSide) with "Error response from daemon: "
 * before it, except a reference that does not parse (the docker CLI parses references itself, so that message is
 * never the daemon's); the first line of the message, and the stack only with debug.
 */
export function errorText(err: unknown, debug: boolean): string {
  if (!(err instanceof Error)) return String(err);
  const first = err.message.split('\n')[0]!;
  const line = goSyscallText(err, first);
  const daemon = fromDaemon(err) && !line.startsWith('invalid reference format');
  const text = daemon ? `Error response from daemon: ${line}` : line;
  return debug && err.stack ? `${text}\n${err.stack}` : text;
}

/**
 * One readable line as the docker CLI 28 prints it: a daemon's "Error response from daemon: …", the CLI's own
 * errors bare ("invalid reference format", "open /x.tar: no such file or directory"), "Error: …" for those it words
 * so (withErrorPrefix); the stack only with debug.
 */
export function formatError(err: unknown, debug: boolean): string {
  const text = errorText(err, debug);
  if (text.startsWith('Error response from daemon: ')) return text;
  return (err as { [ERROR_PREFIXED]?: boolean } | null)?.[ERROR_PREFIXED] ? `Error: ${text}` : text;
}
