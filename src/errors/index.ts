/**
 * Typed errors with stable codes. Callers test the code (`is(err, 'NOT_FOUND')`), never the message.
 * Codes map to exit codes / HTTP statuses in exactly three places: cli/, registry/server, api/.
 */
export type ErrorCode =
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'INVALID_ARGUMENT'
  | 'CONFLICT'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNAVAILABLE'
  | 'DIGEST_MISMATCH'
  | 'SIZE_MISMATCH'
  | 'FAILED_PRECONDITION'
  | 'UNSUPPORTED'
  | 'CANCELLED'
  | 'TOO_LARGE'
  | 'INTERNAL'
  // A command inside a container could not be found (exit 127) or not be executed (exit 126).
  | 'COMMAND_NOT_FOUND'
  | 'COMMAND_NOT_EXECUTABLE';

const BRAND = Symbol.for('wharf.error');

export class WharfError extends Error {
  readonly code: ErrorCode;
  readonly details?: Record<string, unknown>;
  readonly [BRAND] = true;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'WharfError';
    this.code = code;
    if (options?.details) this.details = options.details;
  }

  // Keeps `instanceof` true across duplicate copies of this module (e.g. a library and a CLI bundle).
  static override [Symbol.hasInstance](x: unknown): boolean {
    return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[BRAND] === true;
  }
}

/**
 * dockerd's answer to a filter it does not take (`what`: "'name'" or "'name=value'"), which the docker CLI prints as
 * the daemon's ("Error response from daemon: invalid filter 'x'") even where Wharf's CLI parses the filter itself:
 * `details.daemonSide` says so (cli/errors.ts).
 */
export function invalidFilter(what: string): WharfError {
  return new WharfError('INVALID_ARGUMENT', `invalid filter ${what}`, { details: { daemonSide: true } });
}

export function is(err: unknown, code: ErrorCode): err is WharfError {
  return err instanceof WharfError && err.code === code;
}

export function codeOf(err: unknown): ErrorCode | undefined {
  return err instanceof WharfError ? err.code : undefined;
}

/** Node's system errors carry `code` like 'ENOENT'. */
export function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === code;
}

/** The errno codes of a local disk that cannot take more bytes. */
const DISK_FULL_CODES = new Set(['ENOSPC', 'EDQUOT']);

/** Whether `err` is a full disk (or quota) while writing locally. */
export function isDiskFull(err: unknown): boolean {
  return typeof err === 'object' && err !== null && DISK_FULL_CODES.has((err as NodeJS.ErrnoException).code ?? '');
}

/**
 * A full disk said as every full-disk error should be: "no space left on device" and where (Node's own message of a
 * failed write() names no file). Other errors are returned as they are.
 */
export function withDiskFullPlace(err: unknown, where: string): unknown {
  if (!isDiskFull(err) || err instanceof WharfError) return err;
  const quota = (err as NodeJS.ErrnoException).code === 'EDQUOT' ? 'disk quota exceeded' : 'no space left on device';
  return new WharfError('UNAVAILABLE', `${quota}: cannot write ${where}`, { cause: err });
}
