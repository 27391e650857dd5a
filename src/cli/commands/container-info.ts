import { promises as fsp } from 'node:fs';
import { validateOutputPath } from '../output-path.js';
import type { Command } from 'commander';
import { WharfError } from '../../errors/index.js';
import { shortId } from '../../digest/index.js';
import {
  containerFilters,
  containerTop,
  commandText,
  logAttributes,
  logDetailsPrefix,
  portsText,
  statusText,
} from '../../container/index.js';
import { formatPortMapping, listedPortMappings } from '../../network/index.js';
import { drained, ellipsis, humanSize, timeAgo } from '../../util/index.js';
import { compileTemplate, goJson, renderList, renderTable, templateWords } from '../format.js';
import { ROW_TYPES } from '../row-types.js';
import { formatLogEntry } from '../../runtime/index.js';
import type { CliContext } from '../context.js';
import { markDaemonSide, withErrorPrefix } from '../errors.js';
import { goTimeString, withDaemonEngine, withEngine, withReadEngine } from '../engine.js';
import { filterFlag } from '../flag-values.js';
import { containerGroup, parseTimeArg } from './container-shared.js';
import { portParseError } from './run-flags.js';

/** `ps`, also `container ls|list|ps` (command-tree.ts). */
function register1(parent: Command, ctx: CliContext): void {
  const ps = parent.command('ps');
  ps.description('List containers')
    .option('-a, --all', 'Show all containers (default shows just running)')
    .option('-q, --quiet', 'Only display container IDs')
    .option('-s, --size', 'Display total file sizes')
    .option('-n, --last <int>', 'Show n last created containers (includes all states)', '-1')
    .option('-l, --latest', 'Show the latest created container (includes all states)')
    .option('--no-trunc', "Don't truncate output")
    .option('-f, --filter <filter>', 'Filter output based on conditions provided', filterFlag, [])
    .option('--format <string>', 'Format output using a custom template')
    .action(
      async (o: {
        all?: boolean;
        quiet?: boolean;
        size?: boolean;
        last: string;
        latest?: boolean;
        trunc: boolean;
        filter: string[];
        format?: string;
      }) =>
        withReadEngine(ctx, async (w) => {
          let list = await w.containers.list();
          const filters = containerFilters(w.images, o.filter, list);
          const last = o.latest ? 1 : Number.parseInt(o.last, 10);
          if (!o.all && !(last > 0) && !o.filter.some((f) => f.startsWith('status=') || f.startsWith('exited=')))
            list = list.filter((c) => c.running);
          list = list.filter((c) => filters.every((f) => f(c)));
          if (last > 0) list = list.slice(0, last);
          if (o.quiet) {
            for (const c of list) ctx.stdout.write(`${o.trunc ? shortId(c.id) : c.id}\n`);
            return;
          }
          const rows = [];
          for (const c of list) {
            const size =
              o.size || (o.format ?? '').includes('.Size')
                ? await w.containers.size(c.id).catch(() => ({ rw: 0, rootFs: 0 }))
                : undefined;
            rows.push({
              ID: o.trunc ? shortId(c.id) : c.id,
              // docker's formatter: an image given by ID (a build step's container) shows as the short ID.
              Image: o.trunc && shortId(c.imageId) === shortId(c.imageName) ? shortId(c.imageId) : c.imageName,
              Command: commandText(c, o.trunc),
              CreatedAt: goTimeString(new Date(c.created)),
              RunningFor: timeAgo(c.created),
              Ports: portsText(c),
              State: c.status,
              Status: statusText(c),
              // docker's Size(): "0B" when the sizes were not asked for, "(virtual …)" only with a root fs size.
              Size: size
                ? `${humanSize(size.rw)}${size.rootFs > 0 ? ` (virtual ${humanSize(size.rootFs)})` : ''}`
                : '0B',
              Names: c.name,
              Labels: Object.entries(c.config.Labels ?? {})
                .map(([k, v]) => `${k}=${v}`)
                .join(','),
              Label: (key: unknown) => c.config.Labels?.[String(key)] ?? '',
              Mounts: c.mounts
                .map((m) => (o.trunc ? ellipsis(m.Name ?? m.Source, 15) : (m.Name ?? m.Source)))
                .join(','),
              LocalVolumes: String(c.mounts.filter((m) => m.Type === 'volume').length), // the local driver's
              Platform: null,
              Networks: [
                ...new Set([
                  ...(c.networks && c.hostConfig.NetworkMode !== 'bridge' ? [] : [c.hostConfig.NetworkMode]),
                  ...Object.keys(c.networks ?? {}),
                ]),
              ].join(','),
            });
          }
          const table =
            '{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}' +
            (o.size ? '\t{{.Size}}' : '');
          ctx.stdout.write(
            renderList(
              rows,
              o.format,
              table,
              {
                ID: 'CONTAINER ID',
                RunningFor: 'CREATED',
                CreatedAt: 'CREATED AT',
                Names: 'NAMES',
              },
              ROW_TYPES.container,
            ),
          );
        }),
    );

  parent
    .command('logs')
    .description('Fetch the logs of a container')
    .argument('<CONTAINER>')
    .option('-f, --follow', 'Follow log output')
    .option('-n, --tail <string>', 'Number of lines to show from the end of the logs', 'all')
    .option('-t, --timestamps', 'Show timestamps')
    .option('--since <string>', 'Show logs since timestamp or relative (e.g. 42m for 42 minutes)')
    .option('--until <string>', 'Show logs before a timestamp or relative')
    .option('--details', 'Show extra details provided to logs')
    .action(
      async (
        name: string,
        o: { follow?: boolean; tail: string; timestamps?: boolean; since?: string; until?: string; details?: boolean },
      ) =>
        withEngine(
          ctx,
          async (w) => {
            const tail = o.tail === 'all' ? undefined : Number.parseInt(o.tail, 10);
            if (tail !== undefined && !Number.isFinite(tail))
              throw new WharfError('INVALID_ARGUMENT', `invalid value for --tail: ${o.tail}`);
            let details = '';
            if (o.details) {
              const rec = await w.containers.get(name);
              details = logDetailsPrefix(logAttributes(rec.hostConfig.LogConfig, rec.config.Labels, rec.config.Env));
            }
            const ac = new AbortController();
            const stop = (): void => ac.abort();
            process.once('SIGINT', stop);
            process.once('SIGTERM', stop);
            try {
              for await (const e of w.tasks.logs(name, {
                follow: o.follow === true,
                ...(tail !== undefined && tail >= 0 ? { tail } : {}),
                ...(o.since ? { since: logsTime('since', o.since) } : {}),
                ...(o.until ? { until: logsTime('until', o.until) } : {}),
                signal: ac.signal,
              })) {
                const out = e.stream === 'stderr' ? ctx.stderr : ctx.stdout;
                // Read the log only as fast as the reader takes it (a slow `| less` must not fill our memory).
                const entry = details ? { ...e, log: details + e.log } : e;
                if (!out.write(formatLogEntry(entry, o.timestamps === true))) await drained(out, ac.signal);
                if (ac.signal.aborted) break;
              }
            } finally {
              process.off('SIGINT', stop);
              process.off('SIGTERM', stop);
            }
          },
          // Without --follow a short read: it works on a disk full to the byte too (engine.ts withReadEngine).
          { shortRead: o.follow !== true, daemon: true },
        ),
    );

  parent
    .command('port')
    .description('List port mappings or a specific mapping for the container')
    .argument('<CONTAINER>')
    .argument('[PRIVATE_PORT[/PROTO]]')
    .action(async (name: string, want?: string) =>
      withDaemonEngine(ctx, async (w) => {
        const c = await w.containers.get(name);
        const ports = c.running ? listedPortMappings(c.network?.ports ?? [], c.network?.proxyPid) : [];
        if (want) {
          const [port = '', proto = 'tcp'] = want.split('/');
          // The docker CLI's own errors, worded with "Error: ": the port checked as Go's strconv.ParseUint(port, 10,
          // 16), the argument as typed.
          const bad = portParseError(port);
          if (bad) throw withErrorPrefix(new WharfError('INVALID_ARGUMENT', `invalid port (${port}): ${bad}`));
          const m = ports.filter((p) => String(p.containerPort) === port && p.protocol === proto);
          if (m.length === 0)
            throw withErrorPrefix(new WharfError('NOT_FOUND', `No public port '${want}' published for ${name}`));
          for (const p of m) {
            const ip = p.hostIP === '' ? '0.0.0.0' : p.hostIP;
            ctx.stdout.write(`${ip.includes(':') ? `[${ip}]` : ip}:${p.hostPort}\n`);
          }
          return;
        }
        for (const p of ports) ctx.stdout.write(`${formatPortMapping(p)}\n`);
      }),
    );

  parent
    .command('top')
    .description('Display the running processes of a container')
    .argument('<CONTAINER>')
    .argument('[ps OPTIONS...]')
    .passThroughOptions()
    .allowUnknownOption()
    .action(async (name: string, psArgs: string[]) =>
      withDaemonEngine(ctx, async (w) => {
        // dockerd runs `ps` (its failures are the daemon's, as the engine's calls are: withDaemonEngine).
        const top = await containerTop(w.tasks, name, psArgs).catch((err: unknown) =>
          Promise.reject(markDaemonSide(err)),
        );
        ctx.stdout.write(renderTable([top.Titles, ...top.Processes]));
      }),
    );

  parent
    .command('diff')
    .description("Inspect changes to files or directories on a container's filesystem")
    .argument('<CONTAINER>')
    .action(async (name: string) =>
      withDaemonEngine(ctx, async (w) => {
        for await (const ch of w.containerFiles.diff(name)) ctx.stdout.write(`${ch.kind} ${ch.path}\n`);
      }),
    );

  parent
    .command('export')
    .description("Export a container's filesystem as a tar archive")
    .argument('<CONTAINER>')
    .option('-o, --output <file>', 'Write to a file, instead of STDOUT')
    .action(async (name: string, o: { output?: string }) =>
      withDaemonEngine(ctx, async (w) => {
        if (!o.output && process.stdout.isTTY) {
          throw new WharfError(
            'INVALID_ARGUMENT',
            'cowardly refusing to save to a terminal. Use the -o flag or redirect',
          );
        }
        // Checked and opened here, by the verb: a path that cannot be written is the CLI's error, not the daemon's.
        if (o.output) await validateOutputPath(o.output, 'export container');
        const fh = o.output ? await fsp.open(o.output, 'w') : undefined;
        const dest = fh ? fh.createWriteStream() : ctx.stdout;
        try {
          await w.containerFiles.exportTo(name, dest, { end: fh !== undefined });
        } finally {
          if (fh) dest.destroy(); // closes the file if the export failed before ending it
        }
      }),
    );
}

