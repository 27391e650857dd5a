import type { Command } from 'commander';
import * as os from 'node:os';
import type { Wharf } from '../../engine/index.js';
import { collectInfo as engineInfo, versionLine } from '../../engine/info.js';
import { findInitBinary } from '../../runtime/index.js';
import { compileTemplate, templateWords } from '../format.js';
import type { CliContext } from '../context.js';
import { API_VERSION, MIN_API_VERSION } from '../../api/versions.js';
import { withDaemonEngine } from '../engine.js';
import { wharfVersion } from '../version.js';
import { remoteOptionsFor } from './registry-client.js';
import { systemGroup } from './system-group.js';

/** go-units BytesSize: binary units, four significant digits (`23.54GiB`). */
export function binarySize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Number(v.toPrecision(4))}${units[i]}`;
}

/**
 * `info`'s facts (the engine's collectInfo) with the client's own part, in the field names of Docker's /info.
 */
export async function collectInfo(w: Wharf): Promise<Record<string, unknown>> {
  const insecureRegistries = remoteOptionsFor('', {}).insecureRegistries ?? [];
  const info = await engineInfo(w, { serverVersion: wharfVersion(), insecureRegistries });
  return { ...info, ClientInfo: { Debug: false, Version: wharfVersion(), Context: 'default', Plugins: [] } };
}

/** `docker info`'s text layout (docker/cli prettyPrintInfo) for the fields Wharf has. */
export function infoText(i: Record<string, unknown>): string {
  const client = i.ClientInfo as { Version: string; Context: string };
  const lines: string[] = [
    'Client:',
    ` Version:    ${client.Version}`,
    ` Context:    ${client.Context}`,
    ' Debug Mode: false',
    '',
    'Server:',
    ` Containers: ${i.Containers}`,
    `  Running: ${i.ContainersRunning}`,
    `  Paused: ${i.ContainersPaused}`,
    `  Stopped: ${i.ContainersStopped}`,
    ` Images: ${i.Images}`,
    ` Server Version: ${i.ServerVersion}`,
    ` Storage Driver: ${i.Driver}`,
    ...(i.DriverStatus as string[][]).map(([k, v]) => `  ${k}: ${v}`),
    ` Logging Driver: ${i.LoggingDriver}`,
    ` Cgroup Driver: ${i.CgroupDriver}`,
    ` Cgroup Version: ${i.CgroupVersion}`,
    ' Plugins:',
  ];
  const plugins = i.Plugins as Record<string, string[] | null>;
  for (const k of ['Volume', 'Network', 'Log']) lines.push(`  ${k}: ${(plugins[k] ?? []).join(' ')}`);
  const swarm = i.Swarm as { LocalNodeState: string };
  lines.push(
    ` Swarm: ${swarm.LocalNodeState}`,
    ` Runtimes: ${Object.keys(i.Runtimes as object).join(' ')}`,
    ` Default Runtime: ${i.DefaultRuntime}`,
  );
  if (i.InitBinary) lines.push(` Init Binary: ${i.InitBinary}`);
  lines.push(` runc version: ${(i.RuncCommit as { ID: string }).ID}`);
  if (i.InitBinary) lines.push(` init version: ${(i.InitCommit as { ID: string }).ID}`);
  const sec = i.SecurityOptions as string[];
  // As docker/cli prints them: each option's name, then its profile.
  if (sec.length > 0) {
    lines.push(' Security Options:');
    for (const opt of sec) {
      const kv = new Map(opt.split(',').map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]));
      lines.push(`  ${kv.get('name') ?? opt}`);
      if (kv.has('profile')) lines.push(`   Profile: ${kv.get('profile')}`);
    }
  }
  lines.push(
    ` Kernel Version: ${i.KernelVersion}`,
    ` Operating System: ${i.OperatingSystem}`,
    ` OSType: ${i.OSType}`,
    ` Architecture: ${i.Architecture}`,
    ` CPUs: ${i.NCPU}`,
    ` Total Memory: ${binarySize(i.MemTotal as number)}`,
    ` Name: ${i.Name}`,
    ` ID: ${i.ID}`,
    ` Docker Root Dir: ${i.DockerRootDir}`,
    ` Debug Mode: ${i.Debug}`,
    ` Experimental: ${i.ExperimentalBuild}`,
    ' Insecure Registries:',
    ...(i.InsecureRegistries as string[]).map((r) => `  ${r}`),
    ` Live Restore Enabled: ${i.LiveRestoreEnabled}`,
    '',
  );
  return lines.join('\n') + '\n';
}

/**
 * `version`'s facts in Docker's shape (types.Version under Server, the CLI's under Client). Wharf has no server: its
 * "Engine" is this same program, with runc and the init binary as the components that run containers.
 */
export async function collectVersion(): Promise<Record<string, unknown>> {
  const arch =
    ({ x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm' } as Record<string, string>)[os.arch()] ?? os.arch();
  const v = wharfVersion();
  const runcVersion = await versionLine('runc', /^runc version (.*)$/m);
  const runcCommit = await versionLine('runc', /^commit: (.*)$/m);
  const initBin = await findInitBinary();
  const initVersion = initBin ? await versionLine(initBin, /version ([^\s]+)/) : undefined;
  const components: Array<{ Name: string; Version: string; Details: Record<string, string> }> = [
    {
      Name: 'Engine',
      Version: v,
      Details: {
        NodeVersion: process.version,
        Os: 'linux',
        Arch: arch,
        KernelVersion: os.release(),
        Experimental: 'false',
      },
    },
  ];
  if (runcVersion) components.push({ Name: 'runc', Version: runcVersion, Details: { GitCommit: runcCommit ?? '' } });
  if (initVersion) components.push({ Name: 'docker-init', Version: initVersion, Details: { GitCommit: '' } });
  return {
    // APIVersion under the Go field's name, which templates use (`{{.Server.APIVersion}}`): the Engine API's.
    Client: {
      Platform: { Name: 'Wharf' },
      Version: v,
      APIVersion: API_VERSION,
      NodeVersion: process.version,
      Os: 'linux',
      Arch: arch,
      Context: 'default',
    },
    Server: {
      Platform: { Name: 'Wharf (daemonless)' },
      Components: components,
      Version: v,
      APIVersion: API_VERSION,
      MinAPIVersion: MIN_API_VERSION,
      Os: 'linux',
      Arch: arch,
      KernelVersion: os.release(),
    },
  };
}

/** `docker version`'s layout: tab-aligned blocks, the server's components below its Engine. */
export function versionText(v: Record<string, unknown>): string {
  const c = v.Client as Record<string, string>;
  const s = v.Server as {
    Platform: { Name: string };
    Components: Array<{ Name: string; Version: string; Details: Record<string, string> }>;
  };
  const rows: string[][] = [
    [`Client: ${(c.Platform as unknown as { Name: string }).Name}`],
    [' Version:', c.Version!],
    [' Node.js version:', c.NodeVersion!],
    [' OS/Arch:', `${c.Os}/${c.Arch}`],
    [' Context:', c.Context!],
    [''],
    [`Server: ${s.Platform.Name}`],
  ];
  for (const comp of s.Components) {
    rows.push([` ${comp.Name}:`]);
    rows.push(['  Version:', comp.Version]);
    if (comp.Name === 'Engine') {
      rows.push(['  Node.js version:', comp.Details.NodeVersion!]);
      rows.push(['  OS/Arch:', `${comp.Details.Os}/${comp.Details.Arch}`]);
      rows.push(['  Experimental:', comp.Details.Experimental!]);
    } else rows.push(['  GitCommit:', comp.Details.GitCommit ?? '']);
  }
  // Docker's tabwriter: every aligned cell as wide as the widest + 1 (its version template uses minwidth 20).
  const width = Math.max(20, ...rows.filter((r) => r.length > 1).map((r) => r[0]!.length + 1));
  return rows.map((r) => (r.length > 1 ? r[0]!.padEnd(width) + r[1] : r[0]!)).join('\n') + '\n';
}

/** `name`: the Go template's name in docker's errors (its `version` template has one, `info`'s not). */
function render(
  ctx: CliContext,
  data: Record<string, unknown>,
  format: string | undefined,
  text: () => string,
  name?: string,
): void {
  if (!format) {
    ctx.stdout.write(text());
    return;
  }
  const f = format.trim() === 'json' ? '{{json .}}' : format;
  const tmpl = templateWords('template parsing error: ', () => compileTemplate(f, name ? { name } : {}), 64);
  ctx.stdout.write(`${tmpl.render(data)}\n`);
}

function addInfo(parent: Command, ctx: CliContext): void {
  parent
    .command('info')
    .description('Display system-wide information')
    .option('-f, --format <string>', "Format output using a custom template:\n'json': Print in JSON format")
    .action(async (o: { format?: string }) =>
      withDaemonEngine(ctx, async (w) => {
        const info = await collectInfo(w);
        render(ctx, info, o.format, () => infoText(info));
      }),
    );
}

/** `info`, `version`, `system info`. */
export function register(program: Command, ctx: CliContext): void {
  addInfo(program, ctx);
  addInfo(systemGroup(program), ctx);
  program
    .command('version')
    .description('Show the Wharf version information')
    .option('-f, --format <string>', "Format output using a custom template:\n'json': Print in JSON format")
    .action(async (o: { format?: string }) => {
      const v = await collectVersion();
      render(ctx, v, o.format, () => versionText(v), 'version');
    });
}
