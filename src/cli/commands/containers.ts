import type { Command } from 'commander';
import { Writable } from 'node:stream';
import { WharfError, codeOf } from '../../errors/index.js';
import { shortId } from '../../digest/index.js';
import type { Wharf } from '../../engine/index.js';
import type { StartOptions } from '../../container/index.js';
import type { AttachExit, AttachSession } from '../../runtime/index.js';
import type { CliContext } from '../context.js';
import { formatError, markDaemonSide } from '../errors.js';
import { confirm, diskFullError, engineErrorLine, withDaemonEngine, withEngine } from '../engine.js';
import { humanSize, parsePruneFilter, prunable } from '../../util/index.js';
import { filterFlag } from '../flag-values.js';
import {
  containerGroup,
  driveSession,
  createExitCodes,
  runErrors,
  forEachContainer,
  proxySignals,
} from './container-shared.js';
import { ensureImage, pullPolicyOf } from './pull-missing.js';
import { parseDetachKeys } from './run-flags.js';
import { type StopTimeoutFlags, stopTimeoutOf, stopTimeoutOptions } from './stop-flags.js';

import {
  checkCidfile,
  createFlags,
  printWarnings,
  runOnlyFlags,
  toCreateOptions,
  writeCidfile,
  type CreateFlags,
} from './create-flags.js';

/**
 * `run` without -d and `start -a`: attach the CLI's streams, proxy signals from before the start, drive the session,
 * and exit with the container's status (nothing when the user detached).
 */
async function startAttached(
  ctx: CliContext,
  w: Wharf,
  id: string,
  o: {
    tty: boolean;
    interactive: boolean;
    start: (so: StartOptions) => Promise<{ session?: AttachSession }>;
    /** Which of stdout/stderr to attach (`-a`; default both). */
    streams?: { stdout: boolean; stderr: boolean };
    /** `--sig-proxy` (default true; only without a tty, as the docker CLI does). */
    sigProxy?: boolean;
    detachKeys?: Buffer;
    /** The container is `--rm`: its removal is part of what the command waits for (its failure: exit 125). */
    autoRemove?: boolean;
  },
): Promise<void> {
  const size = o.tty ? consoleSize() : undefined;
  const signals = proxySignals(w, id, !o.tty && o.sigProxy !== false);
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  let ex: AttachExit;
  try {
    const { session } = await o.start({
      attach: {
        ...(o.interactive ? { stdin: process.stdin } : {}),
        stdout: o.streams?.stdout === false ? sink : ctx.stdout,
        stderr: o.streams?.stderr === false ? sink : ctx.stderr,
        ...(o.tty && o.interactive ? { detachKeys: o.detachKeys ?? Buffer.from([0x10, 0x11]) } : {}),
      },
      ...(size ? { consoleSize: size } : {}),
    });
    if (!session) return;
    signals.started();
    ex = await driveSession(session, { tty: o.tty, stdinRaw: o.tty && o.interactive, usesStdin: o.interactive });
  } finally {
    signals.restore();
  }
  if (ex.detached) return;
  if (ex.cleanupError) {
    const cause = diskFullError(ex.cleanupError, ctx.globals().root) ?? ex.cleanupError;
    if (o.autoRemove) {
      // The docker CLI waits for an --rm container's removal; when that fails, the wait's error is its one line
      // ("Error waiting for container: …") and it exits 125, not with the container's status.
      ctx.stderr.write(`Error waiting for container: removing container ${shortId(id)}: ${cause.message}\n`);
      ctx.setExitCode(125);
      return;
    }
    ctx.stderr.write(`Error: cleaning up container ${shortId(id)}: ${cause.message}\n`);
  }
  const code = ex.exitCode ?? (await w.tasks.wait(id).catch(() => 0));
  if (code !== 0) ctx.setExitCode(code);
}

/**
 * `run`'s start: when the engine cannot start the container (a taken port, a missing volume), the container it just
 * created is removed again, so a failed `run` leaves nothing. A command that cannot run keeps Docker's Created record.
 */
