import type { Command } from 'commander';
import { existsSync, promises as fsp, readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { WharfError, codeOf } from '../../errors/index.js';
import { shortId } from '../../digest/index.js';
import type { Wharf } from '../../engine/index.js';
import {
  checkRestartWithAutoRemove,
  parseBytes,
  parseRestartPolicy,
  type CreateOptions,
  type StartOptions,
} from '../../container/index.js';
import { parsePublish, type NetworkMode } from '../../network/index.js';
import { parsePlatform } from '../../oci/index.js';
import type { AttachExit, AttachSession } from '../../runtime/index.js';
import type { CliContext } from '../context.js';
import { formatError } from '../errors.js';
import { collect, confirm, withEngine } from '../engine.js';
import { checkedBy, parseRational } from '../flag-values.js';
import { humanSize } from '../../util/index.js';
import {
  containerGroup,
  driveSession,
  createExitCodes,
  exit125,
  expandEnvEntries,
  forEachContainer,
  proxySignals,
  readEnvFile,
} from './container-shared.js';
import { ensureImage, pullPolicyOf } from './pull-missing.js';
import { resourceFlags, toResources, type ResourceFlags } from '../resource-flags.js';
import { healthFlags, healthFromFlags, type HealthFlagValues } from './health-flags.js';
import {
  checkMacAddress,
  labelFileLines,
  parseAttach,
  parseDetachKeys,
  parseExpose,
  parseKeyValues,
  parseLogOpts,
  parseSecurityOptFlags,
  parseSysctls,
  parseTmpfs,
} from './run-flags.js';

interface CreateFlags extends HealthFlagValues, ResourceFlags {
  detach?: boolean;
  interactive?: boolean;
  tty?: boolean;
  name?: string;
  rm?: boolean;
  env: string[];
  envFile: string[];
  workdir?: string;
  user?: string;
  entrypoint?: string;
  hostname?: string;
  label: string[];
  volume: string[];
  mount: string[];
  volumesFrom: string[];
  publish: string[];
  publishAll?: boolean;
  network?: string;
  net?: string;
  readOnly?: boolean;
  privileged?: boolean;
  capAdd: string[];
  capDrop: string[];
  memory?: string;
  cpus?: string;
  init?: boolean;
  addHost: string[];
  dns: string[];
  stopSignal?: string;
  shmSize?: string;
  pull?: string;
  quiet?: boolean;
  platform?: string;
  restart: string;
  // namespaces, security, DNS, logging and stdio (issue 12)
  ipc?: string;
  pid?: string;
  uts?: string;
  userns?: string;
  sysctl: string[];
  tmpfs: string[];
  groupAdd: string[];
  stopTimeout?: string;
  cidfile?: string;
  labelFile: string[];
  dnsSearch: string[];
  dnsOption: string[];
  macAddress?: string;
  domainname?: string;
  expose: string[];
  annotation: string[];
  attach: string[];
  securityOpt: string[];
  logDriver?: string;
  logOpt: string[];
  sigProxy?: boolean;
  detachKeys?: string;
}

function createFlags(cmd: Command): Command {
  const flags = resourceFlags(cmd)
    .option('-i, --interactive', 'Keep STDIN open even if not attached')
    .option('-t, --tty', 'Allocate a pseudo-TTY')
    .option('--name <string>', 'Assign a name to the container')
    .option('--rm', 'Automatically remove the container when it exits')
    .option('-e, --env <list>', 'Set environment variables', collect, [])
    .option('--env-file <file>', 'Read in a file of environment variables', collect, [])
    .option('-w, --workdir <string>', 'Working directory inside the container')
    .option('-u, --user <string>', 'Username or UID (format: <name|uid>[:<group|gid>])')
    .option('--entrypoint <string>', 'Overwrite the default ENTRYPOINT of the image')
    .option('-h, --hostname <string>', 'Container host name')
    .option('-l, --label <list>', 'Set meta data on a container', collect, [])
    .option('-v, --volume <list>', 'Bind mount a volume', collect, [])
    .option('--mount <mount>', 'Attach a filesystem mount to the container', collect, [])
    .option('--volumes-from <list>', 'Mount volumes from the specified container(s)', collect, [])
    .option('-p, --publish <list>', "Publish a container's port(s) to the host", collect, [])
    .option('-P, --publish-all', 'Publish all exposed ports to random ports')
    .option('--network <string>', 'Connect a container to a network (bridge, host, none)')
    .option('--net <string>', 'Alias of --network')
    .option('--read-only', "Mount the container's root filesystem as read only")
    .option('--privileged', 'Give extended privileges to this container')
    .option('--cap-add <list>', 'Add Linux capabilities', collect, [])
    .option('--cap-drop <list>', 'Drop Linux capabilities', collect, [])
    .option('-m, --memory <bytes>', 'Memory limit', checkedBy(parseBytes))
    .option('--cpus <decimal>', 'Number of CPUs', checkedBy(parseRational))
    .option('--init', 'Run an init inside the container that forwards signals and reaps processes')
    .option('--add-host <list>', 'Add a custom host-to-IP mapping (host:ip)', collect, [])
    .option('--dns <list>', 'Set custom DNS servers', collect, [])
    .option('--stop-signal <string>', 'Signal to stop the container')
    .option('--shm-size <bytes>', 'Size of /dev/shm', checkedBy(parseBytes))
    .option('--pull <string>', 'Pull image before running ("always", "missing", "never")', 'missing')
    .option('--platform <string>', 'Set platform if server is multi-platform capable')
    .option('--restart <string>', 'Restart policy to apply when a container exits', 'no')
    .option('-q, --quiet', 'Suppress the pull output')
    // ---- namespaces, security, DNS, logging and stdio (issue 12; run-flags.ts parses them) ----
    .option('--ipc <string>', 'IPC mode to use')
    .option('--pid <string>', 'PID namespace to use')
    .option('--uts <string>', 'UTS namespace to use')
    .option('--userns <string>', 'User namespace to use')
    .option('--sysctl <map>', 'Sysctl options', collect, [])
    .option('--tmpfs <list>', 'Mount a tmpfs directory', collect, [])
    .option('--group-add <list>', 'Add additional groups to join', collect, [])
    .option('--stop-timeout <int>', 'Timeout (in seconds) to stop a container')
    .option('--cidfile <string>', 'Write the container ID to the file')
    .option('--label-file <list>', 'Read in a line delimited file of labels', collect, [])
    .option('--dns-search <list>', 'Set custom DNS search domains', collect, [])
    .option('--dns-option <list>', 'Set DNS options', collect, [])
    .option('--mac-address <string>', 'Container MAC address (e.g., 92:d0:c6:0a:29:33)')
    .option('--domainname <string>', 'Container NIS domain name')
    .option('--expose <list>', 'Expose a port or a range of ports', collect, [])
    .option('--annotation <map>', 'Add an annotation to the container (passed through to the OCI runtime)', collect, [])
    .option('-a, --attach <list>', 'Attach to STDIN, STDOUT or STDERR', collect, [])
    .option('--security-opt <list>', 'Security Options', collect, [])
    .option('--log-driver <string>', 'Logging driver for the container')
    .option('--log-opt <list>', 'Log driver options', collect, []);
  return healthFlags(flags);
}

/** Docker's warnings of a create (settings this host discards or cannot apply), on stderr before anything else. */
function printWarnings(ctx: CliContext, warnings: readonly string[] | undefined): void {
  for (const w of warnings ?? []) ctx.stderr.write(`WARNING: ${w}\n`);
}

/** `run`'s own stdio flags (issue 12). */
function runOnlyFlags(cmd: Command): Command {
  return cmd
    .option('--sig-proxy', 'Proxy received signals to the process', true)
    .option('--detach-keys <string>', 'Override the key sequence for detaching a container');
}

async function toCreateOptions(
  image: string,
  command: string[],
  o: CreateFlags,
): Promise<CreateOptions & { cliWarnings: string[] }> {
  const env: string[] = [];
  for (const f of o.envFile) env.push(...(await readEnvFile(f)));
  env.push(...expandEnvEntries(o.env));
  const labels: Record<string, string> = {};
  for (const l of [...(await readLabelFiles(o.labelFile)), ...o.label]) {
    const i = l.indexOf('=');
    labels[i < 0 ? l : l.slice(0, i)] = i < 0 ? '' : l.slice(i + 1);
  }
  const network = (o.network ?? o.net ?? 'bridge') === 'default' ? 'bridge' : (o.network ?? o.net ?? 'bridge');
  // The docker CLI checks these before it calls the daemon (a bad `-p` fails `create` with 125, not 1).
  for (const p of o.publish) parsePublish(p);
  if (o.platform) parsePlatform(o.platform);
  if (!['bridge', 'host', 'none'].includes(network))
    throw new WharfError('INVALID_ARGUMENT', `network ${network} not found`);
  // The docker CLI's own checks, before the engine's (validateRestartPolicy in ContainerService.create).
  const restartPolicy = parseRestartPolicy(o.restart);
  checkRestartWithAutoRemove(restartPolicy, o.rm === true);
  const healthcheck = healthFromFlags(o);
  let cpus: number | undefined;
  if (o.cpus !== undefined) {
    cpus = Number(o.cpus);
    if (o.cpus.trim() === '' || !Number.isFinite(cpus))
      throw new WharfError(
        'INVALID_ARGUMENT',
        `invalid argument "${o.cpus}" for "--cpus" flag: failed to parse ${o.cpus} as a rational number`,
      );
  }
  const { resources, warnings: cliWarnings } = toResources(o);
  return {
    resources,
    cliWarnings,
    image,
    command,
    ...(o.name !== undefined ? { name: o.name } : {}),
    ...(o.entrypoint !== undefined ? { entrypoint: o.entrypoint } : {}),
    env,
    ...(o.workdir !== undefined ? { workdir: o.workdir } : {}),
    ...(o.user !== undefined ? { user: o.user } : {}),
    ...(o.hostname !== undefined ? { hostname: o.hostname } : {}),
    labels,
    volumes: o.volume,
    mounts: o.mount,
    volumesFrom: o.volumesFrom,
    publish: o.publish,
    publishAll: o.publishAll === true,
    network: network as NetworkMode,
    tty: o.tty === true,
    openStdin: o.interactive === true,
    ...(o.detach ? { attachStdin: false } : {}),
    readOnly: o.readOnly === true,
    privileged: o.privileged === true,
    capAdd: o.capAdd,
    capDrop: o.capDrop,
    ...(o.memory !== undefined ? { memory: bytesFlag('-m, --memory', o.memory) } : {}),
    ...(cpus !== undefined ? { cpus } : {}),
    init: o.init === true,
    autoRemove: o.rm === true,
    extraHosts: o.addHost,
    dns: o.dns,
    ...(o.stopSignal ? { stopSignal: o.stopSignal } : {}),
    // `--shm-size 0` is Docker's default (64 MiB).
    ...(o.shmSize && bytesFlag('--shm-size', o.shmSize) > 0 ? { shmSize: bytesFlag('--shm-size', o.shmSize) } : {}),
    restartPolicy,
    ...(healthcheck ? { healthcheck } : {}),
    ...runFlagOptions(o),
  };
}

/** A size flag (`-m`, `--shm-size`): go-units RAMInBytes with pflag's message. */
function bytesFlag(flag: string, v: string): number {
  try {
    return parseBytes(v);
  } catch {
    throw new WharfError('INVALID_ARGUMENT', `invalid argument "${v}" for "${flag}" flag: invalid size: '${v}'`);
  }
}

/** The CreateOptions of the issue-12 flags, parsed and checked as the docker CLI does (run-flags.ts). */
function runFlagOptions(o: CreateFlags): Partial<CreateOptions> {
  let stopTimeout: number | undefined;
  if (o.stopTimeout !== undefined) {
    if (!/^[+-]?\d+$/.test(o.stopTimeout))
      throw new WharfError(
        'INVALID_ARGUMENT',
        `invalid argument "${o.stopTimeout}" for "--stop-timeout" flag: strconv.ParseInt: parsing "${o.stopTimeout}": invalid syntax`,
      );
    stopTimeout = Number(o.stopTimeout);
  }
  const streams = parseAttach(o.attach, o.interactive === true);
  return {
    ...(o.ipc !== undefined ? { ipc: o.ipc } : {}),
    ...(o.pid !== undefined ? { pid: o.pid } : {}),
    ...(o.uts !== undefined ? { uts: o.uts } : {}),
    ...(o.userns !== undefined ? { userns: o.userns } : {}),
    sysctls: parseSysctls(o.sysctl),
    tmpfs: parseTmpfs(o.tmpfs),
    groupAdd: o.groupAdd,
    ...(stopTimeout !== undefined ? { stopTimeout } : {}),
    ...(o.cidfile ? { cidfile: o.cidfile } : {}),
    dnsSearch: o.dnsSearch,
    dnsOptions: o.dnsOption,
    ...(o.macAddress ? { macAddress: checkMacAddress(o.macAddress) } : {}),
    ...(o.domainname !== undefined ? { domainname: o.domainname } : {}),
    expose: parseExpose(o.expose),
    annotations: parseKeyValues(o.annotation),
    securityOpt: parseSecurityOptFlags(o.securityOpt, (f) => readFileSync(f, 'utf8')),
    ...(o.logDriver !== undefined ? { logDriver: o.logDriver } : {}),
    logOpts: parseLogOpts(o.logOpt),
    // With -d nothing is attached, as the docker CLI records it.
    ...(o.detach
      ? { attachStdin: false, attachStdout: false, attachStderr: false }
      : {
          attachStdout: streams.stdout,
          attachStderr: streams.stderr,
          ...(streams.stdin ? {} : { attachStdin: false }),
        }),
  };
}

/** `--label-file`: the labels of each file, in order (before the `-l` ones, which win). */
async function readLabelFiles(files: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const f of files) {
    try {
      out.push(...labelFileLines(await fsp.readFile(f, 'utf8')));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new WharfError(
        'INVALID_ARGUMENT',
        `open ${f}: ${code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`,
      );
    }
  }
  return out;
}

