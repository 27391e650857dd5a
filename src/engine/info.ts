import type * as Crypto from 'node:crypto';
import { existsSync, readFileSync, statfsSync } from 'node:fs';
import type * as Os from 'node:os';
import { listImages } from '../image/index.js';
import { findInitBinary } from '../runtime/index.js';
import { lazyBuiltin, run } from '../util/index.js';
import type { Wharf } from './wharf.js';

// Loaded by `info` alone: every verb that opens the engine loads this module, and node:crypto costs ~3 ms to load.
const crypto = lazyBuiltin<typeof Crypto>('node:crypto');
const osModule = lazyBuiltin<typeof Os>('node:os');

export interface InfoOptions {
  /** The version the caller reports as the server's (the CLI's package version). */
  serverVersion: string;
  /** Registries the caller treats as insecure, beyond the loopback ranges every client allows. */
  insecureRegistries: readonly string[];
}

/** statfs(2) f_type → the name Docker's info gives the backing file system (moby pkg/fsutils, graphdriver). */
const FS_NAMES: Record<number, string> = {
  61267: 'extfs',
  1481003842: 'xfs',
  2435016766: 'btrfs',
  16914836: 'tmpfs',
  2035054128: 'overlayfs',
  801189825: 'zfs',
  26985: 'nfs',
  4076150800: 'f2fs',
  2240043254: 'ramfs',
};

/** The first line of a program's `--version` that matches, or undefined when it cannot run. */
export async function versionLine(binary: string, re: RegExp): Promise<string | undefined> {
  const r = await run(binary, ['--version'], { check: false }).catch(() => undefined);
  return r?.code === 0 ? re.exec(r.stdout)?.[1] : undefined;
}

/**
 * `info`'s facts, in the field names of Docker's /info (system.Info) so that `--format '{{.Images}}'` and
 * `{{json .}}` read as Docker's do; only what is true for Wharf (no daemon, no swarm, no containerd).
 */
export async function collectInfo(w: Wharf, opts: InfoOptions): Promise<Record<string, unknown>> {
  const containers = await w.containers.list();
  const count = (s: string) => containers.filter((c) => c.status === s).length;
  const running = count('running');
  const paused = count('paused');
  let backing = '<unknown>';
  try {
    const t = statfsSync(w.root).type;
    backing = FS_NAMES[t] ?? `<unknown> (0x${t.toString(16)})`;
  } catch {
    /* not stat-able: unknown */
  }
  const driver = w.snapshots.differ.driverName;
  const runcBin = 'runc';
  const initBin = await findInitBinary();
  const osRelease = (() => {
    try {
      return readFileSync('/etc/os-release', 'utf8');
    } catch {
      return '';
    }
  })();
  const osField = (k: string) => new RegExp(`^${k}="?([^"\\n]*)"?$`, 'm').exec(osRelease)?.[1] ?? '';
  const insecure = ['::1/128', '127.0.0.0/8', ...opts.insecureRegistries.filter((r) => r !== '')];
  return {
    ID: w.db.initSetting('engine-id', crypto().randomUUID()),
    Containers: containers.length,
    ContainersRunning: running,
    ContainersPaused: paused,
    ContainersStopped: containers.length - running - paused,
    Images: new Set(listImages(w.images).map((r) => r.id)).size,
    Driver: driver,
    DriverStatus:
      driver === 'overlay2'
        ? [
            ['Backing Filesystem', backing],
            ['Supports d_type', 'true'],
            ['Using metacopy', 'false'],
            ['Native Overlay Diff', 'true'],
            ['userxattr', 'false'],
          ]
        : [['Backing Filesystem', backing]],
    Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'none'], Authorization: null, Log: ['json-file'] },
    MemoryLimit: true,
    SwapLimit: true,
    CpuCfsPeriod: true,
    CpuCfsQuota: true,
    OomKillDisable: false,
    IPv4Forwarding: true,
    Debug: false,
    LoggingDriver: 'json-file',
    CgroupDriver: 'cgroupfs',
    CgroupVersion: existsSync('/sys/fs/cgroup/cgroup.controllers') ? '2' : '1',
    KernelVersion: osModule().release(),
    OperatingSystem: osField('PRETTY_NAME') || 'Linux',
    OSVersion: osField('VERSION_ID'),
    OSType: 'linux',
    Architecture: osModule().machine(),
    IndexServerAddress: 'https://index.docker.io/v1/',
    RegistryConfig: { InsecureRegistryCIDRs: insecure.filter((r) => r.includes('/')), IndexConfigs: {} },
    InsecureRegistries: insecure,
    NCPU: osModule().availableParallelism(),
    MemTotal: osModule().totalmem(),
    DockerRootDir: w.root,
    Name: osModule().hostname(),
    Labels: [],
    ExperimentalBuild: false,
    ServerVersion: opts.serverVersion,
    Runtimes: { runc: { path: runcBin } },
    DefaultRuntime: 'runc',
    Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '' },
    // Containers never depend on a Wharf process: each has its own monitor.
    LiveRestoreEnabled: true,
    Isolation: '',
    InitBinary: initBin ? 'docker-init' : '',
    RuncCommit: { ID: (await versionLine(runcBin, /^commit: (.*)$/m)) ?? 'N/A' },
    InitCommit: { ID: initBin ? ((await versionLine(initBin, /version ([^\s]+)/)) ?? 'N/A') : 'N/A' },
    // Every container gets Docker's default seccomp profile unless privileged or `seccomp=unconfined` (docs/security.md).
    // And `name=userns` under `userns-remap`, as dockerd lists it when it remaps.
    SecurityOptions: ['name=seccomp,profile=builtin', ...(w.usernsRemap ? ['name=userns'] : [])],
    Warnings: null,
  };
}