/** ps (and `container ls`), logs, port, top, diff, export; `inspect` of containers is in inspect.ts. */
export function register(program: Command, ctx: CliContext): void {
  register1(program, ctx);
  containerGroup(program)
    .command('inspect')
    .description('Display detailed information on one or more containers')
    .argument('<CONTAINER...>')
    .option('-f, --format <string>', 'Format output using a custom template')
    .option('-s, --size', 'Display total file sizes')
    .action(async (names: string[], o: { format?: string; size?: boolean }) =>
      withReadEngine(ctx, async (w) => {
        const out: unknown[] = [];
        for (const n of names) {
          const c = w.containers.tryResolve(n);
          if (!c) {
            ctx.stderr.write(`Error response from daemon: No such container: ${n}\n`);
            ctx.setExitCode(1);
            continue;
          }
          out.push(await w.containers.inspect(c.id, { size: o.size === true }));
        }
        writeInspect(ctx, out, o.format);
      }),
    );
}

/**
 * Fields of Docker's container, image and volume types that Wharf's objects may leave out (Docker's JSON omits
 * them when empty, or Wharf has no such setting): Docker's template runs on its typed value first, where they
 * exist, so they print rather than fail as an unknown key does.
 */
const DOCKER_FIELDS: ReadonlySet<string> = new Set(
  'Aliases Annotations AppArmorProfile Architecture ArgsEscaped AttachStderr AttachStdin AttachStdout Author BaseLayer BlkioDeviceReadBps BlkioDeviceReadIOps BlkioDeviceWriteBps BlkioDeviceWriteIOps BlkioWeight BlkioWeightDevice Bridge CapAdd CapDrop Capabilities Cgroup CgroupParent CgroupnsMode ClusterVolume Cmd Comment ConsoleSize Container ContainerConfig CpuCount CpuPercent CpuPeriod CpuQuota CpuRealtimePeriod CpuRealtimeRuntime CpuShares CpusetCpus CpusetMems CreatedAt Descriptor DeviceCgroupRules DeviceRequests Devices Dns DnsOptions DnsSearch DockerVersion Domainname Driver DriverOpts EndpointID Entrypoint Env ExecIDs ExposedPorts ExtraHosts Gateway GlobalIPv6Address GlobalIPv6PrefixLen GraphDriver GroupAdd HairpinMode Health Healthcheck Hostname HostnamePath HostsPath IOMaximumBandwidth IOMaximumIOps IPAMConfig IPAddress IPPrefixLen IPv6Gateway Image Init IpcMode Isolation KernelMemory KernelMemoryTCP Labels LastTagTime LinkLocalIPv6Address LinkLocalIPv6PrefixLen Links LogPath MacAddress Manifests MaskedPaths MemoryReservation MemorySwap MemorySwappiness Metadata MountLabel Mountpoint Mounts NetworkDisabled NetworkID Networks Node OnBuild OomKillDisable OomScoreAdj OpenStdin Options Os OsVersion Parent PidMode PidsLimit Platform Ports ProcessLabel ReadonlyPaths RepoDigests RepoTags ResolvConfPath RestartCount RootFS Runtime SandboxID SandboxKey Scope SecondaryIPAddresses SecondaryIPv6Addresses SecurityOpt Shell Size SizeRootFs SizeRw Status StdinOnce StopSignal StopTimeout StorageOpt Sysctls Tmpfs Tty UTSMode Ulimits UsageData User UsernsMode Variant VirtualSize Volumes VolumesFrom WorkingDir'.split(
    ' ',
  ),
);

