import { digestOf } from '../digest/index.js';
import { WharfError } from '../errors/index.js';
import {
  bad,
  describe,
  expectObject,
  expectString,
  expectStringMap,
  isValidMediaType,
  validateDescriptor,
  type Json,
} from './check.js';
import { baseMediaType, isIndexMediaType, isManifestMediaType, isSchema1MediaType, MediaType } from './mediatypes.js';
import type { Descriptor, ImageIndex, ImageManifest, ParsedManifest } from './types.js';

/** The cap the distribution spec suggests registries enforce; we apply it on both sides so a hostile peer can't OOM us. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

// Content types that say nothing about which manifest kind the body is.
const GENERIC_CONTENT_TYPES = new Set(['', 'application/json', 'application/octet-stream', 'text/plain']);

/**
 * Parses and validates an image manifest or index (OCI or Docker schema2). The kind comes from the body's
 * `mediaType`, then from `contentType`, then from the shape (`manifests` vs `config`/`layers`); a body that says one
 * kind while the content type says another is rejected. Docker schema1 is UNSUPPORTED. The digest is over `raw`,
 * exactly as received: never re-serialize a manifest you did not create.
 */
export function parseManifest(raw: Buffer, contentType?: string): ParsedManifest {
  if (raw.length > MAX_MANIFEST_BYTES) {
    throw new WharfError(
      'TOO_LARGE',
      `manifest is ${raw.length} bytes, more than the ${MAX_MANIFEST_BYTES}-byte limit`,
    );
  }
  const ct = baseMediaType(contentType ?? '');
  if (isSchema1MediaType(ct)) throw schema1();

  let doc: unknown;
  try {
    doc = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw bad('manifest', '', `is not JSON (${(err as Error).message})`);
  }
  const o = expectObject(doc, 'manifest', '');
  if (o.schemaVersion === 1) throw schema1();
  if (o.schemaVersion !== 2) throw bad('manifest', 'schemaVersion', `must be 2, not ${describe(o.schemaVersion)}`);

  const mediaType = resolveMediaType(o, ct);
  const digest = digestOf(raw);
  if (isIndexMediaType(mediaType)) return { kind: 'index', mediaType, index: validateIndex(o), raw, digest };
  return { kind: 'manifest', mediaType, manifest: validateImageManifest(o), raw, digest };
}

function schema1(): WharfError {
  return new WharfError(
    'UNSUPPORTED',
    'Docker image manifest schema 1 is not supported (deprecated since 2017; push the image again with a current client)',
  );
}

function resolveMediaType(o: Json, ct: string): string {
  if (o.mediaType !== undefined) {
    const field = expectString(o.mediaType, 'manifest', 'mediaType');
    if (isSchema1MediaType(field)) throw schema1();
    if (!isIndexMediaType(field) && !isManifestMediaType(field)) {
      throw new WharfError('UNSUPPORTED', `unsupported manifest media type ${JSON.stringify(field).slice(0, 200)}`);
    }
    if ((isIndexMediaType(ct) || isManifestMediaType(ct)) && ct !== field) {
      throw bad(
        'manifest',
        'mediaType',
        `${JSON.stringify(field)} does not match the content type ${JSON.stringify(ct)}`,
      );
    }
    return field;
  }
  if (isIndexMediaType(ct) || isManifestMediaType(ct)) return ct;
  if (!GENERIC_CONTENT_TYPES.has(ct) && !isValidMediaType(ct)) {
    throw bad('manifest', '', `has an invalid content type ${JSON.stringify(ct).slice(0, 200)}`);
  }
  // OCI made `mediaType` optional (Docker schema2 always sets it), so a body without one is OCI; tell by its shape.
  const hasManifests = o.manifests !== undefined;
  const hasImageFields = o.config !== undefined || o.layers !== undefined;
  if (hasManifests && hasImageFields)
    throw bad('manifest', '', 'has both "manifests" and "config"/"layers"; cannot tell an index from a manifest');
  if (hasManifests) return MediaType.OCIIndex;
  if (hasImageFields) return MediaType.OCIManifest;
  throw bad('manifest', '', 'has no mediaType and neither "manifests" nor "config"/"layers"');
}

function validateCommon(o: Json, what: string): void {
  if (o.artifactType !== undefined) {
    const at = expectString(o.artifactType, what, 'artifactType');
    if (!isValidMediaType(at)) throw bad(what, 'artifactType', `is not a valid media type: ${JSON.stringify(at)}`);
  }
  if (o.subject !== undefined) validateDescriptor(o.subject, what, 'subject');
  if (o.annotations !== undefined) expectStringMap(o.annotations, what, 'annotations');
}

function validateImageManifest(o: Json): ImageManifest {
  const what = 'manifest';
  if (o.config === undefined) throw bad(what, 'config', 'is missing');
  validateDescriptor(o.config, what, 'config');
  if (o.layers === undefined) throw bad(what, 'layers', 'is missing');
  if (!Array.isArray(o.layers)) throw bad(what, 'layers', `must be an array, not ${describe(o.layers)}`);
  o.layers.forEach((l, i) => {
    validateDescriptor(l, what, `layers[${i}]`);
  });
  if (o.manifests !== undefined) throw bad(what, 'manifests', 'is not allowed in an image manifest');
  validateCommon(o, what);
  return o as unknown as ImageManifest;
}

function validateIndex(o: Json): ImageIndex {
  const what = 'image index';
  if (o.manifests === undefined) throw bad(what, 'manifests', 'is missing');
  if (!Array.isArray(o.manifests)) throw bad(what, 'manifests', `must be an array, not ${describe(o.manifests)}`);
  o.manifests.forEach((m, i) => {
    validateDescriptor(m, what, `manifests[${i}]`);
  });
  if (o.config !== undefined || o.layers !== undefined) throw bad(what, '', 'must not have "config" or "layers"');
  validateCommon(o, what);
  return o as unknown as ImageIndex;
}

/** What a manifest or index points at: config and layers, or the child manifests; plus the subject if any. */
export function referencedDescriptors(p: ParsedManifest): Descriptor[] {
  const out = p.kind === 'manifest' ? [p.manifest.config, ...p.manifest.layers] : [...p.index.manifests];
  const subject = p.kind === 'manifest' ? p.manifest.subject : p.index.subject;
  if (subject) out.push(subject);
  return out;
}
