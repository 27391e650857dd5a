import { WharfError } from '../../errors/index.js';
import { isNoSpace } from '../storage/reserve.js';

/** The distribution-spec error codes, with the one HTTP status each maps to. */
export const OCI_STATUS = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 400,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  TOOMANYREQUESTS: 429,
  PAGINATION_NUMBER_INVALID: 400,
  RANGE_INVALID: 416,
  PAYLOAD_TOO_LARGE: 413,
  UNAVAILABLE: 503,
  UNKNOWN: 500,
} as const;
export type OciCode = keyof typeof OCI_STATUS;

/** An error that already names its API code; handlers throw it where the spec is specific. */
export function apiError(code: OciCode, message: string, detail?: unknown): WharfError {
  return new WharfError('INVALID_ARGUMENT', message, {
    details: { oci: code, ...(detail !== undefined ? { detail } : {}) },
  });
}

/** What a request was about, so a generic NOT_FOUND can become BLOB_UNKNOWN, MANIFEST_UNKNOWN… */
export type Subject = 'blob' | 'upload' | 'manifest' | 'tags' | 'repo' | 'other';

const NOT_FOUND_BY_SUBJECT: Record<Subject, OciCode> = {
  blob: 'BLOB_UNKNOWN',
  upload: 'BLOB_UPLOAD_UNKNOWN',
  manifest: 'MANIFEST_UNKNOWN',
  tags: 'NAME_UNKNOWN',
  repo: 'NAME_UNKNOWN',
  other: 'NAME_UNKNOWN',
};

export interface ApiErrorBody {
  status: number;
  code: OciCode;
  message: string;
  detail?: unknown;
}

/** The single place where errors become HTTP statuses and spec codes. Unknown errors are 500 without internals. */
export function toApiError(err: unknown, subject: Subject): ApiErrorBody {
  // A full disk is the storage's state, not a bug: 507 Insufficient Storage, saying so (distribution answers 500).
  if (isNoSpace(err))
    return { status: 507, code: 'UNKNOWN', message: "no space left on device: the registry's storage is full" };
  if (!(err instanceof WharfError)) return { status: 500, code: 'UNKNOWN', message: 'internal server error' };
  const d = err.details ?? {};
  const explicit = d.oci as OciCode | undefined;
  const code: OciCode =
    explicit ??
    (() => {
      switch (err.code) {
        case 'NOT_FOUND':
          return d.upload ? 'BLOB_UPLOAD_UNKNOWN' : NOT_FOUND_BY_SUBJECT[subject];
        case 'INVALID_ARGUMENT':
          return subject === 'manifest'
            ? 'MANIFEST_INVALID'
            : subject === 'upload'
              ? 'BLOB_UPLOAD_INVALID'
              : 'NAME_INVALID';
        case 'DIGEST_MISMATCH':
          return 'DIGEST_INVALID';
        case 'SIZE_MISMATCH':
          return 'SIZE_INVALID';
        case 'TOO_LARGE':
          return 'PAYLOAD_TOO_LARGE';
        case 'CONFLICT':
          return subject === 'upload' ? 'RANGE_INVALID' : 'DENIED';
        case 'FAILED_PRECONDITION':
          return subject === 'manifest' ? 'MANIFEST_BLOB_UNKNOWN' : 'DENIED';
        case 'UNAUTHORIZED':
          return 'UNAUTHORIZED';
        case 'DENIED':
          return 'DENIED';
        case 'UNSUPPORTED':
          return subject === 'manifest' ? 'MANIFEST_INVALID' : 'UNSUPPORTED';
        case 'UNAVAILABLE':
          return 'UNAVAILABLE';
        case 'CANCELLED':
          return 'BLOB_UPLOAD_INVALID';
        default:
          return 'UNKNOWN';
      }
    })();
  const status = OCI_STATUS[code];
  const detail = d.detail ?? (d.missing ? { missing: d.missing } : undefined);
  return {
    status,
    // Extra statuses are not spec codes: send the nearest spec code in the body.
    code:
      code === 'RANGE_INVALID'
        ? 'BLOB_UPLOAD_INVALID'
        : code === 'PAYLOAD_TOO_LARGE'
          ? subject === 'manifest'
            ? 'MANIFEST_INVALID'
            : 'SIZE_INVALID'
          : code,
    message: status === 500 ? 'internal server error' : err.message,
    ...(detail !== undefined ? { detail } : {}),
  };
}
