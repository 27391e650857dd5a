import { WharfError } from '../errors/index.js';

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

interface DockerSyscall {
  name?: string;
  names?: string[];
  action: string;
  errnoRet?: number;
  args?: Array<{ index: number; value: number; valueTwo?: number; op: string }> | null;
  includes?: { caps?: string[]; arches?: string[] };
  excludes?: { caps?: string[]; arches?: string[] };
}

interface DockerProfile {
  defaultAction?: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  archMap?: Array<{ architecture: string; subArchitectures?: string[] }> | null;
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

/**
 * A Docker seccomp profile (`--security-opt seccomp=profile.json`, moby's profiles/seccomp format) as the OCI spec's
 * linux.seccomp, the way moby's setupSeccomp does it: the native architecture's entry of `archMap`, and the rules
 * whose `includes`/`excludes` (capabilities, architectures) fit this container. Pure.
 */
export function seccompFromProfile(json: string, caps: readonly string[], arch = process.arch): OciSeccomp {
  let p: DockerProfile;
  try {
    p = JSON.parse(json) as DockerProfile;
  } catch (err) {
    throw new WharfError('INVALID_ARGUMENT', `decoding seccomp profile failed: ${(err as Error).message}`);
  }
  if (!p || typeof p !== 'object' || typeof p.defaultAction !== 'string')
    throw new WharfError('INVALID_ARGUMENT', 'decoding seccomp profile failed: no defaultAction');
  const goarch = GOARCH[arch] ?? arch;
  const out: OciSeccomp = { defaultAction: p.defaultAction };
  if (p.defaultErrnoRet !== undefined) out.defaultErrnoRet = p.defaultErrnoRet;
  if (p.architectures?.length) out.architectures = [...p.architectures];
  else if (p.archMap?.length) {
    const native = SCMP_ARCH[goarch];
    const entry = p.archMap.find((a) => a.architecture === native);
    if (entry) out.architectures = [entry.architecture, ...(entry.subArchitectures ?? [])];
  }
  const fits = (c: { caps?: string[]; arches?: string[] } | undefined, all: boolean): boolean => {
    if (!c) return all;
    const capOk = c.caps?.length ? c.caps.every((x) => caps.includes(x)) : all;
    const archOk = c.arches?.length ? c.arches.includes(goarch) : all;
    return all
      ? capOk && archOk
      : (c.caps?.some((x) => caps.includes(x)) ?? false) || (c.arches?.includes(goarch) ?? false);
  };
  out.syscalls = [];
  for (const s of p.syscalls ?? []) {
    if (!fits(s.includes, true) || fits(s.excludes, false)) continue;
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
