import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { resolveInRootSync } from '../archive/index.js';
import {
  DEFAULT_GATEWAY,
  exposedPortMappings,
  networkAttachment,
  parseAddHost,
  proxyRoutes,
  isUserNetworkMode,
  setupNetwork,
  spawnPortProxy,
  startPortProxy,
  teardownNetwork,
  type UserNetworkJoin,
  type NetworkSetup,
} from '../network/index.js';
import { wharfCommand } from './paths.js';
import {
  ALL_CAPABILITIES,
  buildSpec,
  findInitBinary,
  resolveCapabilities,
  hostMaskedPaths,
  seccompFromProfile,
  type MountRequest,
  type OciProcess,
  type SpecOptions,
} from '../runtime/index.js';
import { WharfError, is } from '../errors/index.js';
import { joinedContainer, parseSecurityOpts } from './run-modes.js';
import { replaceFileSync } from '../util/index.js';
import type { ContainerPaths } from './paths.js';
import { hostDevices, probeUlimits, resolveBlkioDevices, resolveDevices } from './host-resources.js';
import { resourcesOf } from './resources.js';
import type { ContainerRecord, HostConfig } from './types.js';
import { shortId } from '../digest/index.js';
import { checkAddressingOnPredefinedNetwork } from './create-checks.js';
import { linkedHosts, type LinkLookup } from './link-env.js';
import { withLinkEnv } from './link-env.js';
import type { ContainerNetworks } from './network-attach.js';

/**
 * The network of one start: the namespace with its ports and the container's /etc/hosts, resolv.conf and hostname
 * files. A bridge network is recorded at once (`record`), so that a crash from here on still releases it.
 */
export async function startNetwork(
  rec: ContainerRecord,
  p: ContainerPaths,
  record: (net: NetworkSetup) => void,
  linked: LinkLookup = () => undefined,
  /** A remapped container's user namespace file (tasks.ts holds it for the run). */
  userns?: string,
  /**
   * Take the IPv6 relay's readiness instead of waiting for it here: the caller starts the container meanwhile (the
   * relay is a Node process, ~100-200 ms to listen) and awaits `ready` before the start returns.
   */
  deferProxy?: (proxy: DeferredProxy) => void,
  /** User-defined networks (their endpoints are made here); none without it. */
  attach?: ContainerNetworks,
): Promise<NetworkSetup> {
  const hc = rec.hostConfig;
  const onUserNetwork = isUserNetworkMode(hc.NetworkMode);
  if (hc.Addressing && !onUserNetwork) checkAddressingOnPredefinedNetwork(hc.Addressing);
  // The user-defined networks' endpoints (addresses taken) before the namespace: a taken `--ip` fails first.
  const joins =
    attach && (onUserNetwork || hc.NetworkMode === 'bridge') && Object.keys(rec.networks ?? {}).length
      ? attach.joinsAtStart(rec)
      : onUserNetwork
        ? []
        : undefined;
  try {
    return await startNetworkWith(rec, p, record, linked, joins, { attach, userns, deferProxy });
  } catch (err) {
    if (joins?.length) attach?.release(rec.id);
    throw err;
  }
}

