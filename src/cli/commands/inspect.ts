import type { Command } from 'commander';
import { WharfError } from '../../errors/index.js';
import { inspectImage, type ImageRecord } from '../../image/index.js';
import { compileTemplate, goJson } from '../format.js';
import type { CliContext } from '../context.js';
import { withEngine } from '../engine.js';

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

/** `inspect NAME|ID…`: low-level information on Wharf objects: containers first, then images (as Docker). */
export function register(program: Command, ctx: CliContext): void {
  program
    .command('inspect')
    .description('Return low-level information on Wharf objects')
    .argument('<NAME|ID...>')
    .option('-f, --format <string>', 'Format output using a custom template')
    .option('--type <string>', 'Only inspect objects of the given type (container, image, volume)')
    .option('-s, --size', 'Display total file sizes if the type is container')
    .action(async (names: string[], o: { format?: string; type?: string; size?: boolean }) =>
      withEngine(ctx, async (w) => {
        if (o.type && !['image', 'container', 'volume'].includes(o.type))
          throw new WharfError('INVALID_ARGUMENT', `"${o.type}" is not a valid value for --type`);
        const out: unknown[] = [];
        for (const n of names) {
          if (!o.type || o.type === 'container') {
            const c = w.containers.tryResolve(n);
            if (c) {
              out.push(await w.containers.inspect(c.id, { size: o.size === true }));
              continue;
            }
          }
          let img: ImageRecord | undefined;
          if (!o.type || o.type === 'image') {
            try {
              img = w.images.tryResolve(n);
            } catch (err) {
              if (o.type === 'image') throw err;
            }
          }
          if (!img && (!o.type || o.type === 'volume')) {
            const v = w.volumes.get(n);
            if (v) {
              const { inspectVolume } = await import('./volumes.js');
              out.push(inspectVolume(w, v));
              continue;
            }
          }
          if (!img) {
            ctx.stderr.write(`Error: No such object: ${n}\n`);
            ctx.setExitCode(1);
            continue;
          }
          out.push(await inspectImage(w.images, img.id));
        }
        if (o.format) {
          // As Docker's template inspector: a field an object lacks fails that object; the others print, then an
          // empty line if none did, then the errors.
          const t = compileTemplate(o.format === 'json' ? '{{json .}}' : o.format, {
            missingKey: 'error',
            known: DOCKER_FIELDS,
          });
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
        } else ctx.stdout.write(goJson(out, '    ') + '\n');
      }),
    );
}
