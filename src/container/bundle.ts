import { readFileSync, writeFileSync } from 'node:fs';
import { resolveInRootSync } from '../archive/index.js';
import {
  DEFAULT_GATEWAY,
  exposedPortMappings,
  networkAttachment,
  parseAddHost,
  setupNetwork,
  type NetworkSetup,
} from '../network/index.js';
import {
  ALL_CAPABILITIES,
  buildSpec,
  findInitBinary,
  type MountRequest,
  type OciSpec,
  type SpecOptions,
} from '../runtime/index.js';
import { replaceFileSync } from '../util/index.js';
import type { ContainerPaths } from './paths.js';
import { probeUlimits, resolveBlkioDevices, resolveDevices } from './host-resources.js';
import { resourcesOf } from './resources.js';
import type { ContainerRecord } from './types.js';
import { shortId } from '../digest/index.js';

/**
 * The network of one start: the namespace with its ports and the container's /etc/hosts, resolv.conf and hostname
 * files. A bridge network is recorded at once (`record`), so that a crash from here on still releases it.
 */
export async function startNetwork(
  rec: ContainerRecord,
  p: ContainerPaths,
  record: (net: NetworkSetup) => void,
): Promise<NetworkSetup> {
  const hc = rec.hostConfig;
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
    extraHosts: hc.ExtraHosts.map((h) => parseAddHost(h, DEFAULT_GATEWAY)),
    ...(hc.Dns.length ? { dns: { dns: hc.Dns } } : {}),
  });
  // A bridge network holds host resources (netns, veth, iptables rules). Other modes hold none and are recorded with
  // the start's claim.
  if (net.mode === 'bridge') record(net);
  // The container's name resolves to itself too, as on Docker's user-defined networks.
  const hosts = net.ip && rec.name !== hostname ? `${net.hosts}${net.ip}\t${rec.name}\n` : net.hosts;
  // Three small files: written synchronously, each async write would be four trips through the thread pool.
  writeFileSync(p.hosts, hosts);
  writeFileSync(p.resolvConf, net.resolvConf);
  writeFileSync(p.hostname, `${rec.config.Hostname}\n`);
  return net;
}

/** The OCI runtime spec of one start, written to the bundle's config.json. */
export async function writeBundleSpec(
  rec: ContainerRecord,
  p: ContainerPaths,
  rootfs: string,
  net: NetworkSetup,
  consoleSize: { cols: number; rows: number } | undefined,
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
  const tty = rec.config.Tty === true;
  const spec = buildSpec(
    {
      ...(rec.config.User !== undefined ? { User: rec.config.User } : {}),
      Env: rec.config.Env ?? [],
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
      ...(hc.Memory ? { memory: hc.Memory } : {}),
      ...(hc.NanoCpus ? { cpus: hc.NanoCpus / 1e9 } : {}),
      ...(await resourceSpecOf(rec)),
      shmSize: hc.ShmSize,
      network: networkAttachment(net),
      ...(init ? { init } : {}),
      cgroupsPath: cgroupsPathOf(rec),
      annotations: { 'org.wharf.container.name': rec.name },
    },
  );
  limitToBoundingSet(spec, hostBoundingSet());
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
  rec: ContainerRecord,
): Promise<Pick<SpecOptions, 'memorySwap' | 'cpuShares' | 'pidsLimit' | 'resources'>> {
  const r = resourcesOf(rec.hostConfig);
  return {
    ...(r.MemorySwap && rec.hostConfig.Memory ? { memorySwap: r.MemorySwap } : {}),
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
      devices: resolveDevices(r.Devices),
      deviceCgroupRules: r.DeviceCgroupRules ?? [],
      // Limits the kernel would refuse are left out (create said so in one line): runc would fail the start.
      ulimits: (await probeUlimits(r.Ulimits)).apply.map((u) => ({ name: u.Name, soft: u.Soft, hard: u.Hard })),
      oomScoreAdj: r.OomScoreAdj,
      cgroupnsPrivate: r.CgroupnsMode === 'private',
    },
  };
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
 * container may lack (e.g. CAP_SYS_RESOURCE): `--privileged` gets every capability the host can give.
 */
function limitToBoundingSet(spec: OciSpec, bounding: Set<string> | undefined): void {
  const caps = spec.process.capabilities as Record<string, string[] | undefined> | undefined;
  if (!bounding || !caps) return;
  for (const k of Object.keys(caps)) caps[k] = caps[k]?.filter((c) => bounding.has(c));
}