/**
 * `inspect -f` as Docker's template inspector runs it (Go's missingkey=error): a field an object lacks fails that
 * object with Go's message; the others print, then an empty line if none did, then the errors, exit 1.
 */
export function writeInspect(ctx: CliContext, out: unknown[], format?: string): void {
  if (!format) {
    ctx.stdout.write(goJson(out, '    ') + '\n');
    return;
  }
  const t = templateWords(
    'template parsing error: ',
    () => compileTemplate(format === 'json' ? '{{json .}}' : format, { missingKey: 'error', known: DOCKER_FIELDS }),
    64,
  );
  let printed = '';
  const errors: string[] = [];
  for (const x of out) {
    try {
      printed += t.render(x) + '\n';
    } catch (err) {
      if (!(err instanceof WharfError)) throw err;
      errors.push(`template parsing error: ${err.message}\n`);
    }
  }
  ctx.stdout.write(errors.length > 0 && printed === '' ? '\n' : printed);
  if (errors.length > 0) {
    ctx.stderr.write(errors.join(''));
    ctx.setExitCode(1);
  }
}

/** `logs --since/--until`: a value that does not parse is the docker client's error, in its words. */
function logsTime(flag: 'since' | 'until', value: string): Date {
  try {
    return parseTimeArg(value);
  } catch (err) {
    throw new WharfError('INVALID_ARGUMENT', `invalid value for "${flag}": ${(err as Error).message}`);
  }
}
