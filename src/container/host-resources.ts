/**
 * What this host offers for resource settings, read from its cgroup file systems (moby's pkg/sysinfo), and the host
 * lookups a start needs: device numbers for `--device` and the blkio device flags, and whether the kernel will let
 * runc set a `--ulimit` (prlimit() on the container's process).
 */
import { existsSync, lstatSync, readdirSync, readFileSync, statSync, type Dirent } from 'node:fs';
import * as path from 'node:path';
import type * as ChildProcess from 'node:child_process';
import { lazyBuiltin, run } from '../util/index.js';
import type * as Os from 'node:os';
import { WharfError } from '../errors/index.js';
import type { ResolvedDevice } from '../runtime/index.js';
import type { OciBlockIODevice } from '../runtime/index.js';
import type { DeviceMapping, HostResources, ThrottleDevice, Ulimit, WeightDevice } from './resources.js';

// Loaded on first use: every command that opens the engine loads this module, few need these two (~2.5 ms to load).
const childProcess = lazyBuiltin<typeof ChildProcess>('node:child_process');
const os = lazyBuiltin<typeof Os>('node:os');

const read = (file: string): string | undefined => {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
};

/** cgroup v2 alone (unified), or v1/hybrid: what `root` (default /sys/fs/cgroup) is. */
export function cgroupVersion(root = '/sys/fs/cgroup'): 1 | 2 {
  return existsSync(`${root}/cgroup.controllers`) ? 2 : 1;
}

let cached: HostResources | undefined;

/** The host's facts, read once per process. */
export function hostResources(root = '/sys/fs/cgroup'): HostResources {
  if (cached && root === '/sys/fs/cgroup') return cached;
  const ncpu = os().cpus().length || 1;
  const version = cgroupVersion(root);
  let facts: HostResources;
  if (version === 2) {
    const controllers = new Set((read(`${root}/cgroup.controllers`) ?? '').split(/\s+/));
    facts = {
      ncpu,
      cpus: read(`${root}/cpuset.cpus.effective`) ?? `0-${ncpu - 1}`,
      mems: read(`${root}/cpuset.mems.effective`) ?? '0',
      cgroupVersion: 2,
      swapLimit: controllers.has('memory'),
      memoryReservation: controllers.has('memory'),
      swappiness: false,
      oomKillDisable: false,
      cpuCfs: controllers.has('cpu'),
      cpuRealtime: false,
      blkioWeight: controllers.has('io'),
      blkioWeightDevice: controllers.has('io'),
      blkioThrottle: controllers.has('io'),
      pids: controllers.has('pids'),
    };
  } else {
    const has = (f: string) => existsSync(`${root}/${f}`);
    facts = {
      ncpu,
      cpus: read(`${root}/cpuset/cpuset.cpus`) ?? `0-${ncpu - 1}`,
      mems: read(`${root}/cpuset/cpuset.mems`) ?? '0',
      cgroupVersion: 1,
      swapLimit: has('memory/memory.memsw.limit_in_bytes'),
      memoryReservation: has('memory/memory.soft_limit_in_bytes'),
      swappiness: has('memory/memory.swappiness'),
      oomKillDisable: has('memory/memory.oom_control'),
      cpuCfs: has('cpu/cpu.cfs_quota_us'),
      cpuRealtime: has('cpu/cpu.rt_runtime_us'),
      blkioWeight: has('blkio/blkio.weight') || has('blkio/blkio.bfq.weight'),
      blkioWeightDevice: has('blkio/blkio.weight_device') || has('blkio/blkio.bfq.weight_device'),
      blkioThrottle: has('blkio/blkio.throttle.read_bps_device'),
      pids: has('pids'),
    };
  }
  if (root === '/sys/fs/cgroup') cached = facts;
  return facts;
}

