import { Readable } from 'node:stream';
import { WharfError, is } from '../../errors/index.js';
import type { BlobDriver, BlobWriter } from './driver.js';
import { checkStoragePath } from './paths.js';
import { S3Ops } from './s3-client.js';
import type { S3Config } from './s3-config.js';
import { S3Writer, parsePending, type PendingState } from './s3-writer.js';

/** Distribution's prefix: blobs land where its S3 driver puts them (`…/docker/registry/v2/blobs/sha256/ab/ab…/data`). */
const LAYOUT_PREFIX = 'docker/registry/v2/';
const DATA = '/data';
// Above this CopyObject is refused (S3's single-request copy limit): the copy goes part by part.
const MAX_SINGLE_COPY = 5 * 1024 * 1024 * 1024;
const COPY_PART = 1024 * 1024 * 1024;
// Distribution's presigned URLs live 20 minutes.
const PRESIGN_SECONDS = 20 * 60;
const DELETE_CONCURRENCY = 8;

interface Head {
  size: number;
  modified: Date;
  etag: string;
  /** Set while the object is still being written (see s3-writer.ts); then `size` counts the parts too. */
  pending?: PendingState;
  tailSize: number;
}

/**
 * BlobDriver on an S3 bucket (AWS, Ceph RGW, MinIO…). Every driver path P is the object
 * `<rootdirectory>/docker/registry/v2/P/data`, so the blob store has distribution's layout.
 *
 * Writes are S3 multipart uploads whose whole state lives in the bucket (s3-writer.ts): an upload session can be
 * continued by any replica. `commit` makes the bytes durable without completing the multipart upload (a registry
 * upload commits after every PATCH and may get more); completion happens when the object is first read or moved,
 * which for a registry upload is the move into the blob store, followed by a server-side copy to the blob's key.
 * The running SHA-256 of an upload is the store's business (it records the digest of the bytes so far in the index
 * after each append); only when that record is missing does the store read the upload back, which completes it here.
 */
export class S3Driver implements BlobDriver {
  readonly name = 's3';
  readonly #ops: S3Ops;
  readonly #base: string;

  constructor(readonly config: S3Config) {
    this.#ops = new S3Ops(config);
    this.#base = `${config.rootDirectory === '' ? '' : `${config.rootDirectory}/`}${LAYOUT_PREFIX}`;
  }

