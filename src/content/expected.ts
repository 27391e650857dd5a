import { WharfError } from '../errors/index.js';
import type { Readable } from 'node:stream';
import { parseDigest, type Digest } from '../digest/index.js';
import { drain } from '../util/index.js';
import type { BlobInfo, Expected } from './types.js';

export function what(expected: Expected): string {
  return expected.digest ? ` of ${expected.digest}` : '';
}

export function checkExpected(expected: Expected): void {
  if (expected.digest !== undefined) parseDigest(expected.digest);
  if (expected.size !== undefined && (!Number.isSafeInteger(expected.size) || expected.size < 0)) {
    throw new WharfError('INVALID_ARGUMENT', `invalid expected size ${expected.size}${what(expected)}`);
  }
}

/** SIZE_MISMATCH / DIGEST_MISMATCH unless `got` is what the caller expected. */
export function verifyAgainst(got: BlobInfo, expected: Expected): void {
  if (expected.size !== undefined && got.size !== expected.size) {
    throw new WharfError('SIZE_MISMATCH', `content${what(expected)} has ${got.size} bytes, expected ${expected.size}`);
  }
  if (expected.digest !== undefined && got.digest !== expected.digest) {
    throw new WharfError('DIGEST_MISMATCH', `digest mismatch: expected ${expected.digest}, got ${got.digest}`);
  }
}

/**
 * Writes are idempotent by digest: when the expected blob is already stored (at the expected size, if one is given),
 * the source is drained and the stored blob answers the write. Both backends' `write` start with this.
 */
export async function alreadyStored(
  store: { info(d: Digest): Promise<BlobInfo | undefined> },
  src: Readable,
  expected: Expected,
): Promise<BlobInfo | undefined> {
  checkExpected(expected);
  if (!expected.digest) return undefined;
  const have = await store.info(expected.digest);
  if (!have || (expected.size !== undefined && expected.size !== have.size)) return undefined;
  await drain(src);
  return have;
}
