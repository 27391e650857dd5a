import type { ConnectOptions, CreateOptions } from '../container/index.js';
import type { HealthConfig } from '../oci/index.js';
import { WharfError } from '../errors/index.js';

/** The parts of Docker's POST /containers/create body (container.Config + HostConfig) that Wharf reads. */
export interface CreateBody {
  Hostname?: string;
  Domainname?: string;
  User?: string;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  ExposedPorts?: Record<string, unknown> | null;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  Env?: string[] | null;
  Cmd?: string[] | string | null;
  Healthcheck?: HealthConfigBody | null;
  Image?: string;
  WorkingDir?: string;
  Entrypoint?: string[] | string | null;
  MacAddress?: string;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  StopTimeout?: number | null;
  HostConfig?: HostConfigBody | null;
  NetworkingConfig?: { EndpointsConfig?: Record<string, EndpointBody | null> | null } | null;
}

/** Docker's EndpointSettings as a create or a connect sends it (the parts Wharf reads). */
export interface EndpointBody {
  Aliases?: string[] | null;
  Links?: string[] | null;
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string } | null;
}

/** Docker's HealthConfig as clients send it: docker-py sends the fields it was not given as null. */
type HealthConfigBody = { [K in keyof HealthConfig]?: HealthConfig[K] | null };

/**
 * The health check as dockerd decodes it: null is Go's zero value and, like a zero, means "inherit the image's" (the
 * fields are `omitempty`, so they are not stored either).
 */
function healthcheckOf(h: HealthConfigBody): HealthConfig {
  const out: HealthConfig = {};
  if (h.Test?.length) out.Test = h.Test;
  for (const k of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries'] as const) {
    const v = h[k];
    if (typeof v === 'number' && v !== 0) out[k] = v;
  }
  return out;
}

interface HostConfigBody {
  Binds?: string[] | null;
  NetworkMode?: string;
  PortBindings?: Record<string, Array<{ HostIp?: string; HostPort?: string }> | null> | null;
  RestartPolicy?: { Name?: string; MaximumRetryCount?: number } | null;
  AutoRemove?: boolean;
  VolumesFrom?: string[] | null;
  CapAdd?: string[] | null;
  CapDrop?: string[] | null;
  Dns?: string[] | null;
  DnsOptions?: string[] | null;
  DnsSearch?: string[] | null;
  ExtraHosts?: string[] | null;
  Links?: string[] | null;
  GroupAdd?: string[] | null;
  IpcMode?: string;
  PidMode?: string;
  UTSMode?: string;
  UsernsMode?: string;
  Privileged?: boolean;
  PublishAllPorts?: boolean;
  ReadonlyRootfs?: boolean;
  SecurityOpt?: string[] | null;
  Tmpfs?: Record<string, string> | null;
  ShmSize?: number;
  Sysctls?: Record<string, string> | null;
  Memory?: number;
  NanoCpus?: number;
  Init?: boolean | null;
  LogConfig?: { Type?: string; Config?: Record<string, string> | null } | null;
  Annotations?: Record<string, string> | null;
  Mounts?: Array<{ Type?: string; Source?: string; Target?: string; ReadOnly?: boolean }> | null;
}

const list = (v: string[] | null | undefined): string[] => v ?? [];

/**
 * The JSON type each key Wharf reads must have, as Go's decoder holds dockerd's create body to its struct types: `s`
 * string, `b` bool, `n` number, `S` []string, `M` map[string]string, `W` []string or one string (strslice), `O` any
 * object, a nested shape, or `[shape]` for a list of them. null is every type's zero value, as in Go.
 */
