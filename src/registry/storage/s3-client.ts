import * as http from 'node:http';
import * as https from 'node:https';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { WharfError } from '../../errors/index.js';
import type { S3Config } from './s3-config.js';

/**
 * The object-level operations the S3 driver and its writer need, on the AWS SDK v3 client. The SDK is loaded on
 * first use with require, outside the CLI bundle: every `wharf` command shares that bundle, only a registry on S3
 * should pay for the SDK (~600 kB), and the SDK's own dynamic import()s cannot live in a code-cached bundle.
 * Errors come out as WharfErrors: NOT_FOUND for a missing key, UNAVAILABLE when the store cannot be reached or answers
 * 5xx (the registry answers 503), INTERNAL for the rest (credentials, bucket missing: configuration).
 */
export class S3Ops {
  #client?: Promise<{ client: S3Client; sdk: typeof import('@aws-sdk/client-s3') }>;

  constructor(readonly config: S3Config) {}

  get bucket(): string {
    return this.config.bucket;
  }

  async #sdk() {
    this.#client ??= (async () => {
      const sdk = loadModule('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3');
      const c = this.config;
      const client = new sdk.S3Client({
        region: c.region,
        ...(c.endpoint !== undefined ? { endpoint: c.endpoint } : {}),
        ...(c.credentials !== undefined ? { credentials: c.credentials } : {}),
        forcePathStyle: c.forcePathStyle,
        // The SDK's default CRC32 trailers (aws-chunked bodies) are not understood by older S3-compatible stores
        // (Ceph RGW 16 among them): checksums only where the API requires them.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        maxAttempts: 3,
        // A stopped store must fail a request in seconds (→ 503), not after the OS's connect timeout. A streamed blob
        // body waits on its client as long as the registry's own idle timeout allows. And no pool limit of 50 (the
        // SDK's default): a GET holds its connection while the client reads, and a request queued behind slow
        // readers would wait for them.
        requestHandler: {
          connectionTimeout: 5000,
          requestTimeout: 300_000,
          httpAgent: new http.Agent({ keepAlive: true, maxSockets: 4096 }),
          httpsAgent: new https.Agent({ keepAlive: true, maxSockets: 4096 }),
        },
      });
      return { client, sdk };
    })();
    return this.#client;
  }

  /** Runs one SDK command, made by `make` from the SDK module; maps its errors (see the class comment). */
  async send<T>(what: string, make: (sdk: typeof import('@aws-sdk/client-s3')) => object): Promise<T> {
    const { client, sdk } = await this.#sdk();
    try {
      // Each command's own input/output types do not unify with send's overloads; callers name the output they read.
      return (await client.send(make(sdk) as Parameters<S3Client['send']>[0])) as T;
    } catch (err) {
      throw mapS3Error(err, what);
    }
  }

  /** A presigned GET URL for a key, valid `seconds`. */
  async presignGet(key: string, seconds: number): Promise<string> {
    const { client, sdk } = await this.#sdk();
    const { getSignedUrl } = loadModule(
      '@aws-sdk/s3-request-presigner',
    ) as typeof import('@aws-sdk/s3-request-presigner');
    return getSignedUrl(client, new sdk.GetObjectCommand({ Bucket: this.bucket, Key: key }), { expiresIn: seconds });
  }

  /** `CopySource` of a key in this bucket (URL-encoded per segment, as the API wants it). */
  copySource(key: string): string {
    return `${this.bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
  }

  async readBuffer(key: string, opts: { ifMatch?: string; range?: string } = {}): Promise<Buffer> {
    const res = await this.send<{ Body?: Readable }>(`get ${key}`, (sdk) => {
      return new sdk.GetObjectCommand({
        Bucket: this.bucket,
        Key: key,
        ...(opts.ifMatch !== undefined ? { IfMatch: opts.ifMatch } : {}),
        ...(opts.range !== undefined ? { Range: opts.range } : {}),
      });
    });
    const chunks: Buffer[] = [];
    if (res.Body) for await (const c of res.Body) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }
}

const loadModule = createRequire(import.meta.url);

/** An SDK error as a WharfError (see S3Ops). */
export function mapS3Error(err: unknown, what: string): WharfError {
  if (err instanceof WharfError) return err;
  const e = err as { name?: string; message?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  const msg = `object store: ${what}: ${e.name ?? 'error'}${e.message ? ` ${e.message}` : ''}`;
  if (status === 404 || e.name === 'NoSuchKey' || e.name === 'NotFound')
    return new WharfError('NOT_FOUND', msg, { cause: err, details: { s3: e.name } });
  if (status === 412 || e.name === 'PreconditionFailed')
    return new WharfError('CONFLICT', msg, { cause: err, details: { s3: e.name } });
  if (status === 416 || e.name === 'InvalidRange')
    return new WharfError('INVALID_ARGUMENT', msg, { cause: err, details: { s3: 'InvalidRange' } });
  // No HTTP status: the request never got an answer (refused, reset, timed out).
  if (status === undefined || status >= 500 || status === 429)
    return new WharfError('UNAVAILABLE', msg, { cause: err, details: { s3: e.name } });
  return new WharfError('INTERNAL', msg, { cause: err, details: { s3: e.name } });
}