/**
 * `--cidfile`: refused when the file exists (the docker CLI's check, before anything is created); the ID is written
 * once the container exists. `exitCode` is the docker CLI's for this refusal (1 for create, 125 for run).
 */
function checkCidfile(ctx: CliContext, file: string | undefined, exitCode: number): boolean {
  if (!file || !existsSync(file)) return true;
  ctx.stderr.write(`docker: container ID file found, make sure the other container isn't running or delete ${file}\n`);
  ctx.setExitCode(exitCode);
  return false;
}

async function writeCidfile(file: string | undefined, id: string): Promise<void> {
  if (!file) return;
  try {
    await fsp.writeFile(file, id, { flag: 'wx' });
  } catch (err) {
    throw new WharfError('INVALID_ARGUMENT', `failed to create the container ID file: ${(err as Error).message}`);
  }
}

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
  if (ex.cleanupError)
    ctx.stderr.write(`Error: cleaning up container ${shortId(id)}: ${ex.cleanupError}
`);
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
    return exit125(ctx, () =>
      withEngine(ctx, async (w) => {
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
    // Docker's `start` (CLI 28, startContainersWithoutAttachments) exits 1 on every failure, even a command that
    // cannot run; each failed container's error is printed, then one line naming the containers that failed.
    .action(async (names: string[], o: { attach?: boolean; interactive?: boolean }) =>
      withEngine(ctx, async (w) => {
        if ((o.attach || o.interactive) && names.length > 1) {
          throw new WharfError('INVALID_ARGUMENT', 'you cannot start and attach multiple containers at once');
        }
        if (o.attach || o.interactive) {
          try {
            const rec = w.containers.resolve(names[0]!);
            await startAttached(ctx, w, rec.id, {
              tty: rec.config.Tty === true,
              interactive: o.interactive === true,
              start: (so) => w.tasks.start(rec.id, so),
            });
          } catch (err) {
            ctx.stderr.write(`${formatError(err, ctx.globals().logLevel === 'debug')}\n`);
            ctx.setExitCode(1);
          }
          return;
        }
        const failed: string[] = [];
        for (const n of names) {
          try {
            await w.tasks.start(n);
            ctx.stdout.write(`${n}\n`);
          } catch (err) {
            ctx.stderr.write(`${formatError(err, ctx.globals().logLevel === 'debug')}\n`);
            failed.push(n);
          }
        }
        if (failed.length > 0) {
          ctx.stderr.write(`Error: failed to start containers: ${failed.join(', ')}\n`);
          ctx.setExitCode(1);
        }
      }),
    );

  parent
    .command('stop')
    .description('Stop one or more running containers')
    .argument('<CONTAINER...>')
    // No default here: the container's --stop-timeout, else 10 s (TaskService.stop).
    .option('-t, --time <seconds>', 'Seconds to wait before killing the container')
    .option('-s, --signal <string>', 'Signal to send to the container')
    .action(async (names: string[], o: { time?: string; signal?: string }) =>
      withEngine(ctx, async (w) => {
        const t = o.time === undefined ? undefined : Number.parseInt(o.time, 10);
        if (t !== undefined && !Number.isFinite(t))
          throw new WharfError('INVALID_ARGUMENT', `invalid argument "${o.time}" for "-t, --time" flag`);
        await forEachContainer(ctx, names, async (n) => {
          await w.tasks.stop(n, {
            ...(t !== undefined ? { timeoutSec: t } : {}),
            ...(o.signal ? { signal: o.signal } : {}),
          });
          ctx.stdout.write(`${n}\n`);
        });
      }),
    );

  parent
    .command('restart')
    .description('Restart one or more containers')
    .argument('<CONTAINER...>')
    .option('-t, --time <seconds>', 'Seconds to wait before killing the container')
    .action(async (names: string[], o: { time?: string }) =>
      withEngine(ctx, async (w) => {
        await forEachContainer(ctx, names, async (n) => {
          // Docker's restart: stop, then start again (waiting the container's --stop-timeout unless -t).
          await w.tasks.restart(n, o.time === undefined ? {} : { timeoutSec: Number.parseInt(o.time, 10) });
          ctx.stdout.write(`${n}\n`);
        });
      }),
    );

  parent
    .command('kill')
    .description('Kill one or more running containers')
    .argument('<CONTAINER...>')
    .option('-s, --signal <string>', 'Signal to send to the container', 'KILL')
    .action(async (names: string[], o: { signal: string }) =>
      withEngine(ctx, async (w) => {
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
    .action(async (names: string[], o: { force?: boolean; volumes?: boolean }) =>
      withEngine(ctx, async (w) => {
        await forEachContainer(ctx, names, async (n) => {
          await w.containers.remove(n, { force: o.force === true, volumes: o.volumes === true });
          ctx.stdout.write(`${n}\n`);
        });
      }),
    );

  parent
    .command('wait')
    .description('Block until one or more containers stop, then print their exit codes')
    .argument('<CONTAINER...>')
    .action(async (names: string[]) =>
      withEngine(ctx, async (w) => {
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
        withEngine(ctx, async (w) => {
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
    .action(async (name: string, newName: string) => withEngine(ctx, async (w) => w.containers.rename(name, newName)));
}

/** run, create, start, stop, restart, kill, rm, wait, pause, unpause, rename; `container prune`; hidden `container teardown` (alias `cleanup`). */
export function register(program: Command, ctx: CliContext): void {
  // `container run|rm|…` are these verbs too (command-tree.ts); the group keeps only its own commands.
  verbs(program, ctx);
  const group = containerGroup(program);

  group
    .command('prune')
    .description('Remove all stopped containers')
    .option('-f, --force', 'Do not prompt for confirmation')
    .action(async (o: { force?: boolean }) =>
      withEngine(ctx, async (w) => {
        if (!o.force) {
          if (!(await confirm(ctx, 'WARNING! This will remove all stopped containers.'))) return;
        }
        const { deleted, reclaimed } = await w.containers.prune();
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