type Shape = 's' | 'b' | 'n' | 'S' | 'M' | 'W' | 'O' | { [key: string]: Shape } | [Shape];
const HOST_CONFIG_SHAPE: Shape = {
  ...Object.fromEntries(
    [
      'Binds',
      'VolumesFrom',
      'CapAdd',
      'CapDrop',
      'Dns',
      'DnsOptions',
      'DnsSearch',
      'ExtraHosts',
      'Links',
      'GroupAdd',
      'SecurityOpt',
    ].map((k) => [k, 'S']),
  ),
  ...Object.fromEntries(['NetworkMode', 'IpcMode', 'PidMode', 'UTSMode', 'UsernsMode'].map((k) => [k, 's'])),
  ...Object.fromEntries(['AutoRemove', 'Privileged', 'PublishAllPorts', 'ReadonlyRootfs', 'Init'].map((k) => [k, 'b'])),
  ...Object.fromEntries(['ShmSize', 'Memory', 'NanoCpus'].map((k) => [k, 'n'])),
  ...Object.fromEntries(['Tmpfs', 'Sysctls', 'Annotations'].map((k) => [k, 'M'])),
  PortBindings: 'O',
  RestartPolicy: { Name: 's', MaximumRetryCount: 'n' },
  LogConfig: { Type: 's', Config: 'M' },
  Mounts: [{ Type: 's', Source: 's', Target: 's', ReadOnly: 'b' }],
};
const CREATE_BODY_SHAPE: Shape = {
  ...Object.fromEntries(
    ['Hostname', 'Domainname', 'User', 'Image', 'WorkingDir', 'MacAddress', 'StopSignal'].map((k) => [k, 's']),
  ),
  ...Object.fromEntries(
    ['AttachStdin', 'AttachStdout', 'AttachStderr', 'Tty', 'OpenStdin', 'StdinOnce'].map((k) => [k, 'b']),
  ),
  Env: 'S',
  Cmd: 'W',
  Entrypoint: 'W',
  Labels: 'M',
  ExposedPorts: 'O',
  Healthcheck: { Test: 'W', Interval: 'n', Timeout: 'n', StartPeriod: 'n', StartInterval: 'n', Retries: 'n' },
  StopTimeout: 'n',
  HostConfig: HOST_CONFIG_SHAPE,
  NetworkingConfig: { EndpointsConfig: 'O' },
};
const ENDPOINT_SHAPE: Shape = { Aliases: 'S', Links: 'S', IPAMConfig: { IPv4Address: 's', IPv6Address: 's' } };

const GO_TYPES: Record<string, string> = {
  s: 'string',
  b: 'bool',
  n: 'int64',
  S: '[]string',
  M: 'map[string]string',
  W: 'strslice.StrSlice',
  O: 'object',
};
const jsonKind = (v: unknown): string =>
  Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v === 'object' ? 'object' : typeof v;

function checkShape(v: unknown, shape: Shape, where: string): void {
  if (v === null || v === undefined) return;
  const isObject = typeof v === 'object' && !Array.isArray(v);
  const fits =
    shape === 's'
      ? typeof v === 'string'
      : shape === 'b'
        ? typeof v === 'boolean'
        : shape === 'n'
          ? typeof v === 'number'
          : shape === 'S'
            ? Array.isArray(v) && v.every((x) => typeof x === 'string')
            : shape === 'W'
              ? typeof v === 'string' || (Array.isArray(v) && v.every((x) => typeof x === 'string'))
              : shape === 'M'
                ? isObject && Object.values(v as object).every((x) => typeof x === 'string')
                : shape === 'O'
                  ? isObject
                  : Array.isArray(shape)
                    ? Array.isArray(v)
                    : isObject;
  if (!fits) {
    const type = typeof shape === 'string' ? GO_TYPES[shape] : Array.isArray(shape) ? 'array' : 'object';
    throw new WharfError(
      'INVALID_ARGUMENT',
      `json: cannot unmarshal ${jsonKind(v)} into Go struct field ${where} of type ${type}`,
    );
  }
  if (Array.isArray(shape)) for (const [i, x] of (v as unknown[]).entries()) checkShape(x, shape[0], `${where}[${i}]`);
  else if (typeof shape === 'object')
    for (const [k, s] of Object.entries(shape))
      checkShape((v as Record<string, unknown>)[k], s, where ? `${where}.${k}` : k);
}