async function startNetworkWith(
  rec: ContainerRecord,
  p: ContainerPaths,
  record: (net: NetworkSetup) => void,
  linked: LinkLookup,
  joins: UserNetworkJoin[] | undefined,
  more: {
    attach: ContainerNetworks | undefined;
    userns: string | undefined;
    deferProxy: ((proxy: DeferredProxy) => void) | undefined;
  },
): Promise<NetworkSetup> {
  const { attach, userns, deferProxy } = more;
  const hc = rec.hostConfig;
  const donor = joinedContainer(hc.NetworkMode);
  if (donor) return joinedNetwork(rec, p, donor);
  const gateway = joins?.[0] && hc.NetworkMode !== 'bridge' ? joins[0].network.ipv4.gateway : DEFAULT_GATEWAY;
  const links = linkedHosts(rec, linked);
  const ports = [...hc.PortBindings];
  if (hc.PublishAllPorts) {
    const bound = new Set(ports.map((m) => `${m.containerPort}/${m.protocol}`));
    ports.push(
      ...exposedPortMappings(rec.config.ExposedPorts).filter((m) => !bound.has(`${m.containerPort}/${m.protocol}`)),
    );
  }
  const hostname = rec.config.Hostname ?? shortId(rec.id);
  const net = await setupNetwork({
    id: rec.id,
    mode: hc.NetworkMode,
    ports,
    hostname,
    extraHosts: hc.ExtraHosts.map((h) => parseAddHost(h, gateway)),
    ...(joins ? { userNetworks: joins } : {}),
    ...(hc.Dns.length || hc.DnsSearch?.length || hc.DnsOptions?.length
      ? {
          dns: {
            ...(hc.Dns.length ? { dns: hc.Dns } : {}),
            ...(hc.DnsSearch?.length ? { dnsSearch: hc.DnsSearch } : {}),
            ...(hc.DnsOptions?.length ? { dnsOptions: hc.DnsOptions } : {}),
          },
        }
      : {}),
    ...(rec.config.Domainname ? { domainname: rec.config.Domainname } : {}),
    ...(rec.config.MacAddress ? { mac: rec.config.MacAddress } : {}),
    ...(userns ? { userns } : {}),
  });
  // A bridge network holds host resources (netns, veth, iptables rules). Other modes hold none and are recorded with
  // the start's claim.
  if (net.netnsName) {
    try {
      record(net);
    } catch (err) {
      // Not recorded (a database too full to grow): the start's teardown, which goes by the record, would not find
      // it, and the next start would fail on the namespace left behind. Undone here, as it was made.
      await teardownNetwork(rec.id, net).catch(() => {});
      throw err;
    }
  }
  if (joins?.length) attach?.announce(rec.id, undefined, net.endpoints);
  // Docker publishes on both address families: IPv6 through a relay process (network/port-proxy.ts).
  const routes = proxyRoutes(net.ports, net.ip);
  if (routes.length && ipv6Available() && deferProxy) {
    const { pid, ready } = spawnPortProxy(wharfCommand(), rec.id, routes);
    if (pid === undefined) throw new WharfError('INTERNAL', `the IPv6 port proxy of ${rec.id} did not start`);
    net.proxyPid = pid;
    record(net);
    deferProxy({ ready, pid });
  } else if (routes.length && ipv6Available()) {
    const proxy = await startPortProxy(wharfCommand(), rec.id, routes);
    net.proxyPid = proxy.pid;
    net.warnings.push(...proxy.failed.map((f) => `cannot publish on IPv6 ${f}`));
    record(net);
  }
  // The container's name resolves to itself too, as on Docker's user-defined networks.
  // Linked containers by alias, host name and name (Docker's legacy links), on the bridge only, before the container.
  const linkLines = net.ip ? links.map((l) => `${l}\n`).join('') : '';
  const own = net.ip && rec.name !== hostname ? `${net.ip}\t${rec.name}\n` : '';
  const hosts = linkLines ? insertBeforeLastLine(net.hosts, linkLines) + own : net.hosts + own;
  // Three small files: written synchronously, each async write would be four trips through the thread pool.
  writeFileSync(p.hosts, hosts);
  writeFileSync(p.resolvConf, net.resolvConf);
  writeFileSync(p.hostname, `${rec.config.Hostname}\n`);
  return net;
}

/**
 * `--network container:X`: nothing of its own; X's /etc/hosts and resolv.conf (copied at the start: X may go
 * first) and its host name, as Docker gives them. The namespace itself is joined in the spec (namespaceOptions).
 */
