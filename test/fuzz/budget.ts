/**
 * The fuzzers' shared rules (issue 17). A parser that takes outside input may refuse it only with a WharfError (the
 * error users see as a clear message and the API as a 4xx): any other exception is a crash, a 500 or a stack trace.
 * `npm test` runs each property a bounded number of times (a few seconds for all of them); scripts/fuzz.sh runs them
 * long by setting WHARF_FUZZ_RUNS, and WHARF_FUZZ_SEED replays a failure fast-check reported.
 */
import fc from 'fast-check';
import { WharfError } from '../../src/errors/index.js';

/** fast-check's parameters for one property: `runs` in `npm test`, times the multiplier of a long run. */
export function budget(runs: number): fc.Parameters<unknown> {
  const scale = Number(process.env.WHARF_FUZZ_RUNS_SCALE ?? '1');
  const seed = process.env.WHARF_FUZZ_SEED;
  return {
    numRuns: Math.max(1, Math.round(runs * (Number.isFinite(scale) && scale > 0 ? scale : 1))),
    ...(seed ? { seed: Number(seed) } : {}),
    // A property that runs away is a hang: fail it rather than the whole file's timeout.
    interruptAfterTimeLimit: 120_000 * (Number(process.env.WHARF_FUZZ_RUNS_SCALE ?? '1') || 1),
    markInterruptAsFailure: true,
  };
}

/** Runs `fn`; returns its value, or the WharfError it threw; anything else thrown is rethrown (a defect). */
export function onlyWharfErrors<T>(fn: () => T): T | WharfError {
  try {
    return fn();
  } catch (err) {
    if (err instanceof WharfError) return err;
    throw err;
  }
}

/** The async form of onlyWharfErrors. */
export async function onlyWharfErrorsAsync<T>(fn: () => Promise<T>): Promise<T | WharfError> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof WharfError) return err;
    throw err;
  }
}

/** Text that looks like the input a parser expects now and then: mostly its own alphabet, sometimes anything. */
export const textFrom = (alphabet: string, maxLength = 200): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.string({ unit: fc.constantFrom(...alphabet), maxLength }) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength }) },
  );
