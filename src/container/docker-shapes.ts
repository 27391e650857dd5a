import { ellipsis, humanDuration } from '../util/index.js';
import { listedPortMappings, type PortMapping } from '../network/index.js';
import { healthStatusText } from './health.js';
import type { ObservedContainer } from './types.js';
import { inspectResources } from './resources.js';
import { MASKED_PATHS, READONLY_PATHS } from '../runtime/index.js';

/**
 * Docker's STATUS column: "Up 3 minutes", "Up 2 seconds (Paused)", "Restarting (3) 1 second ago" (the last exit's
 * code and end), "Exited (130) 5 seconds ago", "Created".
 */
export function statusText(c: ObservedContainer, now = new Date()): string {
  const since = (iso: string | undefined): string => humanDuration(iso ? (now.getTime() - Date.parse(iso)) / 1000 : 0);
  if (c.status === 'restarting') return `Restarting (${c.state.exitCode}) ${since(c.state.finishedAt)} ago`;
  if (c.running) {
    if (c.status === 'paused') return `Up ${since(c.state.startedAt)} (Paused)`;
    return `Up ${since(c.state.startedAt)}${c.health ? ` (${healthStatusText(c.health.Status)})` : ''}`;
  }
  if (c.status === 'created') return 'Created';
  if (c.status === 'exited') return `Exited (${c.state.exitCode}) ${since(c.state.finishedAt)} ago`;
  return c.status.charAt(0).toUpperCase() + c.status.slice(1);
}

/**
 * Docker's PORTS column (the docker CLI's DisplayablePorts): ports sorted by container port, then host IP, host port
 * and protocol; runs of consecutive ports grouped ("80-81/tcp", "0.0.0.0:8080-8081->8080-8081/tcp"); a port published
 * on another host port listed after those ("0.0.0.0:18080->80/tcp"); exposed but unpublished ports bare.
 */
/**
 * Whether dockerd lists the container's ports (NetworkSettings.Ports, the PORTS column): only while it runs on a
 * network that maps ports; a stopped container's are cleared (releaseNetwork), and `none` and `host` have none.
 */
function listsPorts(c: ObservedContainer): boolean {
  const mode = c.hostConfig.NetworkMode;
  // The default bridge and user-defined networks map ports (on the first network's endpoint).
  return c.running && mode !== 'host' && mode !== 'none' && !mode.startsWith('container:');
}

export function portsText(c: ObservedContainer): string {
  if (!listsPorts(c)) return '';
  const published: PortMapping[] = listedPortMappings(c.network?.ports ?? [], c.network?.proxyPid);
  const ports: Array<{ ip: string; pub: number; priv: number; proto: string }> = [];
  const seen = new Set<string>();
  for (const m of published) {
    ports.push({
      ip: m.hostIP === '' ? '0.0.0.0' : m.hostIP,
      pub: m.hostPort,
      priv: m.containerPort,
      proto: m.protocol,
    });
    seen.add(`${m.containerPort}/${m.protocol}`);
  }
  for (const k of Object.keys(c.config.ExposedPorts ?? {})) {
    const [port, proto = 'tcp'] = k.split('/');
    if (!seen.has(k)) ports.push({ ip: '', pub: 0, priv: Number(port), proto });
  }
  const cmp = (a: string | number, b: string | number) => (a < b ? -1 : a > b ? 1 : 0);
  ports.sort((a, b) => cmp(a.priv, b.priv) || cmp(a.ip, b.ip) || cmp(a.pub, b.pub) || cmp(a.proto, b.proto));
  const hostPort = (ip: string, port: string) => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);
  const form = (g: { ip: string; proto: string; first: number; last: number }) => {
    const range = g.first === g.last ? `${g.first}` : `${g.first}-${g.last}`;
    return `${g.ip ? `${hostPort(g.ip, range)}->${range}` : range}/${g.proto}`;
  };
  const groups = new Map<string, { ip: string; proto: string; first: number; last: number }>();
  const result: string[] = [];
  const mappings: string[] = [];
  for (const p of ports) {
    if (p.ip && p.pub !== p.priv) {
      mappings.push(`${hostPort(p.ip, String(p.pub))}->${p.priv}/${p.proto}`);
      continue;
    }
    const key = `${p.ip}/${p.proto}`;
    const g = groups.get(key);
    if (g && p.priv === g.last + 1) g.last = p.priv;
    else {
      // As the CLI does, a closed group is listed now and the group's key keeps its first place for the last one.
      if (g) result.push(form(g));
      const next = { ip: p.ip, proto: p.proto, first: p.priv, last: p.priv };
      if (g) Object.assign(g, next);
      else groups.set(key, next);
    }
  }
  for (const g of groups.values()) result.push(form(g));
  return [...result, ...mappings].join(', ');
}