async function startOrDiscard(
  w: Wharf,
  id: string,
  opts: StartOptions = {},
): Promise<Awaited<ReturnType<Wharf['tasks']['start']>>> {
  try {
    return await w.tasks.start(id, opts);
  } catch (err) {
    const code = codeOf(err);
    if (code !== 'COMMAND_NOT_FOUND' && code !== 'COMMAND_NOT_EXECUTABLE') {
      await w.containers.remove(id, { force: true, volumes: true }).catch(() => {});
    }
    throw err;
  }
}

/**
 * The docker CLI's CheckTty: `-i` with `-t` needs a terminal on stdin; without one it fails before anything is
 * created, with its message and exit 1.
 */
export function ttyInputOk(ctx: CliContext, interactive: boolean, tty: boolean): boolean {
  if (!interactive || !tty || process.stdin.isTTY) return true;
  ctx.stderr.write('the input device is not a TTY\n');
  ctx.setExitCode(1);
  return false;
}

const consoleSize = (): { cols: number; rows: number } | undefined =>
  process.stdout.isTTY ? { cols: process.stdout.columns, rows: process.stdout.rows } : undefined;

function verbs(parent: Command, ctx: CliContext): void {
  const run = createFlags(
    parent
      .command('run')
      .description('Create and run a new container from an image')
      .argument('<IMAGE>')
      .argument('[COMMAND...]')
      .option('-d, --detach', 'Run container in background and print container ID')
      .passThroughOptions(),
  );
  runOnlyFlags(run).action(async (image: string, command: string[], o: CreateFlags) => {
    if (o.detach && o.attach.length) {
      ctx.stderr.write('docker: conflicting options: cannot specify both --attach and --detach\n');
      ctx.setExitCode(1);
      return;
    }
    if (!o.detach && !ttyInputOk(ctx, o.interactive === true, o.tty === true)) return;
    if (!checkCidfile(ctx, o.cidfile, 125)) return;
    return runErrors(ctx, () =>
      withDaemonEngine(ctx, async (w) => {
        const policy = pullPolicyOf(o.pull);
        const opts = await toCreateOptions(image, command, o);
        const detachKeys = o.detachKeys !== undefined ? parseDetachKeys(o.detachKeys) : undefined;
        await ensureImage(w, image, policy, o.quiet ? null : ctx.stderr, o.platform);
        printWarnings(ctx, opts.cliWarnings);
        const rec = await w.containers.create(opts);
        printWarnings(ctx, rec.warnings);
        await writeCidfile(o.cidfile, rec.id);
        if (o.detach) {
          await startOrDiscard(w, rec.id);
          ctx.stdout.write(`${rec.id}\n`);
          return;
        }
        await startAttached(ctx, w, rec.id, {
          tty: o.tty === true,
          interactive: o.interactive === true,
          start: (so) => startOrDiscard(w, rec.id, so),
          streams: { stdout: rec.config.AttachStdout !== false, stderr: rec.config.AttachStderr !== false },
          sigProxy: o.sigProxy !== false,
          autoRemove: rec.hostConfig.AutoRemove,
          ...(detachKeys ? { detachKeys } : {}),
        });
      }),
    );
  });

  createFlags(
    parent
      .command('create')
      .description('Create a new container')
      .argument('<IMAGE>')
      .argument('[COMMAND...]')
      .passThroughOptions(),
  ).action(async (image: string, command: string[], o: CreateFlags) => {
    if (!checkCidfile(ctx, o.cidfile, 1)) return;
    return createExitCodes(
      ctx,
      'create',
      async () => ({ policy: pullPolicyOf(o.pull), opts: await toCreateOptions(image, command, o) }),
      ({ policy, opts }) =>
        withEngine(ctx, async (w) => {
          await ensureImage(w, image, policy, o.quiet ? null : ctx.stderr, o.platform);
          printWarnings(ctx, opts.cliWarnings);
          const rec = await w.containers.create(opts);
          printWarnings(ctx, rec.warnings);
          await writeCidfile(o.cidfile, rec.id);
          ctx.stdout.write(`${rec.id}\n`);
        }),
    );
  });

  parent
    .command('start')
    .description('Start one or more stopped containers')
    .argument('<CONTAINER...>')
    .option('-a, --attach', 'Attach STDOUT/STDERR and forward signals')
    .option('-i, --interactive', "Attach container's STDIN")
    .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
    // Docker's `start` (CLI 28, startContainersWithoutAttachments) exits 1 on every failure, even a command that
    // cannot run; each failed container's error is printed, then one line naming the containers that failed.
    .action(async (names: string[], o: { attach?: boolean; interactive?: boolean; detachKeys?: string }) =>
      withDaemonEngine(ctx, async (w) => {
        if ((o.attach || o.interactive) && names.length > 1) {
          throw new WharfError('INVALID_ARGUMENT', 'you cannot start and attach multiple containers at once');
        }
        const fail = (err: unknown): void => {
          const shown = diskFullError(err, ctx.globals().root) ?? err;
          ctx.stderr.write(`${formatError(shown, ctx.globals().logLevel === 'debug')}\n`);
          ctx.setExitCode(1);
        };
        if (o.attach || o.interactive) {
          try {
            const rec = w.containers.resolve(names[0]!);
            const detachKeys = o.detachKeys !== undefined ? parseDetachKeys(o.detachKeys) : undefined;
            await startAttached(ctx, w, rec.id, {
              tty: rec.config.Tty === true,
              interactive: o.interactive === true,
              ...(detachKeys ? { detachKeys } : {}),
              autoRemove: rec.hostConfig.AutoRemove,
              start: (so) => w.tasks.start(rec.id, so),
            });
          } catch (err) {
            fail(err);
          }
          return;
        }
        const failed: string[] = [];
        for (const n of names) {
          try {
            await w.tasks.start(n);
            ctx.stdout.write(`${n}\n`);
          } catch (err) {
            fail(err);
            failed.push(n);
          }
        }
        if (failed.length > 0) ctx.stderr.write(`Error: failed to start containers: ${failed.join(', ')}\n`);
      }),
    );

  // stop and restart take the same flags (-s, -t/--timeout) and print each container they did. Neither has a default
  // timeout here: the container's --stop-timeout, else 10 s (TaskService.stop). Docker's restart is a stop (with
  // --signal, else the container's stop signal), then a start.
  for (const [verb, description] of [
    ['stop', 'Stop one or more running containers'],
    ['restart', 'Restart one or more containers'],
  ] as const) {
    stopTimeoutOptions(
      parent
        .command(verb)
        .description(description)
        .argument('<CONTAINER...>')
        .option('-s, --signal <string>', 'Signal to send to the container'),
    ).action(async (names: string[], o: StopTimeoutFlags & { signal?: string }) =>
      withDaemonEngine(ctx, async (w) => {
        const t = stopTimeoutOf(ctx, o);
        const opts = { ...(t !== undefined ? { timeoutSec: t } : {}), ...(o.signal ? { signal: o.signal } : {}) };
        await forEachContainer(ctx, names, async (n) => {
          await (verb === 'stop' ? w.tasks.stop(n, opts) : w.tasks.restart(n, opts));
          ctx.stdout.write(`${n}\n`);
        });
      }),
    );
  }

  parent
    .command('kill')
    .description('Kill one or more running containers')
    .argument('<CONTAINER...>')
    .option('-s, --signal <string>', 'Signal to send to the container', 'KILL')
    .action(async (names: string[], o: { signal: string }) =>
      withDaemonEngine(ctx, async (w) => {
        await forEachContainer(ctx, names, async (n) => {
          await w.tasks.kill(n, o.signal);
          ctx.stdout.write(`${n}\n`);
        });
      }),
    );

  const rm = parent.command('rm');
  rm.description('Remove one or more containers')
    .argument('<CONTAINER...>')
    .option('-f, --force', 'Force the removal of a running container (uses SIGKILL)')
    .option('-v, --volumes', 'Remove anonymous volumes associated with the container')
    .option('-l, --link', 'Remove the specified link')
    .action(async (names: string[], o: { force?: boolean; volumes?: boolean; link?: boolean }) =>
      withDaemonEngine(ctx, async (w) => {
        await forEachContainer(
          ctx,
          names,
          async (n) => {
            if (o.link) {
              // Legacy links (`/parent/alias` names) do not exist in Wharf: a name is a container's own, which dockerd
              // refuses to unlink, or nothing (its "No such container").
              w.containers.resolve(n);
              throw markDaemonSide(
                new WharfError('CONFLICT', 'Conflict, cannot remove the default link name of the container'),
              );
            }
            await w.containers.remove(n, { force: o.force === true, volumes: o.volumes === true });
            ctx.stdout.write(`${n}\n`);
          },
          { missingIsFine: o.force === true },
        );
      }),
    );

  parent
    .command('wait')
    .description('Block until one or more containers stop, then print their exit codes')
    .argument('<CONTAINER...>')
    .action(async (names: string[]) =>
      withDaemonEngine(ctx, async (w) => {
        await forEachContainer(ctx, names, async (n) => {
          ctx.stdout.write(`${await w.tasks.wait(n)}\n`);
        });
      }),
    );

  // Verbs that act on each named container and echo its name, as docker does.
  const perContainer: Array<[string, string, (w: Wharf, n: string) => Promise<unknown>]> = [
    ['pause', 'Pause all processes within one or more containers', (w, n) => w.tasks.pause(n)],
    ['unpause', 'Unpause all processes within one or more containers', (w, n) => w.tasks.unpause(n)],
  ];
  for (const [verb, description, act] of perContainer) {
    parent
      .command(verb)
      .description(description)
      .argument('<CONTAINER...>')
      .action(async (names: string[]) =>
        withDaemonEngine(ctx, async (w) => {
          await forEachContainer(ctx, names, async (n) => {
            await act(w, n);
            ctx.stdout.write(`${n}\n`);
          });
        }),
      );
  }

  parent
    .command('rename')
    .description('Rename a container')
    .argument('<CONTAINER>')
    .argument('<NEW_NAME>')
    .action(async (name: string, newName: string) =>
      withDaemonEngine(ctx, async (w) => {
        try {
          await w.containers.rename(name, newName);
        } catch (err) {
          // docker CLI 28 (container/rename.go): the daemon's error, then a line of its own.
          ctx.stderr.write(`${engineErrorLine(ctx, err)}\n`);
          ctx.stderr.write(`Error: failed to rename container named ${name}\n`);
          ctx.setExitCode(1);
        }
      }),
    );
}

