import { invalidFilter } from '../errors/index.js';
import { splitFilter } from './filters.js';
import { parseDockerTime } from './time.js';

export interface PruneFilter {
  /** Only what was created before this (ms since the epoch). */
  until?: number;
  /** `label=k`, `label=k=v` (must have) and `label!=…` (must not have). */
  labels: Array<{ key: string; value?: string; negate: boolean }>;
}

/** Docker's prune filters (`system prune --filter`, POST /…/prune?filters=): `until` and `label`/`label!`. */
export function parsePruneFilter(specs: readonly string[], nowMs = Date.now()): PruneFilter {
  const out: PruneFilter = { labels: [] };
  for (const spec of specs) {
    const { name, value } = splitFilter(spec);
    if (name === 'until') out.until = Number(parseDockerTime(value, BigInt(nowMs) * 1_000_000n) / 1_000_000n);
    else if (name === 'label' || name === 'label!') {
      const eq = value.indexOf('=');
      out.labels.push({
        key: eq < 0 ? value : value.slice(0, eq),
        ...(eq < 0 ? {} : { value: value.slice(eq + 1) }),
        negate: name === 'label!',
      });
    } else throw invalidFilter(`'${name}'`);
  }
  return out;
}

/** Whether something created at `created` with `labels` passes the filter. */
export function prunable(
  f: PruneFilter,
  created: string | null | undefined,
  labels: Readonly<Record<string, string>>,
): boolean {
  if (f.until !== undefined && created && Date.parse(created) >= f.until) return false;
  for (const l of f.labels) {
    const has = Object.hasOwn(labels, l.key) && (l.value === undefined || labels[l.key] === l.value);
    if (has === l.negate) return false;
  }
  return true;
}