/** Docker's COMMAND column: quoted, cut to 20 characters with an ellipsis unless --no-trunc. */
export function commandText(c: ObservedContainer, trunc: boolean): string {
  // dockerd's list: an argument with a space in it is shown in single quotes (`/bin/sh -c 'echo a b'`).
  const cmd = [c.path, ...c.args.map((a) => (a.includes(' ') ? `'${a}'` : a))].join(' ');
  return `"${trunc ? ellipsis(cmd, 20) : cmd}"`;
}

/** Docker's `container inspect` shape. */
export function inspectContainer(
  c: ObservedContainer,
  extra: {
    graphDriver: { Name: string; Data: Record<string, string> };
    logPath: string;
    resolvConf: string;
    hostname: string;
    hosts: string;
  },
): Record<string, unknown> {
  const zero = '0001-01-01T00:00:00Z';
  const net = c.running ? c.network : undefined;
  const ports: Record<string, Array<{ HostIp: string; HostPort: string }> | null> = {};
  for (const k of listsPorts(c) ? Object.keys(c.config.ExposedPorts ?? {}) : []) ports[k] = null;
  for (const m of listsPorts(c) ? listedPortMappings(net?.ports ?? [], net?.proxyPid) : []) {
    const k = `${m.containerPort}/${m.protocol}`;
    ports[k] ??= [];
    ports[k].push({ HostIp: m.hostIP === '' ? '0.0.0.0' : m.hostIP, HostPort: String(m.hostPort) });
  }
  const portBindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const m of c.hostConfig.PortBindings) {
    const k = `${m.containerPort}/${m.protocol}`;
    portBindings[k] ??= [];
    portBindings[k].push({ HostIp: m.hostIP, HostPort: m.hostPort ? String(m.hostPort) : '' });
  }
  const bridge = c.hostConfig.NetworkMode === 'bridge';
  const endpoint = {
    IPAMConfig: c.hostConfig.Addressing ?? null,
    Links: null,
    Aliases: null,
    NetworkID: c.hostConfig.NetworkMode,
    EndpointID: net?.ip ? c.id : '',
    Gateway: net?.gateway ?? '',
    IPAddress: net?.ip ?? '',
    IPPrefixLen: net?.prefixLength ?? 0,
    IPv6Gateway: '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    MacAddress: net?.mac ?? '',
    DriverOpts: null,
  };
  return {
    Id: c.id,
    Created: c.created,
    Path: c.path,
    Args: c.args,
    State: {
      Status: c.status,
      Running: c.running,
      Paused: c.status === 'paused',
      Restarting: c.status === 'restarting',
      OOMKilled: c.state.oomKilled === true,
      Dead: c.status === 'dead',
      Pid: c.running ? (c.state.pid ?? 0) : 0,
      ExitCode: c.state.exitCode,
      Error: c.state.error ?? '',
      StartedAt: c.state.startedAt ?? zero,
      FinishedAt: c.state.finishedAt ?? zero,
      ...(c.health ? { Health: c.health } : {}),
    },
    Image: c.imageId,
    ResolvConfPath: extra.resolvConf,
    HostnamePath: extra.hostname,
    HostsPath: extra.hosts,
    // Docker's local driver keeps its file to itself (LogPath ''); Wharf's local is json-file inside, named so too.
    LogPath: (c.hostConfig.LogConfig?.Type ?? 'json-file') === 'json-file' ? extra.logPath : '',
    Name: `/${c.name}`,
    RestartCount: c.restartCount,
    Driver: extra.graphDriver.Name,
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: null,
    HostConfig: {
      Binds: c.hostConfig.Binds.length ? c.hostConfig.Binds : null,
      ContainerIDFile: c.hostConfig.ContainerIDFile ?? '',
      LogConfig: c.hostConfig.LogConfig ?? { Type: 'json-file', Config: {} },
      NetworkMode: c.hostConfig.NetworkMode === 'bridge' ? 'default' : c.hostConfig.NetworkMode,
      PortBindings: portBindings,
      RestartPolicy: c.hostConfig.RestartPolicy ?? { Name: 'no', MaximumRetryCount: 0 },
      AutoRemove: c.hostConfig.AutoRemove,
      VolumeDriver: c.hostConfig.VolumeDriver ?? '',
      VolumesFrom: c.hostConfig.VolumesFrom.length ? c.hostConfig.VolumesFrom : null,
      CapAdd: c.hostConfig.CapAdd.length ? c.hostConfig.CapAdd : null,
      CapDrop: c.hostConfig.CapDrop.length ? c.hostConfig.CapDrop : null,
      Dns: c.hostConfig.Dns,
      ExtraHosts: c.hostConfig.ExtraHosts.length ? c.hostConfig.ExtraHosts : null,
      // Docker leaves Init and Mounts out when they are not set (omitempty).
      ...(c.hostConfig.Init ? { Init: true } : {}),
      Cgroup: '',
      Links: c.hostConfig.Links?.length ? c.hostConfig.Links : null,
      Privileged: c.hostConfig.Privileged,
      PublishAllPorts: c.hostConfig.PublishAllPorts,
      ReadonlyRootfs: c.hostConfig.ReadonlyRootfs,
      ShmSize: c.hostConfig.ShmSize,
      Runtime: c.hostConfig.Runtime ?? 'runc',
      Memory: c.hostConfig.Memory,
      NanoCpus: c.hostConfig.NanoCpus,
      ConsoleSize: [0, 0],
      Isolation: '',
      ...inspectResources(c.hostConfig),
      ...runModesShape(c),
      ...maskedPathsShape(c),
    },
    GraphDriver: extra.graphDriver,
    Mounts: c.mounts.map((m) => ({
      Type: m.Type,
      ...(m.Name ? { Name: m.Name } : {}),
      Source: m.Source,
      Destination: m.Destination,
      ...(m.Type === 'volume' ? { Driver: 'local' } : {}),
      Mode: m.Mode,
      RW: m.RW,
      Propagation: m.Propagation,
    })),
    Config: {
      Hostname: c.config.Hostname ?? '',
      Domainname: c.config.Domainname ?? '',
      User: c.config.User ?? '',
      AttachStdin: c.config.AttachStdin ?? false,
      AttachStdout: c.config.AttachStdout ?? false,
      AttachStderr: c.config.AttachStderr ?? false,
      ...(c.config.ExposedPorts ? { ExposedPorts: c.config.ExposedPorts } : {}),
      Tty: c.config.Tty ?? false,
      OpenStdin: c.config.OpenStdin ?? false,
      StdinOnce: c.config.StdinOnce ?? false,
      Env: c.config.Env ?? null,
      Cmd: c.config.Cmd ?? null,
      ...(c.config.Healthcheck ? { Healthcheck: c.config.Healthcheck } : {}),
      Image: c.config.Image ?? '',
      Volumes: c.config.Volumes ?? null,
      WorkingDir: c.config.WorkingDir ?? '',
      Entrypoint: c.config.Entrypoint ?? null,
      OnBuild: c.config.OnBuild ?? null,
      Labels: c.config.Labels ?? {},
      ...(c.config.StopSignal ? { StopSignal: c.config.StopSignal } : {}),
      ...(c.config.StopTimeout !== undefined ? { StopTimeout: c.config.StopTimeout } : {}),
      ...(c.config.MacAddress ? { MacAddress: c.config.MacAddress } : {}),
    },
    NetworkSettings: {
      Bridge: '',
      SandboxID: net?.netnsName ?? '',
      HairpinMode: false,
      LinkLocalIPv6Address: '',
      LinkLocalIPv6PrefixLen: 0,
      Ports: ports,
      SandboxKey: net?.netnsPath ?? '',
      SecondaryIPAddresses: null,
      SecondaryIPv6Addresses: null,
      // The default network's endpoint again, as dockerd (API < 1.44) repeats it at the top.
      EndpointID: endpoint.EndpointID,
      Gateway: endpoint.Gateway,
      GlobalIPv6Address: '',
      GlobalIPv6PrefixLen: 0,
      IPAddress: endpoint.IPAddress,
      IPPrefixLen: endpoint.IPPrefixLen,
      IPv6Gateway: '',
      MacAddress: endpoint.MacAddress,
      Networks: c.networks
        ? { ...(bridge ? { bridge: endpoint } : {}), ...userEndpoints(c, net) }
        : { [bridge ? 'bridge' : c.hostConfig.NetworkMode]: endpoint },
    },
  };
}