/** The body as CreateBody once each key Wharf reads has its type (a 400, as dockerd's, rather than a crash later). */
export function checkCreateBody(body: unknown): CreateBody {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new WharfError(
      'INVALID_ARGUMENT',
      `json: cannot unmarshal ${jsonKind(body)} into Go value of type container.CreateRequest`,
    );
  checkShape(body, CREATE_BODY_SHAPE, '');
  // PortBindings: {"80/tcp": [{"HostIp": "", "HostPort": "8080"}] | null}
  for (const [port, bindings] of Object.entries(((body as CreateBody).HostConfig?.PortBindings ?? {}) as object))
    checkShape(bindings, [{ HostIp: 's', HostPort: 's' }], `HostConfig.PortBindings[${JSON.stringify(port)}]`);
  for (const [net, ep] of Object.entries(((body as CreateBody).NetworkingConfig?.EndpointsConfig ?? {}) as object))
    checkShape(ep, ENDPOINT_SHAPE, `NetworkingConfig.EndpointsConfig[${JSON.stringify(net)}]`);
  return body as CreateBody;
}

/** A `--mount` spec for one HostConfig.Mounts entry (the library parses the CLI's form). */
function mountSpec(m: NonNullable<HostConfigBody['Mounts']>[number]): string {
  const parts = [`type=${m.Type ?? 'volume'}`];
  if (m.Source) parts.push(`source=${m.Source}`);
  if (!m.Target) throw new WharfError('INVALID_ARGUMENT', 'invalid mount config: Target must not be empty');
  parts.push(`target=${m.Target}`);
  if (m.ReadOnly) parts.push('readonly');
  return parts.join(',');
}

/** `-p` specs for HostConfig.PortBindings (`{"80/tcp":[{"HostIp":"","HostPort":"18080"}]}` → `18080:80/tcp`). */
function publishSpecs(b: HostConfigBody['PortBindings']): string[] {
  const out: string[] = [];
  for (const [port, bindings] of Object.entries(b ?? {})) {
    for (const x of bindings ?? [{}]) {
      const ip = x.HostIp ?? '';
      const hostIp = ip.includes(':') ? `[${ip}]` : ip;
      out.push(hostIp ? `${hostIp}:${x.HostPort ?? ''}:${port}` : x.HostPort ? `${x.HostPort}:${port}` : port);
    }
  }
  return out;
}

/**
 * NetworkingConfig.EndpointsConfig split as the create uses it: the endpoint of the network mode (by its key) goes into the create's options; the others are connected after the create, as dockerd
 * (API 1.44+) connects them. Keys are network names or IDs.
 */
export function endpointsOf(
  body: CreateBody,
  mode: string,
): { primary?: EndpointBody; others: Array<[string, EndpointBody]> } {
  const all = Object.entries(body.NetworkingConfig?.EndpointsConfig ?? {}).map(
    ([k, v]) => [k, v ?? {}] as [string, EndpointBody],
  );
  const mine = all.find(([k]) => k === mode || (mode === 'bridge' && k === 'default'));
  return { ...(mine ? { primary: mine[1] } : {}), others: all.filter((e) => e !== mine) };
}

/** An endpoint's aliases and addresses as the library's `connect` takes them. */
export function connectOptionsOf(ep: EndpointBody): ConnectOptions {
  const ipam = ep.IPAMConfig;
  return {
    ...(ep.Aliases?.length ? { aliases: ep.Aliases } : {}),
    ...(ipam?.IPv4Address ? { ipv4Address: ipam.IPv4Address } : {}),
    ...(ipam?.IPv6Address ? { ipv6Address: ipam.IPv6Address } : {}),
  };
}

/** The network mode of a create body: dockerd's `default` (or none) is the bridge. */
export function networkModeOf(body: CreateBody): string {
  const m = body.HostConfig?.NetworkMode;
  return m === undefined || m === '' || m === 'default' ? 'bridge' : m;
}

/**
 * Docker's create body → the library's CreateOptions, with Docker's defaults (a `Cmd` of null is the image's, the
 * network `default` is the bridge). Keys Wharf does not know are ignored, as dockerd ignores keys newer than the
 * API version it speaks.
 */
