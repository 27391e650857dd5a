import { WharfError } from '../errors/index.js';

/** Docker's `--filter name=value` syntax, shared by every list and prune verb. */

/** `name=value` → the name (lower case) and the value; without a name or `=`, Docker's error. */
export function splitFilter(spec: string): { name: string; value: string } {
  const eq = spec.indexOf('=');
  if (eq <= 0) throw new WharfError('INVALID_ARGUMENT', `bad format of filter (expected name=value): ${spec}`);
  return { name: spec.slice(0, eq).toLowerCase(), value: spec.slice(eq + 1) };
}

/** A `label=` filter's value: `key` wants the label present, `key=value` wants it equal. */
export function labelsMatch(labels: Readonly<Record<string, string>>, filter: string): boolean {
  const eq = filter.indexOf('=');
  if (eq < 0) return Object.hasOwn(labels, filter);
  return labels[filter.slice(0, eq)] === filter.slice(eq + 1);
}
