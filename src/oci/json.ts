import { digestOf } from '../digest/index.js';
import { WharfError } from '../errors/index.js';
import type { Descriptor } from './types.js';

/**
 * The bytes of a JSON document WE create (config, manifest, index): compact JSON.stringify in the object's own key
 * order, like Go's encoder writes struct fields in declaration order, so build objects in the order Docker writes
 * them. There is no canonical form to recover later: digests are always over the stored raw bytes, never over a
 * re-serialization of a parsed document.
 */
export function canonicalJson(value: unknown): Buffer {
  const s = JSON.stringify(value);
  if (s === undefined) throw new WharfError('INTERNAL', `canonicalJson: ${typeof value} is not JSON-serializable`);
  return Buffer.from(s, 'utf8');
}

/** The descriptor of bytes we hold, e.g. a config or manifest we just serialized with canonicalJson. */
export function descriptorFor(
  mediaType: string,
  bytes: Uint8Array,
  extra?: Omit<Partial<Descriptor>, 'mediaType' | 'digest' | 'size'>,
): Descriptor {
  return { mediaType, digest: digestOf(bytes), size: bytes.length, ...extra };
}
