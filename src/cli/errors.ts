import { WharfError, type ErrorCode } from '../errors/index.js';

/**
 * Docker's exit codes: 125 when the engine itself fails (run/create and flag errors), 126 when the contained command
 * cannot be invoked, 127 when it cannot be found; other commands exit 1 on failure, as the docker CLI does.
 */
export function exitCodeFor(err: unknown, engineExit = 1): number {
  if (err instanceof WharfError) {
    const byCode: Partial<Record<ErrorCode, number>> = { COMMAND_NOT_FOUND: 127, COMMAND_NOT_EXECUTABLE: 126 };
    return byCode[err.code] ?? engineExit;
  }
  return engineExit;
}

const DAEMON_SIDE = Symbol('wharf.daemonSide');

/**
 * Mark an error as the engine's answer to an operation (what dockerd would have answered): the docker CLI prints
 * those as "Error response from daemon: …", and its own (a flag, a template, "No such object") as "Error: …".
 * withEngine's `daemon` option marks what the engine's calls throw (cli/engine.ts).
 */
export function markDaemonSide<T>(err: T): T {
  if (err !== null && typeof err === 'object' && !Object.isFrozen(err))
    (err as { [DAEMON_SIDE]?: boolean })[DAEMON_SIDE] = true;
  return err;
}

/**
 * Whether `err` (or the error it wraps: a full disk's, say) is the engine's answer (markDaemonSide), unless the
 * engine said it is about what the docker CLI does itself (`details.clientSide`: a path on the host in `cp`).
 */
function fromDaemon(err: unknown): boolean {
  if ((err as { details?: { clientSide?: unknown } } | null)?.details?.clientSide === true) return false;
  for (let e = err, depth = 0; e !== null && typeof e === 'object' && depth < 3; depth++) {
    if ((e as { [DAEMON_SIDE]?: boolean })[DAEMON_SIDE]) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * The error as the docker CLI words it, without its "Error: ": a daemon's answer (markDaemonSide) with "Error
 * response from daemon: " before it, except a reference that does not parse (the docker CLI parses references
 * itself, so that message is never the daemon's); the first line of the message, and the stack only with debug.
 */
export function errorText(err: unknown, debug: boolean): string {
  if (!(err instanceof Error)) return String(err);
  const line = err.message.split('\n')[0]!;
  const daemon = fromDaemon(err) && !line.startsWith('invalid reference format');
  const text = daemon ? `Error response from daemon: ${line}` : line;
  return debug && err.stack ? `${text}\n${err.stack}` : text;
}

/** One readable line ("Error: …", or a daemon's "Error response from daemon: …"); the stack only with debug. */
export function formatError(err: unknown, debug: boolean): string {
  const text = errorText(err, debug);
  return text.startsWith('Error response from daemon: ') ? text : `Error: ${text}`;
}
