import { WharfError } from '../../errors/index.js';

/** `storage.s3` resolved: distribution's keys, defaults applied, the endpoint as a full URL. */
export interface S3Config {
  region: string;
  /** `regionendpoint` with its scheme (from `secure` when it had none); absent: AWS's endpoint for the region. */
  endpoint?: string;
  bucket: string;
  /** Absent: the SDK's default credential chain (environment, profile, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Key prefix without leading or trailing slash; '' for the bucket's top. */
  rootDirectory: string;
  /** Multipart part size for uploads (≥ 5 MiB, S3's minimum for every part but the last). */
  chunkSize: number;
  forcePathStyle: boolean;
  /** Blob GETs answer 307 to a presigned URL (false: `storage.redirect.disable: true`, the registry streams). */
  redirect: boolean;
}

const MIN_CHUNK = 5 * 1024 * 1024;
// Distribution's default; S3 allows 10 000 parts, so a 10 MiB part size carries blobs up to ~97 GiB.
const DEFAULT_CHUNK = 10 * 1024 * 1024;
const MAX_CHUNK = 5 * 1024 * 1024 * 1024;

function str(raw: Record<string, unknown>, key: string): string | undefined {
  const v = raw[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' && typeof v !== 'number')
    throw new WharfError('INVALID_ARGUMENT', `config storage.s3.${key}: must be a string`);
  return String(v);
}

function bool(raw: Record<string, unknown>, key: string): boolean | undefined {
  const v = raw[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 'false') return v === 'true';
  throw new WharfError('INVALID_ARGUMENT', `config storage.s3.${key}: must be true or false`);
}

/** Reads `storage.s3` (and `storage.redirect.disable`) as distribution's S3 driver does. */
export function parseS3Config(raw: Record<string, unknown>, redirectDisabled: boolean): S3Config {
  const region = str(raw, 'region');
  const bucket = str(raw, 'bucket');
  if (!region) throw new WharfError('INVALID_ARGUMENT', 'config storage.s3.region: required');
  if (!bucket) throw new WharfError('INVALID_ARGUMENT', 'config storage.s3.bucket: required');
  const accessKey = str(raw, 'accesskey');
  const secretKey = str(raw, 'secretkey');
  if ((accessKey === undefined) !== (secretKey === undefined))
    throw new WharfError('INVALID_ARGUMENT', 'config storage.s3: accesskey and secretkey go together');
  const secure = bool(raw, 'secure') ?? true;
  const regionEndpoint = str(raw, 'regionendpoint');
  let endpoint: string | undefined;
  if (regionEndpoint !== undefined && regionEndpoint !== '') {
    endpoint = /^https?:\/\//.test(regionEndpoint)
      ? regionEndpoint
      : `${secure ? 'https' : 'http'}://${regionEndpoint}`;
    try {
      new URL(endpoint);
    } catch {
      throw new WharfError('INVALID_ARGUMENT', `config storage.s3.regionendpoint: ${regionEndpoint} is not a URL`);
    }
  }
  const chunkRaw = raw.chunksize;
  const chunkSize = chunkRaw === undefined || chunkRaw === null ? DEFAULT_CHUNK : Number(chunkRaw);
  if (!Number.isInteger(chunkSize) || chunkSize < MIN_CHUNK || chunkSize > MAX_CHUNK) {
    throw new WharfError(
      'INVALID_ARGUMENT',
      `config storage.s3.chunksize: must be a number of bytes from ${MIN_CHUNK} (5 MiB) to ${MAX_CHUNK} (5 GiB)`,
    );
  }
  const rootDirectory = (str(raw, 'rootdirectory') ?? '').replace(/^\/+|\/+$/g, '');
  if (rootDirectory.split('/').some((s) => s === '.' || s === '..') || rootDirectory.includes('//'))
    throw new WharfError('INVALID_ARGUMENT', `config storage.s3.rootdirectory: ${rootDirectory} is not a clean path`);
  return {
    region,
    ...(endpoint !== undefined ? { endpoint } : {}),
    bucket,
    ...(accessKey !== undefined && secretKey !== undefined
      ? { credentials: { accessKeyId: accessKey, secretAccessKey: secretKey } }
      : {}),
    rootDirectory,
    chunkSize,
    // An S3-compatible store on its own endpoint (RGW, MinIO) is reached by address more often than by a wildcard DNS
    // name: path style is then the default. On AWS (no endpoint) virtual-host style, as distribution.
    forcePathStyle: bool(raw, 'forcepathstyle') ?? endpoint !== undefined,
    redirect: !redirectDisabled,
  };
}