function joinedNetwork(rec: ContainerRecord, p: ContainerPaths, donorId: string): NetworkSetup {
  const other = path.join(path.dirname(p.dir), donorId);
  const read = (f: string): string => {
    try {
      return readFileSync(path.join(other, f), 'utf8');
    } catch {
      return '';
    }
  };
  const net: NetworkSetup = {
    id: rec.id,
    mode: rec.hostConfig.NetworkMode,
    ports: [],
    hosts: read('hosts'),
    resolvConf: read('resolv.conf'),
    warnings: [],
  };
  writeFileSync(p.hosts, net.hosts);
  writeFileSync(p.resolvConf, net.resolvConf);
  writeFileSync(p.hostname, read('hostname') || `${rec.config.Hostname}\n`);
  return net;
}

/** A start's IPv6 relay of published ports, spawned by startNetwork, waited for once the container runs. */
export interface DeferredProxy {
  ready: Promise<{ failed: string[] } | undefined>;
  pid: number;
}

/**
 * Wait for a start's relay to listen; what it could not serve becomes warnings on the network record (through
 * `update`, the record's read-modify-write), as when the start waited for it. A relay gone meanwhile with its network
 * (a command that exited at once and was torn down, or removed) is no warning.
 */
export async function relayListening(
  proxy: DeferredProxy,
  update: (fn: (rec: ContainerRecord) => void) => void,
): Promise<void> {
  const r = await proxy.ready;
  const warnings = r
    ? r.failed.map((f) => `cannot publish on IPv6 ${f}`)
    : ['cannot publish on IPv6: the relay did not start'];
  if (!warnings.length) return;
  try {
    update((rec) => {
      if (rec.network?.proxyPid === proxy.pid) rec.network.warnings.push(...warnings);
    });
  } catch (err) {
    if (!is(err, 'NOT_FOUND')) throw err;
  }
}

/** `text` with `insert` before its last line (the container's own, when it has an address). */
function insertBeforeLastLine(text: string, insert: string): string {
  const i = text.lastIndexOf('\n', text.length - 2);
  return text.slice(0, i + 1) + insert + text.slice(i + 1);
}

/** The host PID of a running container named by a `container:X` mode (`what`: IPC or PID, for the messages). */
export type PeerLookup = (
  nameOrId: string,
  what: 'IPC' | 'PID' | 'network',
) => Promise<{ pid: number; ipcMode: string; shm: string }>;