/** The /proc and /sys paths the container cannot see or write: none when privileged or `systempaths=unconfined`. */
function maskedPathsShape(c: ObservedContainer): { MaskedPaths: string[] | null; ReadonlyPaths: string[] | null } {
  const unmasked =
    c.hostConfig.Privileged ||
    (c.hostConfig.SecurityOpt ?? []).some((o) => o.replace(':', '=') === 'systempaths=unconfined');
  return unmasked
    ? { MaskedPaths: null, ReadonlyPaths: null }
    : { MaskedPaths: [...MASKED_PATHS], ReadonlyPaths: [...READONLY_PATHS] };
}

/** HostConfig's namespace, security and DNS fields (issue 12) with dockerd's values for a container without them. */
function runModesShape(c: ObservedContainer): Record<string, unknown> {
  const hc = c.hostConfig;
  return {
    IpcMode: hc.IpcMode ?? 'private',
    PidMode: hc.PidMode ?? '',
    UTSMode: hc.UTSMode ?? '',
    UsernsMode: hc.UsernsMode ?? '',
    ...(hc.Sysctls ? { Sysctls: hc.Sysctls } : {}),
    ...(hc.Tmpfs ? { Tmpfs: hc.Tmpfs } : {}),
    GroupAdd: hc.GroupAdd?.length ? hc.GroupAdd : null,
    DnsSearch: hc.DnsSearch ?? [],
    DnsOptions: hc.DnsOptions ?? [],
    SecurityOpt: hc.SecurityOpt?.length ? hc.SecurityOpt : null,
    ...(hc.Annotations ? { Annotations: hc.Annotations } : {}),
  };
}

