import type { Command } from 'commander';
import { Writable } from 'node:stream';
import { WharfError, codeOf } from '../../errors/index.js';
import { splitCpArg } from '../../container/index.js';
import type { CliContext } from '../context.js';
import { collect, withDaemonEngine } from '../engine.js';
import { markDaemonSide } from '../errors.js';
import { readEnvFile } from './container-shared.js';
import { ttyInputOk } from './containers.js';
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from './run-flags.js';

function verbs(parent: Command, ctx: CliContext): void {
  parent
    .command('commit')
    .description("Create a new image from a container's changes")
    .argument('<CONTAINER>')
    .argument('[REPOSITORY[:TAG]]')
    .option('-a, --author <string>', 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")')
    .option('-c, --change <list>', 'Apply Dockerfile instruction to the created image', collect, [])
    .option('-m, --message <string>', 'Commit message')
    .option('-p, --pause <bool>', 'Pause container during commit', 'true')
    .option('--no-pause', 'Do not pause the container during commit')
    .action(
      async (
        name: string,
        ref: string | undefined,
        o: { author?: string; change: string[]; message?: string; pause: string | boolean },
      ) =>
        withDaemonEngine(ctx, async (w) => {
          const img = await w.containerFiles.commit(name, {
            ...(ref ? { reference: ref } : {}),
            ...(o.author ? { author: o.author } : {}),
            ...(o.message ? { comment: o.message } : {}),
            changes: o.change,
            pause: o.pause !== false && o.pause !== 'false',
          });
          ctx.stdout.write(`${img.id}\n`);
        }),
    );

  parent
    .command('exec')
    .description('Execute a command in a running container')
    .argument('<CONTAINER>')
    .argument('<COMMAND...>')
    .option('-d, --detach', 'Detached mode: run command in the background')
    .option('-i, --interactive', 'Keep STDIN open even if not attached')
    .option('-t, --tty', 'Allocate a pseudo-TTY')
    .option('-e, --env <list>', 'Set environment variables', collect, [])
    .option('--env-file <file>', 'Read in a file of environment variables', collect, [])
    .option('-w, --workdir <string>', 'Working directory inside the container')
    .option('-u, --user <string>', 'Username or UID (format: <name|uid>[:<group|gid>])')
    .option('--privileged', 'Give extended privileges to the command')
    .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
    .passThroughOptions()
    .action(
      async (
        name: string,
        cmd: string[],
        o: {
          detach?: boolean;
          interactive?: boolean;
          tty?: boolean;
          env: string[];
          envFile: string[];
          workdir?: string;
          user?: string;
          privileged?: boolean;
          detachKeys?: string;
        },
      ) => {
        if (!o.detach && !ttyInputOk(ctx, o.interactive === true, o.tty === true)) return;
        // As for attach: the sequence (ctrl-p,ctrl-q by default) detaches an interactive session with a terminal.
        // dockerd checks it at exec create, whatever the other flags, in its own words (exit 1).
        let detachKeys: Buffer;
        try {
          detachKeys = parseDetachKeys(o.detachKeys ?? DEFAULT_DETACH_KEYS);
        } catch {
          ctx.stderr.write(`Error response from daemon: Invalid escape keys (${o.detachKeys}) provided\n`);
          ctx.setExitCode(1);
          return;
        }
        let detached = false;
        // Docker's `exec` exits 1 when the engine refuses (no such container, not running), 126/127 when the command
        // cannot run, else with the command's status.
        await withDaemonEngine(ctx, async (w) => {
          const env: string[] = [];
          for (const f of o.envFile) env.push(...(await readEnvFile(f)));
          env.push(...o.env.map((e) => (e.includes('=') ? e : `${e}=${process.env[e] ?? ''}`)));
          const tty = o.tty === true;
          const raw = tty && o.interactive === true && process.stdin.isTTY;
          if (raw) process.stdin.setRawMode(true);
          try {
            const h = await w.tasks.exec(name, {
              cmd,
              env,
              ...(o.workdir ? { workdir: o.workdir } : {}),
              ...(o.user ? { user: o.user } : {}),
              tty,
              privileged: o.privileged === true,
              detach: o.detach === true,
              ...(o.interactive ? { stdin: process.stdin } : {}),
              ...(tty && o.interactive ? { detachKeys } : {}),
              stdout: ctx.stdout,
              stderr: withoutRuncNoise(ctx.stderr),
              ...(tty && process.stdout.isTTY
                ? { consoleSize: { cols: process.stdout.columns, rows: process.stdout.rows } }
                : {}),
            });
            const onResize = (): void => h.resize(process.stdout.columns, process.stdout.rows);
            if (tty) process.stdout.on('resize', onResize);
            const code = await h.exit.finally(() => process.stdout.off('resize', onResize));
            detached = h.detached === true;
            if (code !== 0) ctx.setExitCode(code);
          } finally {
            if (raw) process.stdin.setRawMode(false);
            process.stdin.pause();
          }
        }).catch((err: unknown) => execStartFailed(ctx, err));
        // Detached, the exec'd process runs on; this CLI's wait for it (node-pty watches its runc) must not hold the
        // exit, as docker's CLI returns at the detach.
        if (detached) process.exit();
      },
    );

  parent
    .command('cp')
    .description('Copy files/folders between a container and the local filesystem')
    .argument('<SRC>')
    .argument('<DEST>')
    .option('-a, --archive', 'Archive mode (copy all uid/gid information)')
    .option('-L, --follow-link', 'Always follow symbol link in SRC_PATH')
    // Docker prints a progress line and "Successfully copied …" only on a terminal; Wharf prints neither, so -q
    // changes nothing: it is what Docker's output is with no terminal attached.
    .option(
      '-q, --quiet',
      'Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached',
    )
    .action(async (srcArg: string, destArg: string, o: { archive?: boolean; followLink?: boolean }) =>
      withDaemonEngine(ctx, async (w) => {
        const src = splitCpArg(srcArg);
        const dest = splitCpArg(destArg);
        if (src.container && dest.container)
          throw new WharfError('INVALID_ARGUMENT', 'copying between containers is not supported');
        if (!src.container && !dest.container)
          throw new WharfError('INVALID_ARGUMENT', 'must specify at least one container source');
        if (src.container) {
          await w.containerFiles.copyFrom(src.container, src.path, dest.path === '-' ? ctx.stdout : dest.path, {
            followLink: o.followLink === true,
          });
        } else {
          await w.containerFiles.copyTo(dest.container!, src.path === '-' ? process.stdin : src.path, dest.path, {
            archive: o.archive === true,
          });
        }
      }),
    );
}

/** commit, exec, cp (also `container commit|exec|cp`: command-tree.ts). */
/**
 * A command that cannot run (not found: 127, not executable: 126) fails as Docker's `exec` reports it: runc's
 * message as the daemon relays it (its line ends in CRLF), without Wharf's "Error: exec in <id>:" frame, and on stdout: dockerd writes it
 * into the exec's output stream.
 */
function execStartFailed(ctx: CliContext, err: unknown): void {
  const code = codeOf(err);
  if (code !== 'COMMAND_NOT_FOUND' && code !== 'COMMAND_NOT_EXECUTABLE') throw markDaemonSide(err); // the exec's own
  const msg = (err as Error).message.split('\n')[0]!.replace(/^exec in \S+: /, '');
  ctx.stdout.write(`OCI runtime exec failed: ${msg}: unknown\r\n`);
  ctx.setExitCode(code === 'COMMAND_NOT_FOUND' ? 127 : 126);
}

export function register(program: Command, ctx: CliContext): void {
  // `container commit|exec|cp` are these verbs too (command-tree.ts).
  verbs(program, ctx);
}

/** runc prints its own start failure on the process's stderr; the CLI reports it once, as an error line. */
function withoutRuncNoise(to: Writable): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      const text = chunk.toString('utf8');
      if (/^(runc )?exec failed: unable to start container process/.test(text)) {
        const kept = text
          .split(/(?<=\n)/)
          .filter((l) => !/^(runc )?exec failed: /.test(l))
          .join('');
        if (kept) to.write(kept);
      } else to.write(chunk);
      cb();
    },
  });
}