/** The OCI runtime spec of one start, written to the bundle's config.json. */
export async function writeBundleSpec(
  rec: ContainerRecord,
  p: ContainerPaths,
  rootfs: string,
  net: NetworkSetup,
  consoleSize: { cols: number; rows: number } | undefined,
  peer?: PeerLookup,
  /** `--ipc shareable`: the host-side /dev/shm mount (ContainerStore.mountShm). */
  shareableShm?: string,
  /** `--link`s' variables (link-env.ts), under the container's own. */
  linkVars: readonly string[] = [],
): Promise<void> {
  const hc = rec.hostConfig;
  const accounts = readAccountFiles(rootfs);
  const init = hc.Init ? await findInitBinary() : undefined;
  const mounts: MountRequest[] = [...rec.mounts]
    .sort((a, b) => a.Destination.split('/').length - b.Destination.split('/').length)
    .map(
      (m): MountRequest =>
        m.Type === 'tmpfs'
          ? { type: 'tmpfs', destination: m.Destination, ...(m.TmpfsSize ? { size: m.TmpfsSize } : {}) }
          : {
              type: 'bind',
              source: m.Source,
              destination: m.Destination,
              readOnly: !m.RW,
              ...(m.Type === 'bind' && m.Propagation ? { propagation: m.Propagation as 'rprivate' } : {}),
            },
    );
  for (const [destination, options] of Object.entries(hc.Tmpfs ?? {}))
    mounts.push({ type: 'tmpfs', destination, ...(options ? { options: options.split(',') } : {}) });
  const modes = await namespaceOptions(rec, peer);
  if (shareableShm) modes.shm = { bind: shareableShm };
  const tty = rec.config.Tty === true;
  const spec = buildSpec(
    {
      ...(rec.config.User !== undefined ? { User: rec.config.User } : {}),
      Env: withLinkEnv(linkVars, rec.config.Env ?? []),
      Cmd: [rec.path, ...rec.args],
      Entrypoint: null,
      ...(rec.config.WorkingDir !== undefined ? { WorkingDir: rec.config.WorkingDir } : {}),
    },
    {
      rootfs: 'rootfs',
      hostname: rec.config.Hostname ?? shortId(rec.id),
      tty,
      ...(tty && consoleSize ? { consoleSize: { width: consoleSize.cols, height: consoleSize.rows } } : {}),
      ...accounts,
      readOnly: hc.ReadonlyRootfs,
      mounts,
      etcFiles: { hosts: p.hosts, resolvConf: p.resolvConf, hostname: p.hostname },
      capAdd: hc.CapAdd,
      capDrop: hc.CapDrop,
      privileged: hc.Privileged,
      hostMaskedPaths: hostMaskedPaths(),
      ...(hc.Memory ? { memory: hc.Memory } : {}),
      ...(hc.NanoCpus ? { cpus: hc.NanoCpus / 1e9 } : {}),
      ...(await resourceSpecOf(rec.hostConfig)),
      shmSize: hc.ShmSize,
      network: networkAttachment(net),
      ...(init ? { init } : {}),
      cgroupsPath: cgroupsPathOf(rec),
      annotations: { ...hc.Annotations, 'org.wharf.container.name': rec.name },
      ...(hc.Sysctls ? { sysctls: hc.Sysctls } : {}),
      ...(hc.GroupAdd?.length ? { groupAdd: hc.GroupAdd } : {}),
      ...(rec.config.Domainname ? { domainname: rec.config.Domainname } : {}),
      ...(rec.idMap ? { idMap: rec.idMap, usernsPath: p.userns } : {}),
      ...modes,
    },
  );
  limitToHostBoundingSet(spec.process);
  // Written again at every start: no fsync on the start's critical path, and synchronously (a few KB).
  replaceFileSync(p.config, JSON.stringify(spec, null, 2), 0o644);
}

/**
 * The container's cgroup: `/wharf/<id>/ctr`, or `<parent>/<id>/ctr` with `--cgroup-parent` (the monitor watches the
 * per-container parent for OOM kills and removes it at the end).
 */
export function cgroupsPathOf(rec: ContainerRecord): string {
  const parent = (rec.hostConfig.CgroupParent ?? '').replace(/^\/+|\/+$/g, '');
  return `/${parent || 'wharf'}/${rec.id}/ctr`;
}

/** The record's resource settings as buildSpec takes them; host devices are looked up now, as Docker does at start. */
async function resourceSpecOf(
  hc: Partial<HostConfig>,
): Promise<Pick<SpecOptions, 'memorySwap' | 'cpuShares' | 'pidsLimit' | 'resources'>> {
  const r = resourcesOf(hc);
  return {
    ...(r.MemorySwap && hc.Memory ? { memorySwap: r.MemorySwap } : {}),
    ...(r.CpuShares ? { cpuShares: r.CpuShares } : {}),
    ...(r.PidsLimit ? { pidsLimit: r.PidsLimit } : {}),
    resources: {
      cpuPeriod: r.CpuPeriod,
      cpuQuota: r.CpuQuota,
      cpuRealtimePeriod: r.CpuRealtimePeriod,
      cpuRealtimeRuntime: r.CpuRealtimeRuntime,
      cpusetCpus: r.CpusetCpus,
      cpusetMems: r.CpusetMems,
      memoryReservation: r.MemoryReservation,
      ...(r.MemorySwappiness !== null ? { memorySwappiness: r.MemorySwappiness } : {}),
      oomKillDisable: r.OomKillDisable,
      blkioWeight: r.BlkioWeight,
      blkioWeightDevice: resolveBlkioDevices(r.BlkioWeightDevice),
      throttleReadBpsDevice: resolveBlkioDevices(r.BlkioDeviceReadBps),
      throttleWriteBpsDevice: resolveBlkioDevices(r.BlkioDeviceWriteBps),
      throttleReadIOPSDevice: resolveBlkioDevices(r.BlkioDeviceReadIOps),
      throttleWriteIOPSDevice: resolveBlkioDevices(r.BlkioDeviceWriteIOps),
      // --privileged: every host device as well (moby's WithDevices), then the --device ones.
      devices: [...(hc.Privileged ? hostDevices() : []), ...resolveDevices(r.Devices)],
      deviceCgroupRules: r.DeviceCgroupRules ?? [],
      // Limits the kernel would refuse are left out (create said so in one line): runc would fail the start.
      ulimits: (await probeUlimits(r.Ulimits)).apply.map((u) => ({ name: u.Name, soft: u.Soft, hard: u.Hard })),
      oomScoreAdj: r.OomScoreAdj,
      cgroupnsPrivate: r.CgroupnsMode === 'private',
    },
  };
}

