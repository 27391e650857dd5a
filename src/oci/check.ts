import { algorithmOf, digestOf, isDigest, type Digest } from '../digest/index.js';
import { WharfError } from '../errors/index.js';
import type { Descriptor, Platform } from './types.js';

/**
 * Small shape checks for untrusted JSON. Each takes `where` (a JSON path like 'layers[2].digest') and `what` (the
 * document kind), so a rejection says exactly which field of which document is wrong.
 */
export type Json = Record<string, unknown>;

export function bad(what: string, where: string, problem: string): WharfError {
  return new WharfError(
    'INVALID_ARGUMENT',
    `invalid ${what}: ${where ? `${where} ` : ''}${problem}`,
    where ? { details: { field: where } } : {},
  );
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`.slice(0, 80);
}

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function expectObject(v: unknown, what: string, where: string): Json {
  if (!isObject(v)) throw bad(what, where, `must be an object, not ${describe(v)}`);
  return v;
}

export function expectString(v: unknown, what: string, where: string): string {
  if (typeof v !== 'string') throw bad(what, where, `must be a string, not ${describe(v)}`);
  return v;
}

function optionalString(o: Json, key: string, what: string, where: string): void {
  if (o[key] !== undefined) expectString(o[key], what, join(where, key));
}

export function expectStringArray(v: unknown, what: string, where: string): string[] {
  if (!Array.isArray(v)) throw bad(what, where, `must be an array of strings, not ${describe(v)}`);
  v.forEach((x, i) => {
    expectString(x, what, `${where}[${i}]`);
  });
  return v as string[];
}

export function expectStringMap(v: unknown, what: string, where: string): Record<string, string> {
  const o = expectObject(v, what, where);
  for (const [k, x] of Object.entries(o)) expectString(x, what, `${where}[${JSON.stringify(k)}]`);
  return o as Record<string, string>;
}

function join(where: string, key: string): string {
  return where ? `${where}.${key}` : key;
}

// RFC 6838 type/subtype, as the OCI image-spec JSON schema checks it.
const MEDIA_TYPE_RE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

export function isValidMediaType(mt: string): boolean {
  return MEDIA_TYPE_RE.test(mt);
}

export function expectDigest(v: unknown, what: string, where: string): Digest {
  const s = expectString(v, what, where);
  if (!isDigest(s))
    throw bad(
      what,
      where,
      `is not a valid digest (want sha256:<64 hex> or sha512:<128 hex>): ${JSON.stringify(s).slice(0, 150)}`,
    );
  return s;
}

export function validatePlatform(v: unknown, what: string, where: string): Platform {
  const p = expectObject(v, what, where);
  expectString(p.architecture, what, join(where, 'architecture'));
  expectString(p.os, what, join(where, 'os'));
  optionalString(p, 'variant', what, where);
  optionalString(p, 'os.version', what, where);
  if (p['os.features'] !== undefined) expectStringArray(p['os.features'], what, join(where, 'os.features'));
  return p as unknown as Platform;
}

/** Checks a descriptor's required fields and the types of its optional ones; `data`, if embedded, must match. */
export function validateDescriptor(v: unknown, what: string, where: string): Descriptor {
  const d = expectObject(v, what, where);
  const mt = expectString(d.mediaType, what, join(where, 'mediaType'));
  if (!isValidMediaType(mt))
    throw bad(what, join(where, 'mediaType'), `is not a valid media type: ${JSON.stringify(mt)}`);
  const digest = expectDigest(d.digest, what, join(where, 'digest'));
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) {
    throw bad(what, join(where, 'size'), `must be a non-negative integer, not ${describe(d.size)}`);
  }
  if (d.annotations !== undefined) expectStringMap(d.annotations, what, join(where, 'annotations'));
  if (d.urls !== undefined) expectStringArray(d.urls, what, join(where, 'urls'));
  if (d.platform !== undefined) validatePlatform(d.platform, what, join(where, 'platform'));
  if (d.artifactType !== undefined) {
    const at = expectString(d.artifactType, what, join(where, 'artifactType'));
    if (!isValidMediaType(at))
      throw bad(what, join(where, 'artifactType'), `is not a valid media type: ${JSON.stringify(at)}`);
  }
  if (d.data !== undefined) {
    const data = expectString(d.data, what, join(where, 'data'));
    const bytes = Buffer.from(data, 'base64');
    // Node decodes leniently; only the canonical encoding of those bytes is base64 in the spec's sense.
    if (bytes.toString('base64') !== data) throw bad(what, join(where, 'data'), 'is not canonical base64');
    if (bytes.length !== d.size || digestOf(bytes, algorithmOf(digest)) !== digest) {
      throw bad(what, join(where, 'data'), 'does not match the descriptor size and digest');
    }
  }
  return d as unknown as Descriptor;
}