  #key(p: string): string {
    return `${this.#base}${checkStoragePath(p)}${DATA}`;
  }

  async #head(key: string): Promise<Head | undefined> {
    let res: {
      ContentLength?: number;
      LastModified?: Date;
      ETag?: string;
      Metadata?: Record<string, string>;
    };
    try {
      res = await this.#ops.send(
        `head ${key}`,
        (sdk) => new sdk.HeadObjectCommand({ Bucket: this.config.bucket, Key: key }),
      );
    } catch (err) {
      if (is(err, 'NOT_FOUND')) return undefined;
      throw err;
    }
    const pending = parsePending(res.Metadata);
    const tailSize = res.ContentLength ?? 0;
    return {
      size: (pending ? pending.n * pending.p : 0) + tailSize,
      modified: res.LastModified ?? new Date(0),
      etag: res.ETag ?? '',
      ...(pending ? { pending } : {}),
      tailSize,
    };
  }

  async stat(p: string): Promise<{ size: number; modified: Date } | undefined> {
    const h = await this.#head(this.#key(p));
    return h ? { size: h.size, modified: h.modified } : undefined;
  }

  async reader(p: string, offset = 0, length?: number): Promise<Readable> {
    const key = this.#key(p);
    if (length === 0) {
      if (!(await this.#head(key))) throw new WharfError('NOT_FOUND', `storage path ${p} does not exist`);
      return Readable.from([]);
    }
    const ranged = offset > 0 || length !== undefined;
    const range = ranged ? `bytes=${offset}-${length !== undefined ? offset + length - 1 : ''}` : undefined;
    // A pending object is completed first (bounded: a writer racing the reader can only make this retry).
    for (let attempt = 0; attempt < 3; attempt++) {
      let res: { Body?: Readable; Metadata?: Record<string, string> };
      try {
        res = await this.#ops.send(`get ${key}`, (sdk) => {
          return new sdk.GetObjectCommand({
            Bucket: this.config.bucket,
            Key: key,
            ...(range !== undefined ? { Range: range } : {}),
          });
        });
      } catch (err) {
        if (is(err, 'NOT_FOUND')) throw new WharfError('NOT_FOUND', `storage path ${p} does not exist`);
        // A start at or past the end: nothing to read (as a file read there), if the object exists at all.
        if ((err as WharfError).details?.s3 === 'InvalidRange') {
          const h = await this.#head(key);
          if (!h) throw new WharfError('NOT_FOUND', `storage path ${p} does not exist`);
          if (!h.pending) return Readable.from([]);
          await this.#complete(key);
          continue;
        }
        throw err;
      }
      if (parsePending(res.Metadata) === undefined) return res.Body ?? Readable.from([]);
      res.Body?.destroy();
      await this.#complete(key);
    }
    throw new WharfError('UNAVAILABLE', `storage path ${p} keeps changing while being read`);
  }

  async writer(p: string, append: boolean): Promise<BlobWriter> {
    const key = this.#key(p);
    const h = await this.#head(key);
    const fresh = (): PendingState => ({ n: 0, p: this.config.chunkSize });
    if (!append || !h) {
      if (h?.pending?.u !== undefined) await this.#abort(key, h.pending.u);
      return new S3Writer(this.#ops, key, fresh(), Buffer.alloc(0));
    }
    if (h.pending) {
      const tail = h.tailSize > 0 ? await this.#ops.readBuffer(key, { ifMatch: h.etag }) : Buffer.alloc(0);
      return new S3Writer(this.#ops, key, { ...h.pending }, tail, h.etag);
    }
    // Appending to a complete object: small ones come back as the tail; the full parts of a big one are copied
    // server-side into a new multipart upload and only the remainder is read back.
    const state = fresh();
    if (h.size < state.p) {
      const tail = h.size > 0 ? await this.#ops.readBuffer(key, { ifMatch: h.etag }) : Buffer.alloc(0);
      return new S3Writer(this.#ops, key, state, tail, h.etag);
    }
    const created = await this.#ops.send<{ UploadId?: string }>(`create multipart upload ${key}`, (sdk) => {
      return new sdk.CreateMultipartUploadCommand({ Bucket: this.config.bucket, Key: key });
    });
    state.u = created.UploadId!;
    const full = Math.floor(h.size / state.p);
    for (let i = 0; i < full; i++) {
      await this.#copyPart(key, key, state.u, i + 1, i * state.p, (i + 1) * state.p - 1, h.etag);
      state.n = i + 1;
    }
    const rest = h.size - full * state.p;
    const tail =
      rest > 0
        ? await this.#ops.readBuffer(key, { ifMatch: h.etag, range: `bytes=${full * state.p}-${h.size - 1}` })
        : Buffer.alloc(0);
    return new S3Writer(this.#ops, key, state, tail);
  }

  async #copyPart(
    from: string,
    to: string,
    uploadId: string,
    n: number,
    first: number | undefined,
    last: number | undefined,
    ifMatch?: string,
  ): Promise<void> {
    await this.#ops.send(`copy part ${n} of ${from} to ${to}`, (sdk) => {
      return new sdk.UploadPartCopyCommand({
        Bucket: this.config.bucket,
        Key: to,
        UploadId: uploadId,
        PartNumber: n,
        CopySource: this.#ops.copySource(from),
        ...(first !== undefined ? { CopySourceRange: `bytes=${first}-${last}` } : {}),
        ...(ifMatch ? { CopySourceIfMatch: ifMatch } : {}),
      });
    });
  }

  async #abort(key: string, uploadId: string): Promise<void> {
    await this.#ops
      .send(`abort multipart upload ${key}`, (sdk) => {
        return new sdk.AbortMultipartUploadCommand({ Bucket: this.config.bucket, Key: key, UploadId: uploadId });
      })
      .catch((err: unknown) => {
        if (!is(err, 'NOT_FOUND')) throw err;
      });
  }

  /**
   * Turns a pending object into a plain one: the tail becomes the last part (copied server-side from the object
   * itself) and the multipart upload completes, replacing the object under its key. Racing completions are fine: the
   * loser finds its upload gone and the object no longer pending.
   */
  async #complete(key: string): Promise<void> {
    const h = await this.#head(key);
    if (!h?.pending) return;
    const { u, n } = h.pending;
    try {
      if (u === undefined || n === 0) {
        // Only a tail: the same bytes again, without the mark.
        await this.#ops.send(`rewrite ${key}`, (sdk) => {
          return new sdk.CopyObjectCommand({
            Bucket: this.config.bucket,
            Key: key,
            CopySource: this.#ops.copySource(key),
            CopySourceIfMatch: h.etag,
            MetadataDirective: 'REPLACE',
            ContentType: 'application/octet-stream',
          });
        });
        if (u !== undefined) await this.#abort(key, u);
        return;
      }
      const count = h.tailSize > 0 ? n + 1 : n;
      if (h.tailSize > 0) await this.#copyPart(key, key, u, n + 1, undefined, undefined, h.etag);
      const parts = await this.#listParts(key, u, count);
      await this.#ops.send(`complete multipart upload ${key}`, (sdk) => {
        return new sdk.CompleteMultipartUploadCommand({
          Bucket: this.config.bucket,
          Key: key,
          UploadId: u,
          MultipartUpload: { Parts: parts },
        });
      });
    } catch (err) {
      const now = await this.#head(key);
      if (now && !now.pending) return; // another reader completed it meanwhile
      throw err;
    }
  }

  async #listParts(key: string, uploadId: string, count: number): Promise<Array<{ PartNumber: number; ETag: string }>> {
    const parts: Array<{ PartNumber: number; ETag: string }> = [];
    let marker: string | undefined;
    for (;;) {
      const res = await this.#ops.send<{
        Parts?: Array<{ PartNumber?: number; ETag?: string }>;
        IsTruncated?: boolean;
        NextPartNumberMarker?: string;
      }>(`list parts of ${key}`, (sdk) => {
        return new sdk.ListPartsCommand({
          Bucket: this.config.bucket,
          Key: key,
          UploadId: uploadId,
          ...(marker !== undefined ? { PartNumberMarker: marker } : {}),
        });
      });
      for (const part of res.Parts ?? []) {
        // Parts past the recorded count were sent by a writer that died before recording them: left out.
        if (part.PartNumber !== undefined && part.PartNumber <= count && part.ETag)
          parts.push({ PartNumber: part.PartNumber, ETag: part.ETag });
      }
      if (!res.IsTruncated || res.NextPartNumberMarker === undefined) break;
      marker = res.NextPartNumberMarker;
    }
    parts.sort((a, b) => a.PartNumber - b.PartNumber);
    if (parts.length !== count || parts.some((part, i) => part.PartNumber !== i + 1))
      throw new WharfError('INTERNAL', `object store: ${key} should have parts 1..${count}, has ${parts.length}`);
    return parts;
  }

  /** Server-side copy, then the source goes: S3 has no rename. `to` is replaced atomically (PUT semantics). */
  async move(from: string, to: string): Promise<void> {
    const src = this.#key(from);
    const dst = this.#key(to);
    await this.#complete(src);
    const h = await this.#head(src);
    if (!h) throw new WharfError('NOT_FOUND', `storage path ${from} does not exist`);
    if (h.size <= MAX_SINGLE_COPY) {
      await this.#ops.send(`copy ${src} to ${dst}`, (sdk) => {
        return new sdk.CopyObjectCommand({
          Bucket: this.config.bucket,
          Key: dst,
          CopySource: this.#ops.copySource(src),
          CopySourceIfMatch: h.etag,
        });
      });
    } else {
      await this.#copyLarge(src, dst, h);
    }
    await this.#deleteKey(src);
  }

  async #copyLarge(src: string, dst: string, h: Head): Promise<void> {
    const created = await this.#ops.send<{ UploadId?: string }>(`create multipart upload ${dst}`, (sdk) => {
      return new sdk.CreateMultipartUploadCommand({
        Bucket: this.config.bucket,
        Key: dst,
        ContentType: 'application/octet-stream',
      });
    });
    const u = created.UploadId!;
    try {
      const count = Math.ceil(h.size / COPY_PART);
      for (let i = 0; i < count; i++) {
        await this.#copyPart(src, dst, u, i + 1, i * COPY_PART, Math.min(h.size, (i + 1) * COPY_PART) - 1, h.etag);
      }
      const parts = await this.#listParts(dst, u, count);
      await this.#ops.send(`complete multipart upload ${dst}`, (sdk) => {
        return new sdk.CompleteMultipartUploadCommand({
          Bucket: this.config.bucket,
          Key: dst,
          UploadId: u,
          MultipartUpload: { Parts: parts },
        });
      });
    } catch (err) {
      await this.#abort(dst, u).catch(() => undefined);
      throw err;
    }
  }

  async #deleteKey(key: string): Promise<void> {
    await this.#ops.send(
      `delete ${key}`,
      (sdk) => new sdk.DeleteObjectCommand({ Bucket: this.config.bucket, Key: key }),
    );
  }

  async delete(p: string): Promise<void> {
    const key = this.#key(p);
    const h = await this.#head(key);
    if (h?.pending?.u !== undefined) await this.#abort(key, h.pending.u);
    if (h) await this.#deleteKey(key);
    // And everything below P, when P is a prefix.
    const below: string[] = [];
    for await (const k of this.#listKeys(`${this.#base}${checkStoragePath(p)}/`)) below.push(k);
    for (let i = 0; i < below.length; i += DELETE_CONCURRENCY) {
      await Promise.all(below.slice(i, i + DELETE_CONCURRENCY).map((k) => this.#deleteKey(k)));
    }
  }

  async *#listKeys(prefix: string): AsyncIterable<string> {
    let token: string | undefined;
    for (;;) {
      const res = await this.#ops.send<{
        Contents?: Array<{ Key?: string }>;
        IsTruncated?: boolean;
        NextContinuationToken?: string;
      }>(`list ${prefix}`, (sdk) => {
        return new sdk.ListObjectsV2Command({
          Bucket: this.config.bucket,
          Prefix: prefix,
          ...(token !== undefined ? { ContinuationToken: token } : {}),
        });
      });
      for (const o of res.Contents ?? []) if (o.Key !== undefined) yield o.Key;
      if (!res.IsTruncated || res.NextContinuationToken === undefined) return;
      token = res.NextContinuationToken;
    }
  }

  async *list(prefix: string): AsyncIterable<string> {
    const base = prefix.replace(/\/+$/, '');
    for await (const k of this.#listKeys(`${this.#base}${checkStoragePath(base)}/`)) {
      // Only objects of this layout (…/data); anything else in the bucket is not ours to report.
      if (k.endsWith(DATA)) yield k.slice(this.#base.length, -DATA.length);
    }
  }

  /** A presigned GET URL for the registry to redirect a blob GET to (307), unless redirects are disabled. */
  async redirectURL(p: string): Promise<string | undefined> {
    if (!this.config.redirect) return undefined;
    return this.#ops.presignGet(this.#key(p), PRESIGN_SECONDS);
  }

  /** One cheap request that needs the bucket to answer (health and readiness checks). */
  async ping(): Promise<void> {
    await this.#ops.send('head bucket', (sdk) => new sdk.HeadBucketCommand({ Bucket: this.config.bucket }));
  }
}
