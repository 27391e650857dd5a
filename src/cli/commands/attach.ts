import type { Command } from 'commander';
import { WharfError } from '../../errors/index.js';
import type { CliContext } from '../context.js';
import { withDaemonEngine } from '../engine.js';
import { containerGroup, driveSession, proxySignals } from './container-shared.js';
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from './run-flags.js';

interface AttachFlags {
  detachKeys?: string;
  noStdin?: boolean;
  stdin?: boolean;
  sigProxy?: boolean;
}

/**
 * `attach` (and `container attach`): the CLI's stdio on a running container through its monitor's attach socket, as
 * `run` drives it (driveSession); the container's exit code is the CLI's, nothing when the user detached
 * (`--detach-keys`, ctrl-p ctrl-q by default, with a terminal).
 */
function attachVerb(parent: Command, ctx: CliContext): void {
  parent
    .command('attach')
    .description('Attach local standard input, output, and error streams to a running container')
    .argument('<CONTAINER>')
    .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
    .option('--no-stdin', 'Do not attach STDIN')
    .option('--sig-proxy', 'Proxy all received signals to the process', true)
    .action(async (name: string, o: AttachFlags) =>
      withDaemonEngine(ctx, async (w) => {
        const rec = await w.containers.get(name);
        const tty = rec.config.Tty === true;
        // commander's `--no-stdin` sets `stdin` false.
        const useStdin = rec.config.OpenStdin === true && o.stdin !== false && o.noStdin !== true;
        // The docker CLI's check, after the daemon's (not running, paused: TaskService.attach says so).
        if (rec.running && tty && useStdin && !process.stdin.isTTY)
          throw new WharfError('INVALID_ARGUMENT', 'the input device is not a TTY');
        const detachKeys = parseDetachKeys(o.detachKeys ?? DEFAULT_DETACH_KEYS);
        const signals = proxySignals(w, rec.id, !tty && o.sigProxy !== false);
        try {
          const { session } = await w.tasks.attach(rec.id, {
            ...(useStdin ? { stdin: process.stdin } : {}),
            stdout: ctx.stdout,
            stderr: ctx.stderr,
            ...(tty && useStdin ? { detachKeys } : {}),
          });
          signals.started();
          if (tty && process.stdout.isTTY) session.resize(process.stdout.columns, process.stdout.rows);
          const ex = await driveSession(session, { tty, stdinRaw: tty && useStdin, usesStdin: useStdin });
          if (ex.detached) return;
          const code = ex.exitCode ?? (await w.tasks.wait(rec.id).catch(() => 0));
          if (code !== 0) ctx.setExitCode(code);
        } finally {
          signals.restore();
        }
      }),
    );
}

/** `attach`, `container attach`. */
export function register(program: Command, ctx: CliContext): void {
  attachVerb(program, ctx);
  attachVerb(containerGroup(program), ctx);
}
