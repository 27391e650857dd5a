import { WharfError } from '../errors/index.js';
import {
  bad,
  describe,
  expectDigest,
  expectObject,
  expectString,
  expectStringArray,
  expectStringMap,
  isObject,
  type Json,
} from './check.js';
import type { ImageConfig } from './types.js';

/** Image configs hold the whole build history; generous, but bounded so a hostile peer can't OOM us. */
export const MAX_CONFIG_BYTES = 8 * 1024 * 1024;

const WHAT = 'image config';

/**
 * Parses and validates an image config (OCI or Docker). Unknown fields are kept. Go's `omitempty`/nil habits are
 * smoothed over in the returned object only (raw bytes and their digest are untouched): a missing or null
 * `rootfs.diff_ids` (an image with no layers) becomes [], and null `config`, `history`, `Env`, `Labels`, … are dropped.
 */
export function parseImageConfig(raw: Buffer): ImageConfig {
  if (raw.length > MAX_CONFIG_BYTES) {
    throw new WharfError(
      'TOO_LARGE',
      `image config is ${raw.length} bytes, more than the ${MAX_CONFIG_BYTES}-byte limit`,
    );
  }
  let doc: unknown;
  try {
    doc = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw bad(WHAT, '', `is not JSON (${(err as Error).message})`);
  }
  const c = expectObject(doc, WHAT, '');
  expectString(c.architecture, WHAT, 'architecture');
  expectString(c.os, WHAT, 'os');
  for (const k of ['created', 'author', 'variant', 'os.version'] as const) {
    if (c[k] === null) delete c[k];
    else if (c[k] !== undefined) expectString(c[k], WHAT, k);
  }

  const rootfs = expectObject(c.rootfs, WHAT, 'rootfs');
  if (rootfs.type !== 'layers') throw bad(WHAT, 'rootfs.type', `must be "layers", not ${describe(rootfs.type)}`);
  if (rootfs.diff_ids === undefined || rootfs.diff_ids === null) rootfs.diff_ids = [];
  if (!Array.isArray(rootfs.diff_ids))
    throw bad(WHAT, 'rootfs.diff_ids', `must be an array, not ${describe(rootfs.diff_ids)}`);
  rootfs.diff_ids.forEach((d, i) => {
    expectDigest(d, WHAT, `rootfs.diff_ids[${i}]`);
  });

  if (c.config === null) delete c.config;
  else if (c.config !== undefined) validateContainerConfig(expectObject(c.config, WHAT, 'config'), 'config');

  if (c.history === null) delete c.history;
  else if (c.history !== undefined) {
    if (!Array.isArray(c.history)) throw bad(WHAT, 'history', `must be an array, not ${describe(c.history)}`);
    c.history.forEach((h, i) => {
      validateHistory(h, `history[${i}]`);
    });
  }
  return c as ImageConfig;
}

function validateHistory(v: unknown, where: string): void {
  const h = expectObject(v, WHAT, where);
  for (const k of ['created', 'created_by', 'author', 'comment']) {
    if (h[k] === null) delete h[k];
    else if (h[k] !== undefined) expectString(h[k], WHAT, `${where}.${k}`);
  }
  if (h.empty_layer !== undefined && typeof h.empty_layer !== 'boolean') {
    throw bad(WHAT, `${where}.empty_layer`, `must be a boolean, not ${describe(h.empty_layer)}`);
  }
}

const STRING_FIELDS = ['User', 'WorkingDir', 'StopSignal', 'Hostname', 'Domainname', 'Image'];
const BOOL_FIELDS = ['ArgsEscaped', 'AttachStdin', 'AttachStdout', 'AttachStderr', 'Tty', 'OpenStdin', 'StdinOnce'];
// Go marshals nil slices as null; Entrypoint, Cmd and OnBuild keep null because it means "reset" to Docker.
const NULLABLE_ARRAYS = ['Entrypoint', 'Cmd', 'OnBuild'];
const DROPPED_IF_NULL_ARRAYS = ['Env', 'Shell'];
const SET_FIELDS = ['ExposedPorts', 'Volumes'];

/** Also used for Docker's legacy `container_config` by callers that read it. */
function validateContainerConfig(cc: Json, where: string): void {
  for (const k of STRING_FIELDS) {
    if (cc[k] === null) delete cc[k];
    else if (cc[k] !== undefined) expectString(cc[k], WHAT, `${where}.${k}`);
  }
  for (const k of BOOL_FIELDS) {
    if (cc[k] !== undefined && cc[k] !== null && typeof cc[k] !== 'boolean') {
      throw bad(WHAT, `${where}.${k}`, `must be a boolean, not ${describe(cc[k])}`);
    }
    if (cc[k] === null) delete cc[k];
  }
  for (const k of NULLABLE_ARRAYS) {
    if (cc[k] !== undefined && cc[k] !== null) expectStringArray(cc[k], WHAT, `${where}.${k}`);
  }
  for (const k of DROPPED_IF_NULL_ARRAYS) {
    if (cc[k] === null) delete cc[k];
    else if (cc[k] !== undefined) expectStringArray(cc[k], WHAT, `${where}.${k}`);
  }
  for (const k of SET_FIELDS) {
    if (cc[k] === null) delete cc[k];
    else if (cc[k] !== undefined) {
      const set = expectObject(cc[k], WHAT, `${where}.${k}`);
      for (const [key, val] of Object.entries(set)) {
        if (!isObject(val))
          throw bad(WHAT, `${where}.${k}[${JSON.stringify(key)}]`, `must be {}, not ${describe(val)}`);
      }
    }
  }
  if (cc.Labels === null) delete cc.Labels;
  else if (cc.Labels !== undefined) expectStringMap(cc.Labels, WHAT, `${where}.Labels`);
  if (cc.Healthcheck === null) delete cc.Healthcheck;
  else if (cc.Healthcheck !== undefined) {
    const hc = expectObject(cc.Healthcheck, WHAT, `${where}.Healthcheck`);
    if (hc.Test !== undefined && hc.Test !== null) expectStringArray(hc.Test, WHAT, `${where}.Healthcheck.Test`);
    for (const k of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries']) {
      if (hc[k] !== undefined && (typeof hc[k] !== 'number' || !Number.isFinite(hc[k]))) {
        throw bad(WHAT, `${where}.Healthcheck.${k}`, `must be a number, not ${describe(hc[k])}`);
      }
    }
  }
}
