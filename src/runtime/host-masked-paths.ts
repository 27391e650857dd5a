import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';

let cached: string[] | undefined;

/**
 * Masked paths that depend on the host: each CPU's thermal_throttle directory, which moby masks since Docker 28
 * (with /proc/interrupts: thermal interrupt counts are a side channel, GHSA-6fw5-f8r9-fgfm). Read once per process.
 */
export function hostMaskedPaths(sysCpu = '/sys/devices/system/cpu'): string[] {
  if (cached && sysCpu === '/sys/devices/system/cpu') return [...cached];
  let names: string[] = [];
  try {
    names = readdirSync(sysCpu);
  } catch {
    /* no sysfs: nothing to mask */
  }
  const out = names
    .filter((n) => /^cpu\d+$/.test(n))
    .map((n) => path.posix.join(sysCpu, n, 'thermal_throttle'))
    .filter((p) => existsSync(p))
    .sort();
  if (sysCpu === '/sys/devices/system/cpu') cached = out;
  return [...out];
}
