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

/** One readable line; the stack only with --log-level=debug. */
export function formatError(err: unknown, debug: boolean): string {
  if (err instanceof WharfError) {
    const line = err.message.split('\n')[0]!;
    return debug && err.stack ? `Error: ${line}\n${err.stack}` : `Error: ${line}`;
  }
  if (err instanceof Error) return debug ? `Error: ${err.stack ?? err.message}` : `Error: ${err.message}`;
  return `Error: ${String(err)}`;
}
