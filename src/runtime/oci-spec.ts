import type { OciSeccomp } from './seccomp.js';
import type { IdMapping } from '../util/index.js';
/** The parts of the OCI runtime spec (config.json, version 1.0.2) that Wharf writes. */
export interface OciUser {
  uid: number;
  gid: number;
  additionalGids?: number[];
  umask?: number;
}

export interface OciCapabilities {
  bounding: string[];
  effective: string[];
  permitted: string[];
  inheritable?: string[];
  ambient?: string[];
}

export interface OciProcess {
  terminal: boolean;
  consoleSize?: { height: number; width: number };
  user: OciUser;
  args: string[];
  env: string[];
  cwd: string;
  capabilities?: OciCapabilities;
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  oomScoreAdj?: number;
  rlimits?: OciRlimit[];
}

/** One `process.rlimits` entry (`--ulimit`): type is `RLIMIT_<NAME>`. */
export interface OciRlimit {
  type: string;
  hard: number;
  soft: number;
}

/** A device node created in the container (`linux.devices`, `--device`). */
export interface OciDevice {
  path: string;
  type: 'c' | 'b' | 'p' | 'u';
  major: number;
  minor: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export interface OciMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

export interface OciNamespace {
  type: 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup';
  path?: string;
}

export interface OciDeviceRule {
  allow: boolean;
  type?: 'a' | 'c' | 'b';
  major?: number;
  minor?: number;
  access?: string;
}

/** A block device's weight or throttle rate (`linux.resources.blockIO`). */
export interface OciBlockIODevice {
  major: number;
  minor: number;
  weight?: number;
  rate?: number;
}

export interface OciResources {
  devices?: OciDeviceRule[];
  memory?: { limit?: number; reservation?: number; swap?: number; swappiness?: number; disableOOMKiller?: boolean };
  cpu?: {
    shares?: number;
    quota?: number;
    period?: number;
    realtimeRuntime?: number;
    realtimePeriod?: number;
    cpus?: string;
    mems?: string;
  };
  pids?: { limit: number };
  blockIO?: {
    weight?: number;
    weightDevice?: OciBlockIODevice[];
    throttleReadBpsDevice?: OciBlockIODevice[];
    throttleWriteBpsDevice?: OciBlockIODevice[];
    throttleReadIOPSDevice?: OciBlockIODevice[];
    throttleWriteIOPSDevice?: OciBlockIODevice[];
  };
}

export interface OciLinux {
  namespaces: OciNamespace[];
  resources?: OciResources;
  devices?: OciDevice[];
  cgroupsPath?: string;
  sysctl?: Record<string, string>;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  rootfsPropagation?: string;
  seccomp?: OciSeccomp;
  /** With a `user` namespace: the container's ids on the host. */
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
}

export interface OciSpec {
  ociVersion: string;
  process: OciProcess;
  root: { path: string; readonly?: boolean };
  hostname?: string;
  domainname?: string;
  mounts: OciMount[];
  linux: OciLinux;
  annotations?: Record<string, string>;
}