/** The container's endpoints on user-defined networks, in Docker's EndpointSettings shape (addresses while it runs). */
function userEndpoints(c: ObservedContainer, net: ObservedContainer['network']): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, cfg] of Object.entries(c.networks ?? {})) {
    const ep = net?.endpoints?.find((e) => e.networkId === cfg.NetworkID);
    out[name] = {
      IPAMConfig: cfg.IPAMConfig ?? null,
      Links: null,
      Aliases: cfg.Aliases ?? null,
      MacAddress: ep?.mac ?? '',
      DriverOpts: null,
      NetworkID: cfg.NetworkID,
      EndpointID: ep ? `${c.id.slice(0, 32)}${cfg.NetworkID.slice(0, 32)}` : '',
      Gateway: ep?.gateway ?? '',
      IPAddress: ep?.ip ?? '',
      IPPrefixLen: ep?.prefixLength ?? 0,
      IPv6Gateway: ep?.gateway6 ?? '',
      GlobalIPv6Address: ep?.ip6 ?? '',
      GlobalIPv6PrefixLen: ep?.prefixLength6 ?? 0,
      DNSNames: ep ? [c.name.replace(/^\//, ''), ...(cfg.Aliases ?? []), c.id.slice(0, 12)] : null,
    };
  }
  return out;
}
