/** Run the built CLI (`bin/wharf` → dist/) against a private root, as a user would. */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The shell wrapper users run (it execs Node, so a child's PID is the CLI's own). */
export const WHARF_BIN = path.join(REPO, 'bin', 'wharf');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(
  root: string,
  args: string[],
  opts: { input?: string | Buffer; timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(WHARF_BIN, ['--root', root, ...args], {
      env: { ...process.env, ...opts.env },
      ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code: code ?? (signal ? 128 + 9 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/** A temporary Wharf root, removed (after unmounting anything left under it) by `cleanup`. */
export async function tempRoot(prefix = 'wharf-test-'): Promise<{
  root: string;
  cli: (args: string[], opts?: Parameters<typeof runCli>[2]) => Promise<CliResult>;
  cleanup: () => Promise<void>;
}> {
  const root = await mkdtemp(path.join(tmpdir(), prefix));
  return {
    root,
    cli: (args, opts) => runCli(root, args, opts),
    cleanup: async () => {
      const { execFileSync } = await import('node:child_process');
      // Unmount anything a failed test left mounted under the root, deepest first, before removing files.
      try {
        const mounts = execFileSync('findmnt', ['-rn', '-o', 'TARGET'], { encoding: 'utf8' })
          .split('\n')
          .filter((m) => m.startsWith(root + '/'))
          .sort((a, b) => b.length - a.length);
        for (const m of mounts) execFileSync('umount', ['-l', m]);
      } catch {
        // findmnt missing or nothing mounted
      }
      // Retried: a container's detached cleanup (an `--rm` container's monitor cleanup command, finishing after the
      // test saw the container gone) can still write a file (the database's -wal, the events log) while this empties
      // the root, and rmdir then fails with ENOTEMPTY.
      await rm(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    },
  };
}

/** Expect success; on failure the assertion message carries the CLI's stderr. */
export function ok(r: CliResult, what: string): CliResult {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}): ${r.stderr || r.stdout}`);
  return r;
}

/**
 * The one error line of a failed `wharf run`, which frames it as docker run does ("wharf: ERROR", a blank line,
 * "Run 'wharf run --help' for more information"); fails the test on any other shape.
 */
export function runErrorLine(stderr: string): string {
  const m = /^wharf: ([^\n]*)\n\nRun 'wharf run --help' for more information\n$/.exec(stderr);
  if (!m) throw new Error(`not one run error line in docker run's frame: ${JSON.stringify(stderr)}`);
  return m[1]!;
}
