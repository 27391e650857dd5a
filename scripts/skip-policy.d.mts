// Types of scripts/skip-policy.mjs, for the unit tests (test/unit/runner-skip-policy.test.ts).
export interface Skip {
  /** Relative to the repository, with '/'. */
  file: string;
  test: string;
  /** The reason given to node:test, or true for a bare skip. */
  skip: string | true;
}
export interface AllowEntry {
  file?: string;
  test?: string;
  skip?: string;
  why: string;
  fileRe?: RegExp;
}
export function strictSkips(env: NodeJS.ProcessEnv): boolean;
export function globToRegExp(glob: string): RegExp;
export function parseAllowList(json: unknown): AllowEntry[];
export function loadAllowList(file: string): AllowEntry[];
export function allows(entry: AllowEntry, s: Skip): boolean;
export function judgeSkips(skips: Skip[], allowList: AllowEntry[]): { allowed: Skip[]; denied: Skip[] };
export function readSkips(text: string, root: string): Skip[];
export function describeSkip(s: Skip): string;
