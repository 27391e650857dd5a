import { WharfError } from '../../errors/index.js';
import type { BlobWriter } from './driver.js';
import type { S3Ops } from './s3-client.js';

/**
 * The state of an object still being written, kept in the bucket itself so that any replica can continue it: the
 * object at the key holds the bytes not yet sent as a part (the "tail", < one part) and, in its metadata under this
 * name, `{u, n, p}`: the multipart upload id, how many parts (numbered 1..n) it holds, and their size (every part is
 * exactly p bytes, p being the chunk size of the replica that flushed the first one). The object's size is n·p + the
 * tail's. Completing the multipart upload replaces that object with the whole data under the same key, atomically.
 */
export const PENDING_META = 'wharf-pending';

export interface PendingState {
  /** Multipart upload id; absent while everything still fits in the tail. */
  u?: string;
  n: number;
  p: number;
}

export function parsePending(meta: Record<string, string> | undefined): PendingState | undefined {
  const raw = meta?.[PENDING_META];
  if (raw === undefined) return undefined;
  try {
    const s = JSON.parse(raw) as PendingState;
    if (Number.isInteger(s.n) && Number.isInteger(s.p) && s.n >= 0 && s.p > 0) return s;
  } catch {}
  throw new WharfError('INTERNAL', `object store: unreadable ${PENDING_META} metadata ${JSON.stringify(raw)}`);
}

/**
 * A writer that sends every full part as soon as it has one (one part upload in flight while the next is received),
 * and on commit or close writes the tail and the state back to the key. Nothing about the upload lives only in this
 * process: a writer opened on another replica reads the state and the tail back and goes on.
 */
export class S3Writer implements BlobWriter {
  #buf: Buffer[] = [];
  #bufLen = 0;
  #size: number;
  #inflight: Promise<void> | undefined;
  #error: unknown;
  #closed = false;

  constructor(
    private readonly ops: S3Ops,
    private readonly key: string,
    private readonly state: PendingState,
    tail: Buffer,
    /**
     * ETag of the object now at the key when its bytes are exactly `tail` (the writer continues it); undefined when
     * the writer starts from nothing (a new or truncated object).
     */
    private readonly baseEtag?: string,
  ) {
    if (tail.length > 0) {
      this.#buf.push(tail);
      this.#bufLen = tail.length;
    }
    this.#size = state.n * state.p + tail.length;
  }

  get size(): number {
    return this.#size;
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.#closed) throw new WharfError('FAILED_PRECONDITION', `writer of ${this.key} is closed`);
    if (this.#error !== undefined) throw this.#error;
    this.#buf.push(chunk);
    this.#bufLen += chunk.length;
    this.#size += chunk.length;
    while (this.#bufLen >= this.state.p) await this.#flushPart();
  }

  async #flushPart(): Promise<void> {
    await this.#settle();
    const all = Buffer.concat(this.#buf, this.#bufLen);
    const part = all.subarray(0, this.state.p);
    const rest = all.subarray(this.state.p);
    this.#buf = rest.length > 0 ? [rest] : [];
    this.#bufLen = rest.length;
    if (this.state.u === undefined) {
      const res = await this.ops.send<{ UploadId?: string }>(`create multipart upload ${this.key}`, (sdk) => {
        return new sdk.CreateMultipartUploadCommand({
          Bucket: this.ops.bucket,
          Key: this.key,
          ContentType: 'application/octet-stream',
        });
      });
      if (!res.UploadId) throw new WharfError('INTERNAL', `object store: no upload id for ${this.key}`);
      this.state.u = res.UploadId;
      await this.#recordUpload();
    }
    const n = this.state.n + 1;
    const uploadId = this.state.u;
    this.#inflight = this.ops
      .send(`upload part ${n} of ${this.key}`, (sdk) => {
        return new sdk.UploadPartCommand({
          Bucket: this.ops.bucket,
          Key: this.key,
          UploadId: uploadId,
          PartNumber: n,
          Body: part,
          ContentLength: part.length,
        });
      })
      .then(
        () => {
          this.state.n = n;
        },
        (err: unknown) => {
          this.#error ??= err;
        },
      );
  }

  /**
   * Writes the new upload id into the object's state before any part goes, the content unchanged (the tail it held,
   * n parts): a process killed mid-request then leaves a state naming its multipart upload, which the next writer
   * reuses (overwriting its parts) and a delete aborts, instead of an upload no one knows of.
   */
  async #recordUpload(): Promise<void> {
    const Metadata = { [PENDING_META]: JSON.stringify(this.state) };
    await this.ops.send(`record upload of ${this.key}`, (sdk) => {
      return this.baseEtag !== undefined
        ? new sdk.CopyObjectCommand({
            Bucket: this.ops.bucket,
            Key: this.key,
            CopySource: this.ops.copySource(this.key),
            CopySourceIfMatch: this.baseEtag,
            MetadataDirective: 'REPLACE',
            Metadata,
            ContentType: 'application/octet-stream',
          })
        : new sdk.PutObjectCommand({
            Bucket: this.ops.bucket,
            Key: this.key,
            Body: Buffer.alloc(0),
            ContentLength: 0,
            Metadata,
            ContentType: 'application/octet-stream',
          });
    });
  }

  async #settle(): Promise<void> {
    const p = this.#inflight;
    this.#inflight = undefined;
    await p;
    if (this.#error !== undefined) throw this.#error;
  }

  // The state and the tail go back to the key in one PUT: until it lands, the object keeps its previous, consistent
  // state (parts uploaded meanwhile beyond its n are overwritten by the next writer or left out on completion).
  async #persist(): Promise<void> {
    await this.#settle();
    const body = Buffer.concat(this.#buf, this.#bufLen);
    const pending = this.state.u !== undefined;
    await this.ops.send(`put ${this.key}`, (sdk) => {
      return new sdk.PutObjectCommand({
        Bucket: this.ops.bucket,
        Key: this.key,
        Body: body,
        ContentLength: body.length,
        ContentType: 'application/octet-stream',
        // Without a multipart upload the tail is the whole object: it is stored plain, already complete.
        ...(pending ? { Metadata: { [PENDING_META]: JSON.stringify(this.state) } } : {}),
      });
    });
  }

  async commit(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#persist();
  }

  /** Same as commit: what was written stays, durable, for the session to resume from. */
  async close(): Promise<void> {
    await this.commit();
  }

  async cancel(): Promise<void> {
    this.#closed = true;
    await this.#inflight;
    if (this.state.u !== undefined) {
      const uploadId = this.state.u;
      await this.ops
        .send('abort multipart upload', (sdk) => {
          return new sdk.AbortMultipartUploadCommand({ Bucket: this.ops.bucket, Key: this.key, UploadId: uploadId });
        })
        .catch(() => undefined);
    }
    await this.ops.send(`delete ${this.key}`, (sdk) => {
      return new sdk.DeleteObjectCommand({ Bucket: this.ops.bucket, Key: this.key });
    });
  }
}