export function createOptionsFromBody(input: unknown, name: string | undefined): CreateOptions {
  const body = checkCreateBody(input);
  if (!body.Image) throw new WharfError('INVALID_ARGUMENT', 'No image specified');
  const hc = body.HostConfig ?? {};
  const asList = (v: string[] | string | null | undefined) => (v == null ? undefined : typeof v === 'string' ? [v] : v);
  const entry = asList(body.Entrypoint);
  let command = asList(body.Cmd) ?? [];
  // The library keeps one entrypoint word (`--entrypoint`); the rest of a longer one goes before the command.
  if (entry && entry.length > 1) command = [...entry.slice(1), ...command];
  const mode = networkModeOf(body);
  const { primary } = endpointsOf(body, mode);
  const endpoint = connectOptionsOf(primary ?? {});
  const links = [...new Set([...list(hc.Links), ...list(primary?.Links)])];
  return {
    image: body.Image,
    command,
    ...(name ? { name } : {}),
    ...(entry ? { entrypoint: entry[0] ?? '' } : {}),
    env: list(body.Env),
    ...(body.WorkingDir ? { workdir: body.WorkingDir } : {}),
    ...(body.User ? { user: body.User } : {}),
    ...(body.Hostname ? { hostname: body.Hostname } : {}),
    ...(body.Domainname ? { domainname: body.Domainname } : {}),
    labels: body.Labels ?? {},
    volumes: list(hc.Binds),
    mounts: (hc.Mounts ?? []).map(mountSpec),
    volumesFrom: list(hc.VolumesFrom),
    publish: publishSpecs(hc.PortBindings),
    publishAll: hc.PublishAllPorts === true,
    network: mode as CreateOptions['network'] & string,
    ...(endpoint.aliases ? { networkAliases: endpoint.aliases } : {}),
    ...(endpoint.ipv4Address ? { ipv4Address: endpoint.ipv4Address } : {}),
    ...(endpoint.ipv6Address ? { ipv6Address: endpoint.ipv6Address } : {}),
    tty: body.Tty === true,
    openStdin: body.OpenStdin === true,
    attachStdin: body.AttachStdin === true,
    attachStdout: body.AttachStdout === true,
    attachStderr: body.AttachStderr === true,
    expose: Object.keys(body.ExposedPorts ?? {}),
    readOnly: hc.ReadonlyRootfs === true,
    privileged: hc.Privileged === true,
    capAdd: list(hc.CapAdd),
    capDrop: list(hc.CapDrop),
    ...(hc.Memory ? { memory: hc.Memory } : {}),
    ...(hc.NanoCpus ? { cpus: hc.NanoCpus / 1e9 } : {}),
    init: hc.Init === true,
    autoRemove: hc.AutoRemove === true,
    extraHosts: list(hc.ExtraHosts),
    ...(links.length ? { links } : {}),
    dns: list(hc.Dns),
    dnsSearch: list(hc.DnsSearch),
    dnsOptions: list(hc.DnsOptions),
    groupAdd: list(hc.GroupAdd),
    ...(body.StopSignal ? { stopSignal: body.StopSignal } : {}),
    ...(typeof body.StopTimeout === 'number' ? { stopTimeout: body.StopTimeout } : {}),
    ...(hc.ShmSize ? { shmSize: hc.ShmSize } : {}),
    ...(hc.RestartPolicy?.Name
      ? { restartPolicy: { Name: hc.RestartPolicy.Name, MaximumRetryCount: hc.RestartPolicy.MaximumRetryCount ?? 0 } }
      : {}),
    ...(body.Healthcheck ? { healthcheck: healthcheckOf(body.Healthcheck) } : {}),
    ...(hc.IpcMode ? { ipc: hc.IpcMode } : {}),
    ...(hc.PidMode ? { pid: hc.PidMode } : {}),
    ...(hc.UTSMode ? { uts: hc.UTSMode } : {}),
    ...(hc.UsernsMode ? { userns: hc.UsernsMode } : {}),
    sysctls: hc.Sysctls ?? {},
    tmpfs: hc.Tmpfs ?? {},
    ...(body.MacAddress ? { macAddress: body.MacAddress } : {}),
    annotations: hc.Annotations ?? {},
    securityOpt: list(hc.SecurityOpt),
    ...(hc.LogConfig?.Type ? { logDriver: hc.LogConfig.Type } : {}),
    logOpts: hc.LogConfig?.Config ?? {},
  };
}