/**
 * The namespace and security parts of the spec from HostConfig (issue 12). `container:X` joins X's namespace through
 * /proc/<pid>/ns; for IPC also X's /dev/shm, as Docker shares it, which X must have made shareable.
 */
async function namespaceOptions(rec: ContainerRecord, peer: PeerLookup | undefined): Promise<Partial<SpecOptions>> {
  const hc = rec.hostConfig;
  const out: Partial<SpecOptions> = {};
  const join = async (mode: string | undefined, what: 'IPC' | 'PID' | 'network') => {
    const other = joinedContainer(mode);
    if (other === undefined) return undefined;
    if (!peer) throw new WharfError('UNAVAILABLE', `cannot join ${what} of container ${other} here`);
    return peer(other, what);
  };
  const ipc = hc.IpcMode ?? 'private';
  if (ipc === 'host') {
    out.ipcNamespace = 'host';
    out.shm = { bind: '/dev/shm' };
  } else if (ipc === 'none') out.shm = { none: true };
  else {
    const donor = await join(ipc, 'IPC');
    if (donor) {
      if (donor.ipcMode !== 'shareable' && donor.ipcMode !== 'host')
        throw new WharfError('CONFLICT', 'non-shareable IPC (hint: use IpcMode:shareable for the donor container)');
      out.ipcNamespace = donor.ipcMode === 'host' ? 'host' : { path: `/proc/${donor.pid}/ns/ipc` };
      out.shm = { bind: donor.ipcMode === 'host' ? '/dev/shm' : donor.shm };
    }
  }
  if (hc.PidMode === 'host') out.pidNamespace = 'host';
  else {
    const donor = await join(hc.PidMode, 'PID');
    if (donor) out.pidNamespace = { path: `/proc/${donor.pid}/ns/pid` };
  }
  if (hc.UTSMode === 'host') out.utsNamespace = 'host';
  // `--network container:X`: X's namespace (whatever X's own mode made it), as its process holds it.
  const netDonor = await join(hc.NetworkMode, 'network');
  if (netDonor) out.network = { mode: 'netns', path: `/proc/${netDonor.pid}/ns/net` };
  Object.assign(out, securitySpecOf(hc));
  return out;
}

