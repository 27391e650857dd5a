import { WharfError } from '../errors/index.js';
import { parseDigest } from '../digest/index.js';
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
