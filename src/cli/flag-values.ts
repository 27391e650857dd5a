/**
 * A flag's value checked while the flags are parsed, as pflag's typed flags are: a bad value is a usage error
 * (`invalid argument "x" for "-m, --memory" flag: invalid size: 'x'`, exit 125, before anything runs), not an
 * engine error after the image was looked up. The value stays the string typed; the verb parses it again.
 */
import { InvalidArgumentError } from 'commander';

/** commander's argParser that rejects what `parse` rejects, with its message. */
export function checkedBy(parse: (value: string) => unknown): (value: string) => string {
  return (value) => {
    try {
      parse(value);
    } catch (err) {
      throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
    }
    return value;
  };
}

/** docker's `--cpus` (opts.NanoCPUs): a rational number, as Go's big.Rat reads it. */
export function parseRational(value: string): number {
  const n = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(value) ? Number(value) : Number.NaN;
  if (Number.isNaN(n)) throw new Error(`failed to parse ${value} as a rational number`);
  return n;
}

/** A repeatable flag (`-t a -t b`) whose every value is checked as `checkedBy` checks one. */
export function collectCheckedBy(parse: (value: string) => unknown): (value: string, previous: string[]) => string[] {
  const check = checkedBy(parse);
  return (value, previous) => [...previous, check(value)];
}

/**
 * docker's `--filter` (opts.FilterOpt): repeatable, each value `name=value`, checked while the flags are parsed
 * (`invalid argument "x" for "--filter" flag: bad format of filter (expected name=value)`, exit 125), before a prune
 * asks for its confirmation.
 */
export const filterFlag = collectCheckedBy((value) => {
  if (value !== '' && !value.includes('=')) throw new Error('bad format of filter (expected name=value)');
});