/** `--security-opt` (and the capabilities a seccomp profile depends on) as buildSpec takes them. */
function securitySpecOf(hc: Partial<HostConfig>): Partial<SpecOptions> {
  const out: Partial<SpecOptions> = {};
  const sec = parseSecurityOpts(hc.SecurityOpt ?? []);
  if (sec.noNewPrivileges) out.noNewPrivileges = true;
  if (sec.unmaskPaths) out.unmaskPaths = true;
  // Unset or `builtin`: buildSpec applies Docker's default profile.
  if (sec.seccomp === 'unconfined') out.seccomp = 'unconfined';
  else if (sec.seccomp !== undefined && sec.seccomp !== 'builtin' && !hc.Privileged) {
    const caps = resolveCapabilities(hc.CapAdd, hc.CapDrop, hc.Privileged);
    out.seccomp = seccompFromProfile(sec.seccomp, caps);
  }
  // As dockerd: an AppArmor profile applies only where AppArmor is enabled; elsewhere the option is ignored.
  if (sec.apparmor && sec.apparmor !== 'unconfined' && appArmorEnabled()) out.apparmorProfile = sec.apparmor;
  return out;
}

/**
 * What the containers of a build's RUN steps get of `build`'s resource and security flags, given as the classic
 * builder's host config holds them (Memory, MemorySwap, CpuShares, CpuPeriod, CpuQuota, CpusetCpus, CpusetMems,
 * Ulimits, ShmSize, SecurityOpt): the same mapping as a container's.
 */
export async function stepSpecOptions(hc: Partial<HostConfig>): Promise<Partial<SpecOptions>> {
  return {
    ...(hc.Memory ? { memory: hc.Memory } : {}),
    ...(await resourceSpecOf(hc)),
    ...(hc.ShmSize ? { shmSize: hc.ShmSize } : {}),
    ...securitySpecOf(hc),
  };
}

/** The host has IPv6 (a disabled stack has no /proc/net/if_inet6 lines). */
function ipv6Available(): boolean {
  try {
    return readFileSync('/proc/net/if_inet6', 'utf8').trim() !== '';
  } catch {
    return false;
  }
}

/** Whether the kernel has AppArmor enabled (it has not on this machine). */
export function appArmorEnabled(): boolean {
  try {
    return readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').trim() === 'Y';
  } catch {
    return false;
  }
}

/**
 * The rootfs's /etc/passwd and /etc/group, each left out when the image has none. Small files, read synchronously:
 * two async reads took ~6 ms of every start in thread-pool trips.
 */
export function readAccountFiles(rootfs: string): { passwd?: string; group?: string } {
  const passwd = readTextInRoot(rootfs, '/etc/passwd');
  const group = readTextInRoot(rootfs, '/etc/group');
  return { ...(passwd !== undefined ? { passwd } : {}), ...(group !== undefined ? { group } : {}) };
}

/**
 * A small text file inside a container's root file system (symlinks resolved within it), or undefined when it
 * cannot be read; a path that cannot be resolved (a symlink loop) is an error.
 */
function readTextInRoot(rootfs: string, file: string): string | undefined {
  const resolved = resolveInRootSync(rootfs, file);
  try {
    return readFileSync(resolved, 'utf8');
  } catch {
    return undefined;
  }
}

/** The capabilities this process may hand on (CapBnd), by name; undefined when unknown. */
function hostBoundingSet(): Set<string> | undefined {
  let status = '';
  try {
    status = readFileSync('/proc/self/status', 'utf8'); // synchronously: a /proc read is microseconds, a pool trip is not
  } catch {
    /* no /proc: leave the capabilities as they are */
  }
  const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status);
  if (!m) return undefined;
  const bits = BigInt(`0x${m[1]}`);
  return new Set(ALL_CAPABILITIES.filter((_, i) => (bits >> BigInt(i)) & 1n));
}

/**
 * runc refuses capabilities outside its own bounding set ("unable to apply caps"), which a host that is itself a
 * container may lack (e.g. CAP_SYS_RESOURCE): `--privileged` (and `exec --privileged`) gets every capability the host
 * can give.
 */
export function limitToHostBoundingSet(proc: OciProcess): void {
  const bounding = hostBoundingSet();
  const caps = proc.capabilities as Record<string, string[] | undefined> | undefined;
  if (!bounding || !caps) return;
  for (const k of Object.keys(caps)) caps[k] = caps[k]?.filter((c) => bounding.has(c));
}