/** A device node's type and numbers (stat's rdev: major in bits 8-19 and 32+, minor in 0-7 and 20+). */
function deviceNumbers(path: string): {
  type: 'c' | 'b';
  major: number;
  minor: number;
  mode: number;
  uid: number;
  gid: number;
} {
  const st = statSync(path);
  if (!st.isCharacterDevice() && !st.isBlockDevice()) throw new Error(`not a device node: ${path}`);
  const rdev = st.rdev;
  const major = ((rdev >> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
  const minor = (rdev & 0xff) | ((rdev >> 12) & 0xfff00);
  return { type: st.isBlockDevice() ? 'b' : 'c', major, minor, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
}

/** What runc's HostDevices leaves out of /dev: the container gets its own of these. */
const HOST_DEV_SKIPPED_DIRS = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.udev']);

/**
 * Every device node under the host's /dev, as `--privileged` gives them (moby's oci.WithDevices through runc's
 * HostDevices): the same paths in the container, all access; unreadable entries are passed over.
 */
export function hostDevices(dev = '/dev'): ResolvedDevice[] {
  const out: ResolvedDevice[] = [];
  const walk = (dir: string, depth: number): void => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (!HOST_DEV_SKIPPED_DIRS.has(e.name) && depth < 8) walk(p, depth + 1);
      } else if ((e.isCharacterDevice() || e.isBlockDevice()) && !(depth === 0 && e.name === 'console')) {
        try {
          const { type, major, minor, mode, uid, gid } = deviceNumbers(p);
          const pathInContainer = path.posix.join('/dev', path.relative(dev, p));
          out.push({ pathInContainer, type, major, minor, fileMode: mode, uid, gid, permissions: 'rwm' });
        } catch {
          // gone since the listing, or not ours to stat
        }
      }
    }
  };
  walk(dev, 0);
  return out;
}

/** `--device` mappings → device nodes with their numbers, failing as Docker does on a missing host device. */
export function resolveDevices(devices: readonly DeviceMapping[]): ResolvedDevice[] {
  return devices.flatMap((d) => {
    const node = (hostPath: string, inContainer: string): ResolvedDevice => {
      const n = deviceNumbers(hostPath);
      return {
        pathInContainer: inContainer,
        type: n.type,
        major: n.major,
        minor: n.minor,
        fileMode: n.mode,
        uid: n.uid,
        gid: n.gid,
        permissions: d.CgroupPermissions,
      };
    };
    try {
      // A directory gives every device node below it, at the same place under the container path (Docker's rule).
      if (statSync(d.PathOnHost).isDirectory()) {
        const out: ResolvedDevice[] = [];
        for (const rel of readdirSync(d.PathOnHost, { recursive: true }) as string[]) {
          const host = path.join(d.PathOnHost, rel);
          const st = lstatSync(host);
          if (st.isCharacterDevice() || st.isBlockDevice())
            out.push(node(host, path.posix.join(d.PathInContainer, rel)));
        }
        return out;
      }
      return [node(d.PathOnHost, d.PathInContainer)];
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const why = e.code === 'ENOENT' ? 'no such file or directory' : e.message;
      throw new WharfError(
        'INVALID_ARGUMENT',
        `error gathering device information while adding custom device "${d.PathOnHost}": ${why}`,
      );
    }
  });
}

/** The blkio device flags' paths → device numbers (Docker looks them up at start). */
export function resolveBlkioDevices(list: readonly (WeightDevice | ThrottleDevice)[]): OciBlockIODevice[] {
  return list.map((d) => {
    let n: ReturnType<typeof deviceNumbers>;
    try {
      n = deviceNumbers(d.Path);
    } catch (err) {
      throw new WharfError('INVALID_ARGUMENT', `failed to stat device ${d.Path}: ${(err as Error).message}`);
    }
    return 'Weight' in d
      ? { major: n.major, minor: n.minor, weight: d.Weight }
      : { major: n.major, minor: n.minor, rate: d.Rate };
  });
}

/**
 * Ask the kernel: set each `--ulimit` on a child process of ours with prlimit(1), as runc sets it on the container's
 * first process. A refusal (EPERM from prlimit() on another process, which sandboxes and hosts without
 * CAP_SYS_RESOURCE give) becomes one line saying so; the limits it accepts are applied. Without the prlimit tool the
 * kernel's rule is applied to this process's own limits and capabilities (`applicableUlimits`).
 */