/** run, create, start, stop, restart, kill, rm, wait, pause, unpause, rename; `container prune`; hidden `container teardown` (alias `cleanup`). */
export function register(program: Command, ctx: CliContext): void {
  // `container run|rm|…` are these verbs too (command-tree.ts); the group keeps only its own commands.
  verbs(program, ctx);
  const group = containerGroup(program);

  group
    .command('prune')
    .description('Remove all stopped containers')
    .option('--filter <filter>', 'Provide filter values (e.g. "until=<timestamp>")', filterFlag, [])
    .option('-f, --force', 'Do not prompt for confirmation')
    .action(async (o: { filter: string[]; force?: boolean }) =>
      withDaemonEngine(ctx, async (w) => {
        if (!o.force) {
          if (!(await confirm(ctx, 'WARNING! This will remove all stopped containers.'))) return;
        }
        const f = parsePruneFilter(o.filter);
        const { deleted, reclaimed } = await w.containers.prune((c) => prunable(f, c.created, c.config.Labels ?? {}));
        if (deleted.length) ctx.stdout.write(`Deleted Containers:\n${deleted.map((d) => d + '\n').join('')}\n`);
        ctx.stdout.write(`Total reclaimed space: ${humanSize(reclaimed)}\n`);
      }),
    );

  // The IPv6 side of a container's published ports (network/port-proxy.ts): started by the start, stopped by PID.
  group
    .command('port-proxy', { hidden: true })
    .argument('<ID>')
    .argument('<ROUTE...>')
    .action(async (_id: string, routes: string[]) => {
      const { parseRoute, servePortProxy } = await import('../../network/index.js');
      const { failed } = await servePortProxy(routes.map(parseRoute));
      ctx.stdout.write(`${JSON.stringify({ failed })}\n`);
    });

  // Run by a container's monitor after the process exited: record the exit, unmount, release the network, --rm.
  // Monitors run it as `container cleanup` (their stored argv), hence the alias.
  group
    .command('teardown', { hidden: true })
    .alias('cleanup')
    .argument('<ID>')
    .action(async (id: string) => withEngine(ctx, async (w) => w.tasks.teardown(id)));
}
