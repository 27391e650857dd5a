import { WharfError, type ErrorCode } from '../errors/index.js';

/**
 * WharfError codes → the HTTP statuses dockerd answers with (moby's errdefs: NotFound 404, Conflict 409,
 * InvalidParameter 400, Unauthorized 401, Forbidden 403, NotImplemented 501, the rest 500).
 * One of the three places where codes become statuses (docs/architecture.md, principle 7).
 */
const STATUS: Partial<Record<ErrorCode, number>> = {
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  CONFLICT: 409,
  FAILED_PRECONDITION: 409,
  INVALID_ARGUMENT: 400,
  // A start whose command is missing or not executable: dockerd answers 400, and `docker run` exits 127/126.
  COMMAND_NOT_FOUND: 400,
  COMMAND_NOT_EXECUTABLE: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 501,
  // dockerd answers 500 for what Wharf calls unavailable (a registry it cannot reach on login, search or pull, a
  // runtime that fails): moby wraps those as plain errors, not errdefs.Unavailable.
  UNAVAILABLE: 500,
  TOO_LARGE: 413,
};

/** The status and `{"message"}` body of an error, as dockerd sends them. */
export function errorResponse(err: unknown): { status: number; message: string } {
  if (err instanceof WharfError) return { status: STATUS[err.code] ?? 500, message: err.message };
  if (err instanceof SyntaxError) return { status: 400, message: err.message };
  return { status: 500, message: err instanceof Error ? err.message : String(err) };
}
