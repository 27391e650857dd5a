import type { Command } from 'commander';
import { promises as fsp } from 'node:fs';
import { codeOf, WharfError } from '../../errors/index.js';
import { parseDockerTime } from '../../util/index.js';
import type { Wharf } from '../../engine/index.js';
import type { AttachExit, AttachSession } from '../../runtime/index.js';
import type { CliContext } from '../context.js';
import { diskFullError, engineErrorLine } from '../engine.js';
import { errorText, exitCodeFor, markDaemonSide } from '../errors.js';

/** The `container` management command, created once and shared by every file that adds container verbs. */
export function containerGroup(program: Command): Command {
  const found = program.commands.find((c) => c.name() === 'container');
  if (found) return found;
  return program.command('container').description('Manage containers');
}

/** Docker's `--env-file`: KEY=VALUE lines; `#` comments and blank lines skipped; a bare KEY takes the host's value. */
export async function readEnvFile(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    throw new WharfError(
      'INVALID_ARGUMENT',
      `open ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`,
    );
  }
  const lines = text.split('\n').map((raw) => raw.replace(/^\s+/, '').replace(/\r$/, ''));
  return expandEnvEntries(lines.filter((line) => line !== '' && !line.startsWith('#')));
}

/**
 * `-e KEY=VALUE` as given; a bare `-e KEY` takes the value of this process's KEY, and is left out when KEY is unset
 * (as Docker does). The library takes KEY=VALUE only: the environment it would read is the CLI's.
 */
export function expandEnvEntries(entries: readonly string[], env: NodeJS.ProcessEnv = process.env): string[] {
  const out: string[] = [];
  for (const e of entries) {
    if (e.includes('=')) out.push(e);
    else if (env[e] !== undefined) out.push(`${e}=${env[e]}`);
  }
  return out;
}

/** `--since`/`--until`: Docker's timestamps (RFC 3339, Unix seconds, or a duration before now: `10m`, `1h30m`). */
export function parseTimeArg(s: string, now = Date.now()): Date {
  return new Date(Number(parseDockerTime(s, BigInt(now) * 1_000_000n) / 1_000_000n));
}

/**
 * Run an attached session as Docker's CLI does: a raw terminal for `-t` on a TTY with resizes passed on, and the
 * container's exit code as the result (undefined when detached). Signals are proxied by `proxySignals`.
 */
export async function driveSession(
  session: AttachSession,
  opts: { tty: boolean; stdinRaw: boolean; usesStdin?: boolean },
): Promise<AttachExit> {
  // process.stdin is made on first access (for a file, a ReadStream and eight more internal modules: ~2 ms of a
  // `run`): only a session that reads it touches it.
  const stdin = opts.usesStdin === false ? undefined : process.stdin;
  const restore: Array<() => void> = [];
  if (stdin && opts.stdinRaw && stdin.isTTY) {
    stdin.setRawMode(true);
    restore.push(() => stdin.setRawMode(false));
  }
  if (opts.tty && process.stdout.isTTY) {
    const onResize = (): void => session.resize(process.stdout.columns, process.stdout.rows);
    process.stdout.on('resize', onResize);
    restore.push(() => process.stdout.off('resize', onResize));
  }
  try {
    return await session.exit;
  } finally {
    for (const r of restore) r();
    if (stdin) {
      stdin.pause();
      if (typeof (stdin as { unref?: () => void }).unref === 'function')
        (stdin as unknown as { unref: () => void }).unref();
    }
  }
}

/**
 * Proxy the CLI's signals to the container (without a tty, as Docker's CLI does). Installed before the container
 * starts: its output can reach the user before `start` returns, and a signal sent in that window must not kill the
 * CLI. Signals that arrive before `started()` are delivered then.
 */
export function proxySignals(w: Wharf, id: string, enabled: boolean): { started(): void; restore(): void } {
  const handlers: Array<[NodeJS.Signals, () => void]> = [];
  const pending: NodeJS.Signals[] = [];
  let running = false;
  const send = (sig: NodeJS.Signals): void => {
    void w.tasks.kill(id, sig).catch(() => {});
  };
  if (enabled) {
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const) {
      const h = (): void => (running ? send(sig) : void pending.push(sig));
      process.on(sig, h);
      handlers.push([sig, h]);
    }
  }
  return {
    started() {
      running = true;
      for (const sig of pending.splice(0)) send(sig);
    },
    restore() {
      for (const [sig, h] of handlers) process.off(sig, h);
    },
  };
}

/** Run `fn` for each named container, printing errors as Docker does and exiting 1 when any failed. */
export async function forEachContainer(
  ctx: CliContext,
  names: string[],
  fn: (name: string) => Promise<void>,
  opts: { missingIsFine?: boolean } = {},
): Promise<void> {
  for (const n of names) {
    try {
      await fn(n);
    } catch (err) {
      ctx.stderr.write(`${engineErrorLine(ctx, err)}\n`);
      // `missingIsFine` (`rm -f`): the docker CLI says a container is missing and goes on, exit 0 (`rm -f x` in a
      // script's clean-up must not fail when x is already gone).
      if (!(opts.missingIsFine && codeOf(err) === 'NOT_FOUND')) ctx.setExitCode(1);
    }
  }
}

/**
 * `docker run`'s errors (docker CLI 28, container/run.go's toStatusError and withHelp): every failure prints as
 * "docker: ERROR\n\nRun 'docker run --help' for more information" (a daemon's ERROR with its "Error response from
 * daemon: "), and exits 125, or 126/127 when the container's command cannot be run. main.ts picks the verb by the
 * first non-flag argument, which is the value of `--root` when one is given, so `run` maps its errors itself.
 */
export async function runErrors(ctx: CliContext, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    const shown = diskFullError(err, ctx.globals().root) ?? err;
    ctx.stderr.write(
      `wharf: ${errorText(shown, ctx.globals().logLevel === 'debug')}\n\nRun 'wharf run --help' for more information\n`,
    );
    ctx.setExitCode(exitCodeFor(err, 125));
  }
}

/**
 * `docker create`'s exit codes (docker CLI 28, container/create.go): what the CLI checks itself (a flag's value, the
 * `--pull` policy, an `--env-file` to read) fails with 125 and the usage hint; what the daemon refuses (no such image,
 * a name in use, a bad mount, a failed pull) with 1 and "Error response from daemon:"; a reference that does not
 * parse with 1 and the bare message (the CLI parses it while creating).
 */
export async function createExitCodes<T>(
  ctx: CliContext,
  verb: string,
  checkFlags: () => Promise<T>,
  create: (checked: T) => Promise<void>,
): Promise<void> {
  let checked: T;
  try {
    checked = await checkFlags();
  } catch (err) {
    if (!(err instanceof WharfError)) throw err;
    ctx.stderr.write(`wharf: ${err.message}\n\nRun 'wharf ${verb} --help' for more information\n`);
    ctx.setExitCode(125);
    return;
  }
  try {
    await create(checked);
  } catch (err) {
    if (!(err instanceof WharfError)) throw err;
    ctx.stderr.write(`${errorText(markDaemonSide(err), false)}\n`);
    ctx.setExitCode(1);
  }
}