export async function probeUlimits(ulimits: readonly Ulimit[]): Promise<{ apply: Ulimit[]; refused: string[] }> {
  if (ulimits.length === 0) return { apply: [], refused: [] };
  const tool = ['/usr/bin/prlimit', '/bin/prlimit'].find((p) => existsSync(p));
  const sleeper = ['/usr/bin/sleep', '/bin/sleep'].find((p) => existsSync(p));
  if (!tool || !sleeper) return applicableUlimits(ulimits);
  const child = childProcess().spawn(sleeper, ['60'], { stdio: 'ignore' });
  try {
    const apply: Ulimit[] = [];
    const refused: string[] = [];
    const v = (n: number) => (n === -1 ? 'unlimited' : String(n));
    for (const u of ulimits) {
      const r = await run(tool, ['--pid', String(child.pid), `--${u.Name}=${v(u.Soft)}:${v(u.Hard)}`], {
        check: false,
      });
      if (r.code === 0) {
        apply.push(u);
        continue;
      }
      const why =
        r.stderr
          .trim()
          .split('\n')
          .pop()
          ?.replace(/^prlimit: /, '') ?? `exit ${r.code}`;
      refused.push(
        `--ulimit ${u.Name}=${u.Soft}:${u.Hard} not applied: this machine refuses prlimit() on another process (${why})`,
      );
    }
    return { apply, refused };
  } finally {
    child.kill('SIGKILL');
  }
}

/** Go's RLIMIT names as `--ulimit` spells them, and the /proc/<pid>/limits rows that show them. */
const LIMIT_ROWS: Record<string, string> = {
  core: 'Max core file size',
  cpu: 'Max cpu time',
  data: 'Max data size',
  fsize: 'Max file size',
  locks: 'Max file locks',
  memlock: 'Max locked memory',
  msgqueue: 'Max msgqueue size',
  nice: 'Max nice priority',
  nofile: 'Max open files',
  nproc: 'Max processes',
  rss: 'Max resident set',
  rtprio: 'Max realtime priority',
  rttime: 'Max realtime timeout',
  sigpending: 'Max pending signals',
  stack: 'Max stack size',
  as: 'Max address space',
};

/** The hard limits of this process (/proc/self/limits), by `--ulimit` name; -1 for unlimited. */
export function parseProcLimits(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, row] of Object.entries(LIMIT_ROWS)) {
    const line = text.split('\n').find((l) => l.startsWith(row));
    if (!line) continue;
    const cols = line.slice(row.length).trim().split(/\s+/);
    const hard = cols[1];
    if (hard !== undefined) out.set(name, hard === 'unlimited' ? -1 : Number(hard));
  }
  return out;
}

/** CAP_SYS_RESOURCE (bit 24) in this process's effective set: what raising a hard limit with prlimit() needs. */
export function hasSysResource(status: string): boolean {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return m !== undefined && m !== null && ((BigInt(`0x${m[1]}`) >> 24n) & 1n) === 1n;
}

/**
 * Split `--ulimit`s into those runc can set and one line per refused one saying why. runc sets them with prlimit()
 * on the container's first process, which the kernel refuses (EPERM) when a hard limit goes above the one runc
 * itself has and the host withholds CAP_SYS_RESOURCE, as a host that is itself a container often does.
 */
export function applicableUlimits(
  ulimits: readonly Ulimit[],
  facts: { limits: Map<string, number>; sysResource: boolean } = {
    limits: parseProcLimits(read('/proc/self/limits') ?? ''),
    sysResource: hasSysResource(read('/proc/self/status') ?? ''),
  },
): { apply: Ulimit[]; refused: string[] } {
  const apply: Ulimit[] = [];
  const refused: string[] = [];
  for (const u of ulimits) {
    const have = facts.limits.get(u.Name);
    const raises = have !== undefined && have !== -1 && (u.Hard === -1 || u.Hard > have);
    if (raises && !facts.sysResource) {
      refused.push(
        `--ulimit ${u.Name}=${u.Soft}:${u.Hard} not applied: this machine refuses prlimit() above its own hard limit (${have}) without CAP_SYS_RESOURCE`,
      );
    } else apply.push(u);
  }
  return { apply, refused };
}
