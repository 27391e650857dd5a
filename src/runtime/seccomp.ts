import type * as Os from 'node:os';
import { WharfError } from '../errors/index.js';
import { lazyBuiltin } from '../util/index.js';
// moby's profiles/seccomp/default.json, byte for byte (see docs/security.md for its commit): the profile dockerd
// applies to every container that is neither privileged nor `seccomp=unconfined`.
import mobyDefaultProfile from './seccomp-default.json' with { type: 'json' };

/** The OCI spec's linux.seccomp. */
export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  syscalls?: Array<{
    names: string[];
    action: string;
    errnoRet?: number;
    args?: Array<{ index: number; value: number; valueTwo?: number; op: string }>;
  }>;
}

/** One condition of a profile rule: capabilities, Go architectures, a kernel version ("4.8"). */
interface DockerFilter {
  caps?: string[] | null;
  arches?: string[] | null;
  minKernel?: string | null;
}

interface DockerSyscall {
  name?: string;
  names?: string[] | null;
  action: string;
  errnoRet?: number;
  args?: Array<{ index: number; value: number; valueTwo?: number; op: string }> | null;
  includes?: DockerFilter | null;
  excludes?: DockerFilter | null;
}

/** A Docker seccomp profile (moby's profiles/seccomp format). */
export interface DockerSeccompProfile {
  defaultAction?: string;
  defaultErrnoRet?: number;
  architectures?: string[] | null;
  archMap?: Array<{ architecture: string; subArchitectures?: string[] | null }> | null;
  syscalls?: DockerSyscall[] | null;
}

/** Go's GOARCH for this process, the names a profile's includes/excludes use. */
const GOARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', s390x: 's390x' };
const SCMP_ARCH: Record<string, string> = {
  amd64: 'SCMP_ARCH_X86_64',
  arm64: 'SCMP_ARCH_AARCH64',
  arm: 'SCMP_ARCH_ARM',
  '386': 'SCMP_ARCH_X86',
  s390x: 'SCMP_ARCH_S390X',
};

/** Where a profile is turned into a filter: the container's capabilities (bounding set), arch and kernel. */
export interface SeccompTarget {
  caps: readonly string[];
  /** Node's process.arch. */
  arch: string;
  /** uname -r, e.g. "6.1.0-18-amd64". */
  kernel: string;
}

// node:os is loaded when a spec is made, not by every command that loads this module.
const os = lazyBuiltin<typeof Os>('node:os');

const hostTarget = (caps: readonly string[]): SeccompTarget => ({ caps, arch: process.arch, kernel: os().release() });

/**
 * A Docker seccomp profile (`--security-opt seccomp=profile.json`) as the OCI spec's linux.seccomp. See
 * seccompFromDockerProfile for the rules.
 */
export function seccompFromProfile(json: string, caps: readonly string[], arch = process.arch): OciSeccomp {
  let p: DockerSeccompProfile;
  try {
    p = JSON.parse(json) as DockerSeccompProfile;
  } catch (err) {
    throw new WharfError('INVALID_ARGUMENT', `decoding seccomp profile failed: ${(err as Error).message}`);
  }
  return seccompFromDockerProfile(p, { ...hostTarget(caps), arch });
}

/** The profile Docker applies by default (moby's default.json), for a container with these capabilities. */
export function defaultSeccomp(caps: readonly string[]): OciSeccomp {
  const key = caps.join(',');
  let out = defaultCache.get(key);
  if (!out) {
    out = seccompFromDockerProfile(DEFAULT_SECCOMP_PROFILE, hostTarget(caps));
    // Containers of one engine use a handful of capability sets: the cache stays small.
    if (defaultCache.size > 64) defaultCache.clear();
    defaultCache.set(key, out);
  }
  // A copy: callers put it into a spec object they may change.
  return structuredClone(out);
}
const defaultCache = new Map<string, OciSeccomp>();

export const DEFAULT_SECCOMP_PROFILE = mobyDefaultProfile as unknown as DockerSeccompProfile;

/**
 * A Docker profile as linux.seccomp, the way moby's setupSeccomp does it: the native architecture's entry of
 * `archMap`, and only the rules whose `includes` all hold (every capability in the container's set, the
 * architecture listed, the kernel at least `minKernel`) and none of whose `excludes` does (any of the capabilities,
 * the architecture, a kernel at least `minKernel`). Pure.
 */
export function seccompFromDockerProfile(p: DockerSeccompProfile, t: SeccompTarget): OciSeccomp {
  if (!p || typeof p !== 'object' || typeof p.defaultAction !== 'string')
    throw new WharfError('INVALID_ARGUMENT', 'decoding seccomp profile failed: no defaultAction');
  if (p.architectures?.length && p.archMap?.length)
    throw new WharfError(
      'INVALID_ARGUMENT',
      "decoding seccomp profile failed: 'architectures' and 'archMap' were specified",
    );
  const goarch = GOARCH[t.arch] ?? t.arch;
  const kernel = parseKernel(t.kernel);
  const out: OciSeccomp = { defaultAction: p.defaultAction };
  if (p.defaultErrnoRet !== undefined) out.defaultErrnoRet = p.defaultErrnoRet;
  if (p.architectures?.length) out.architectures = [...p.architectures];
  else if (p.archMap?.length) {
    const native = SCMP_ARCH[goarch];
    const entry = p.archMap.find((a) => a.architecture === native);
    if (entry) out.architectures = [entry.architecture, ...(entry.subArchitectures ?? [])];
  }
  const atLeast = (min: string) => compareKernel(kernel, parseKernel(min)) >= 0;
  const included = (c: DockerFilter | null | undefined): boolean =>
    !c ||
    ((!c.caps?.length || c.caps.every((x) => t.caps.includes(x))) &&
      (!c.arches?.length || c.arches.includes(goarch)) &&
      (!c.minKernel || atLeast(c.minKernel)));
  const excluded = (c: DockerFilter | null | undefined): boolean =>
    !!c &&
    ((c.caps?.some((x) => t.caps.includes(x)) ?? false) ||
      (c.arches?.includes(goarch) ?? false) ||
      (!!c.minKernel && atLeast(c.minKernel)));
  out.syscalls = [];
  for (const s of p.syscalls ?? []) {
    if (s.name && s.names?.length)
      throw new WharfError('INVALID_ARGUMENT', "decoding seccomp profile failed: use either 'name' or 'names'");
    if (excluded(s.excludes) || !included(s.includes)) continue;
    const names = s.names?.length ? s.names : s.name ? [s.name] : [];
    if (!names.length) continue;
    out.syscalls.push({
      names: [...names],
      action: s.action,
      ...(s.errnoRet !== undefined ? { errnoRet: s.errnoRet } : {}),
      ...(s.args?.length ? { args: s.args.map((a) => ({ ...a })) } : {}),
    });
  }
  return out;
}

/** "6.1.0-18-amd64" → [6, 1, 0]; what moby's kernel.ParseRelease keeps (the numbers before any suffix). */
function parseKernel(s: string): number[] {
  const m = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(s.trim());
  if (!m) throw new WharfError('INVALID_ARGUMENT', `decoding seccomp profile failed: bad kernel version "${s}"`);
  return [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)];
}

function compareKernel(a: number[], b: number[]): number {
  for (let i = 0; i < 3; i++) if (a[i]! !== b[i]!) return a[i]! - b[i]!;
  return 0;
}
