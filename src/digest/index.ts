import type * as Crypto from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { WharfError } from '../errors/index.js';
import { lazyBuiltin } from '../util/builtin.js';
import { loadNativeAddon } from '../util/native.js';

// On first use: node:crypto costs ~5 ms to load, and a command that only verifies a small blob it reads (every
// `run` reads an image config) hashes it with the native addon (native/digest.c) instead.
const crypto = lazyBuiltin<typeof Crypto>('node:crypto');
interface DigestAddon {
  digestHex(alg: string, data: Uint8Array): string;
}
const digestAddon = (): DigestAddon | null =>
  loadNativeAddon<DigestAddon>('wharf_digest', (m) => typeof m.digestHex === 'function');

/** A content digest `algorithm:hex`, validated. The brand keeps unchecked strings out. */
export type Digest = string & { readonly __brand: 'Digest' };
export type Algorithm = 'sha256' | 'sha512';

const HEX_LEN: Record<Algorithm, number> = { sha256: 64, sha512: 128 };
// The OCI grammar allows other algorithms syntactically; we verify only those we can compute.
const DIGEST_RE = /^([a-z0-9]+(?:[.+_-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/;

export function isDigest(s: string): s is Digest {
  const m = DIGEST_RE.exec(s);
  if (!m) return false;
  const alg = m[1] as Algorithm;
  const len = HEX_LEN[alg];
  return len !== undefined && m[2]!.length === len && /^[a-f0-9]+$/.test(m[2]!);
}

export function parseDigest(s: string): Digest {
  if (!isDigest(s)) throw new WharfError('INVALID_ARGUMENT', `invalid digest: ${JSON.stringify(s)}`);
  return s;
}

export function algorithmOf(d: Digest): Algorithm {
  return d.slice(0, d.indexOf(':')) as Algorithm;
}

export function hexOf(d: Digest): string {
  return d.slice(d.indexOf(':') + 1);
}

/** 12-character short ID as Docker prints image IDs. */
export function shortId(d: Digest | string): string {
  const hex = d.includes(':') ? d.slice(d.indexOf(':') + 1) : d;
  return hex.slice(0, 12);
}

export function digestOf(data: string | Uint8Array, alg: Algorithm = 'sha256'): Digest {
  const addon = digestAddon();
  if (addon) return `${alg}:${addon.digestHex(alg, asBytes(data))}` as Digest;
  return `${alg}:${crypto().createHash(alg).update(data).digest('hex')}` as Digest;
}

/** The addon takes a Uint8Array: other views (a DataView, a Uint16Array) are the same bytes seen as one. */
function asBytes(data: string | ArrayBufferView): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data);
  return data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** node:crypto's createHash, loaded on first use. */
export const createHash = (alg: string): Crypto.Hash => crypto().createHash(alg);

/** An incremental digester. */
export class Digester {
  readonly #hash: Crypto.Hash;
  readonly algorithm: Algorithm;
  size = 0;
  constructor(alg: Algorithm = 'sha256') {
    this.algorithm = alg;
    this.#hash = crypto().createHash(alg);
  }
  update(chunk: Uint8Array): void {
    this.size += chunk.length;
    this.#hash.update(chunk);
  }
  digest(): Digest {
    return `${this.algorithm}:${this.#hash.digest('hex')}` as Digest;
  }
}

/** A pass-through stream that hashes what flows; `digest()` is valid after the end. */
export class DigestStream extends Transform {
  readonly #digester: Digester;
  #result: Digest | undefined;
  constructor(alg: Algorithm = 'sha256') {
    super();
    this.#digester = new Digester(alg);
  }
  get size(): number {
    return this.#digester.size;
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.#digester.update(chunk);
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    this.#result = this.#digester.digest();
    cb();
  }
  digest(): Digest {
    if (!this.#result) throw new WharfError('INTERNAL', 'digest not computed: the stream has not ended');
    return this.#result;
  }
}

/**
 * A pass-through stream that fails at the end unless the bytes match the expected digest (and size, if given).
 * Use it on every untrusted source so that a consumer never accepts bytes that do not match.
 */
export class VerifyingStream extends Transform {
  readonly #digester: Digester;
  constructor(
    private readonly expected: Digest,
    private readonly expectedSize?: number,
  ) {
    super();
    this.#digester = new Digester(algorithmOf(expected));
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.#digester.update(chunk);
    if (this.expectedSize !== undefined && this.#digester.size > this.expectedSize) {
      cb(
        new WharfError(
          'SIZE_MISMATCH',
          `content of ${this.expected} is larger than the expected ${this.expectedSize} bytes`,
        ),
      );
      return;
    }
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    if (this.expectedSize !== undefined && this.#digester.size !== this.expectedSize) {
      cb(
        new WharfError(
          'SIZE_MISMATCH',
          `content of ${this.expected} has ${this.#digester.size} bytes, expected ${this.expectedSize}`,
        ),
      );
      return;
    }
    const got = this.#digester.digest();
    if (got !== this.expected)
      cb(new WharfError('DIGEST_MISMATCH', `digest mismatch: expected ${this.expected}, got ${got}`));
    else cb();
  }
}
