import { WharfError, is, type ErrorCode } from '../errors/index.js';

/** One entry of a registry's error body: `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"…","detail":…}]}`. */
export interface RegistryErrorEntry {
  code: string;
  message?: string;
  detail?: unknown;
}

// distribution-spec error codes (plus Docker Hub's TOOMANYREQUESTS) to our stable codes.
const BY_REGISTRY_CODE: Record<string, ErrorCode> = {
  BLOB_UNKNOWN: 'NOT_FOUND',
  BLOB_UPLOAD_UNKNOWN: 'NOT_FOUND',
  MANIFEST_UNKNOWN: 'NOT_FOUND',
  NAME_UNKNOWN: 'NOT_FOUND',
  BLOB_UPLOAD_INVALID: 'INVALID_ARGUMENT',
  DIGEST_INVALID: 'DIGEST_MISMATCH',
  SIZE_INVALID: 'SIZE_MISMATCH',
  MANIFEST_INVALID: 'INVALID_ARGUMENT',
  MANIFEST_BLOB_UNKNOWN: 'INVALID_ARGUMENT',
  MANIFEST_UNVERIFIED: 'INVALID_ARGUMENT',
  NAME_INVALID: 'INVALID_ARGUMENT',
  TAG_INVALID: 'INVALID_ARGUMENT',
  RANGE_INVALID: 'INVALID_ARGUMENT',
  PAGINATION_NUMBER_INVALID: 'INVALID_ARGUMENT',
  UNAUTHORIZED: 'UNAUTHORIZED',
  DENIED: 'DENIED',
  UNSUPPORTED: 'UNSUPPORTED',
  TOOMANYREQUESTS: 'UNAVAILABLE',
  UNAVAILABLE: 'UNAVAILABLE',
};

export function codeForStatus(status: number): ErrorCode {
  if (status === 401) return 'UNAUTHORIZED';
  if (status === 403) return 'DENIED';
  if (status === 404) return 'NOT_FOUND';
  if (status === 405) return 'UNSUPPORTED';
  if (status === 409) return 'CONFLICT';
  if (status === 413) return 'TOO_LARGE';
  if (status === 416) return 'INVALID_ARGUMENT';
  if (status === 429 || status >= 500) return 'UNAVAILABLE';
  if (status >= 400) return 'INVALID_ARGUMENT';
  return 'INTERNAL';
}

/** What a status means to a person when the body says nothing useful. */
function phraseForStatus(status: number): string {
  if (status === 401) return 'authentication required';
  if (status === 403) return 'requested access to the resource is denied';
  if (status === 404) return 'not found';
  if (status === 429) return 'too many requests';
  if (status >= 500) return `registry unavailable (HTTP ${status})`;
  return `unexpected HTTP status ${status}`;
}

/** The entries of a registry error body, or [] when the body is not one (HTML from a proxy, empty…). */
export function parseErrorBody(body: Buffer | string | undefined): RegistryErrorEntry[] {
  if (!body || body.length === 0) return [];
  try {
    const doc = JSON.parse(body.toString()) as { errors?: unknown; details?: unknown };
    if (!Array.isArray(doc.errors)) return [];
    return doc.errors
      .filter(
        (e): e is Record<string, unknown> =>
          typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string',
      )
      .map((e) => ({
        code: String(e.code),
        ...(typeof e.message === 'string' ? { message: e.message } : {}),
        detail: e.detail,
      }));
  } catch {
    return [];
  }
}

/**
 * A typed error for a failed registry response, as one readable line: `<what>: <code words>: <message>`, e.g.
 * `manifest for localhost:5000/x:nope not found: manifest unknown: manifest unknown`.
 */
export function registryError(status: number, body: Buffer | string | undefined, what: string): WharfError {
  const entries = parseErrorBody(body);
  const first = entries[0];
  let code = first ? (BY_REGISTRY_CODE[first.code] ?? codeForStatus(status)) : codeForStatus(status);
  // A 401 is always about credentials, whatever code the body chose.
  if (status === 401) code = 'UNAUTHORIZED';
  if (status === 429) code = 'UNAVAILABLE';
  const reasons = entries.map((e) => {
    const words = e.code.toLowerCase().replace(/_/g, ' ');
    const msg = e.message?.trim();
    return msg && msg.toLowerCase() !== words ? `${words}: ${msg}` : words;
  });
  const reason = reasons.length > 0 ? reasons.join('; ') : (plainBody(body) ?? phraseForStatus(status));
  const line = `${what}: ${reason}`.split('\n')[0]!.slice(0, 500);
  return new WharfError(code, line, { details: { status, errors: entries } });
}

/** A short plain-text body (some proxies answer in text) is worth showing; HTML and long bodies are not. */
function plainBody(body: Buffer | string | undefined): string | undefined {
  if (!body || body.length === 0 || body.length > 200) return undefined;
  const s = body.toString().trim();
  if (s === '' || s.startsWith('<') || s.startsWith('{')) return undefined;
  return s.split('\n')[0];
}

/** Node socket errors that a retry may cure. */
export function isTransientNetworkError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return (
    code === 'ECONNRESET' ||
    code === 'ECONNREFUSED' ||
    code === 'EPIPE' ||
    code === 'ETIMEDOUT' ||
    code === 'ECONNABORTED' ||
    code === 'EAI_AGAIN' ||
    code === 'EHOSTUNREACH' ||
    code === 'ENETUNREACH' ||
    code === 'UND_ERR_SOCKET' ||
    code === 'ERR_STREAM_PREMATURE_CLOSE'
  );
}

/** A network failure as a typed error naming the registry. */
export function networkError(host: string, err: unknown): WharfError {
  if (err instanceof WharfError) return err;
  const e = err as NodeJS.ErrnoException;
  const why = e?.code
    ? `${e.code}${e.message && !e.message.includes(e.code) ? ` (${e.message})` : ''}`
    : String(e?.message ?? err);
  return new WharfError('UNAVAILABLE', `cannot reach registry ${host}: ${why}`, { cause: err });
}

/** A NOT_FOUND error restated about what was looked for ('manifest for host/x:y not found: manifest unknown'). */
export function notFoundAs(err: unknown, message: string): unknown {
  if (!is(err, 'NOT_FOUND')) return err;
  const reason = err.message.slice(err.message.indexOf(': ') + 2);
  return new WharfError('NOT_FOUND', `${message}: ${reason}`, {
    cause: err,
    ...(err.details ? { details: err.details } : {}),
  });
}
