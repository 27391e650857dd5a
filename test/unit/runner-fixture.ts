/** Runs scripts/run-tests.mjs on throwaway test files, for the runner's own tests. */
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface RunnerResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * What a test must not pass on from the run it is part of: the runner's settings (CI sets CI=true), and node:test's
 * mark of a test process (with it, the nested `node --test` refuses to run files).
 */
const RUNNER_ENV = [
  'NODE_TEST_CONTEXT',
  'CI',
  'WHARF_TEST_STRICT_SKIPS',
  'WHARF_TEST_TIMEOUT_MS',
  'WHARF_TEST_FILE_TIMEOUT_MS',
  'WHARF_TEST_SKIP_ALLOWLIST',
];

/** `node scripts/run-tests.mjs dir` from the repository root, with `env` on top of a clean runner environment. */
export function runRunner(dir: string, env: Record<string, string>): Promise<RunnerResult> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !RUNNER_ENV.includes(k)));
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'scripts', 'run-tests.mjs'), dir], {
    cwd: REPO_ROOT,
    env: { ...base, WHARF_TEST_CONCURRENCY: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    stdout += s;
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    stderr += s;
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A temporary directory holding `files` (name → contents), removed after `fn`. */
export async function withFixture<T>(files: Record<string, string>, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-runner-'));
  try {
    for (const [name, text] of Object.entries(files)) await fsp.writeFile(path.join(dir, name), text);
    return await fn(dir);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}
