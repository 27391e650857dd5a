import { WharfError } from '../errors/index.js';
import type { Descriptor, ImageIndex, Platform } from './types.js';

/**
 * Platform matching with containerd's semantics (platforms.Normalize, platforms.Only): a wanted platform also accepts
 * older compatible ones (amd64 runs 386, arm/v7 runs v6 and v5, arm64 runs arm/v8 and below), preferring closer ones.
 */

function normalizeOs(os: string): string {
  const o = os.toLowerCase();
  return o === 'macos' ? 'darwin' : o;
}

function normalizeArch(arch: string, variant: string): [string, string] {
  let a = arch.toLowerCase();
  let v = variant.toLowerCase();
  switch (a) {
    case 'i386':
      a = '386';
      v = '';
      break;
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      a = 'amd64';
      if (v === 'v1') v = '';
      break;
    case 'aarch64':
    case 'arm64':
      a = 'arm64';
      if (v === '8' || v === 'v8') v = '';
      break;
    case 'armhf':
      a = 'arm';
      v = 'v7';
      break;
    case 'armel':
      a = 'arm';
      v = 'v6';
      break;
    case 'arm':
      if (v === '' || v === '7') v = 'v7';
      else if (v === '5' || v === '6' || v === '8') v = `v${v}`;
      break;
  }
  return [a, v];
}

/** The canonical form: 'x86_64' → 'amd64', 'aarch64/v8' → 'arm64', 'arm' → 'arm/v7'; os.features sorted, unique. */
export function normalizePlatform(p: Platform): Platform {
  const [architecture, variant] = normalizeArch(p.architecture ?? '', p.variant ?? '');
  const out: Platform = { architecture, os: normalizeOs(p.os ?? '') };
  if (variant) out.variant = variant;
  if (p['os.version']) out['os.version'] = p['os.version'];
  if (p['os.features']?.length) out['os.features'] = [...new Set(p['os.features'])].sort();
  return out;
}

function sameNormalized(a: Platform, b: Platform): boolean {
  if (a.os !== b.os || a.architecture !== b.architecture || (a.variant ?? '') !== (b.variant ?? '')) return false;
  // Like containerd: every OS feature the candidate needs must be one the wanted platform offers.
  const offered = new Set(a['os.features'] ?? []);
  return (b['os.features'] ?? []).every((f) => offered.has(f));
}

/** containerd's platformVector: the wanted platform first, then each compatible older one, best first. */
export function compatiblePlatforms(want: Platform): Platform[] {
  const p = normalizePlatform(want);
  const vector: Platform[] = [p];
  const base = {
    os: p.os,
    ...(p['os.version'] ? { 'os.version': p['os.version'] } : {}),
    ...(p['os.features'] ? { 'os.features': p['os.features'] } : {}),
  };
  const version = (v: string | undefined) => Number.parseInt((v ?? '').replace(/^v/, ''), 10);
  switch (p.architecture) {
    case 'amd64': {
      const n = version(p.variant);
      if (/^v\d+$/.test(p.variant ?? '') && n > 1) {
        for (let i = n - 1; i >= 2; i--) vector.push({ ...base, architecture: 'amd64', variant: `v${i}` });
        vector.push({ ...base, architecture: 'amd64' }); // v1 normalizes to no variant
      }
      vector.push({ ...base, architecture: '386' });
      break;
    }
    case 'arm': {
      const n = version(p.variant);
      if (/^v\d+$/.test(p.variant ?? '') && n > 5) {
        for (let i = n - 1; i >= 5; i--) vector.push({ ...base, architecture: 'arm', variant: `v${i}` });
      }
      break;
    }
    case 'arm64': {
      let variant = p.variant ?? 'v8';
      const m = /^v(\d+)(?:\.(\d+))?$/.exec(variant);
      if (m && Number(m[1]) >= 8) {
        let major = Number(m[1]);
        let minor = m[2] !== undefined ? Number(m[2]) : 0;
        const push = (maj: number, min: number) =>
          vector.push({
            ...base,
            architecture: 'arm64',
            ...(maj === 8 && min === 0 ? {} : { variant: min === 0 ? `v${maj}` : `v${maj}.${min}` }),
          });
        if (major === 9) {
          for (let i = minor - 1; i >= 0; i--) push(9, i);
          // v9.0 diverged from v8.5, so v9.x runs v8.(x+5) and below.
          minor += 5;
          major = 8;
          push(8, minor);
        }
        for (let i = minor - 1; i >= 0; i--) push(major, i);
      }
      if (variant.startsWith('v8.') || variant.startsWith('v9.')) variant = 'v8';
      vector.push(...compatiblePlatforms({ ...base, architecture: 'arm', variant }));
      break;
    }
  }
  return vector;
}

/** Rank of `have` for `want`: 0 is the exact platform, higher is a less preferred compatible one, -1 is no match. */
export function platformRank(want: Platform, have: Platform): number {
  const h = normalizePlatform(have);
  return compatiblePlatforms(want).findIndex((c) => sameNormalized(c, h));
}

/** A descriptor without a platform matches anything (containerd does the same), but ranks after every real match. */
export function platformMatches(want: Platform, have: Platform | undefined): boolean {
  return have === undefined || platformRank(want, have) >= 0;
}

/** BuildKit's attestation manifests sit in the index next to the images, with platform unknown/unknown. */
export function isAttestationManifest(d: Descriptor): boolean {
  return (
    d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' ||
    (d.platform?.os === 'unknown' && d.platform?.architecture === 'unknown')
  );
}

/** The best manifest in an index for `want`; the first of equally good ones, as containerd's stable sort picks. */
export function selectManifest(index: ImageIndex, want: Platform): Descriptor | undefined {
  let best: Descriptor | undefined;
  let bestRank = Number.POSITIVE_INFINITY;
  for (const d of index.manifests) {
    if (isAttestationManifest(d)) continue;
    const rank = d.platform === undefined ? Number.MAX_SAFE_INTEGER : platformRank(want, d.platform);
    if (rank >= 0 && rank < bestRank) {
      best = d;
      bestRank = rank;
    }
  }
  return best;
}

const NODE_ARCH: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  s390x: 's390x',
  riscv64: 'riscv64',
  loong64: 'loong64',
  mips: 'mips',
  mipsel: 'mipsle',
  ppc: 'ppc',
};

/** The platform images are pulled and built for by default, from Node's view of the host. */
export function hostPlatform(): Platform {
  const os = process.platform === 'win32' ? 'windows' : process.platform;
  let architecture = NODE_ARCH[process.arch] ?? process.arch;
  // The byte order from a typed array, not node:os: loading that module costs every command ~1 ms at start-up.
  if (process.arch === 'ppc64')
    architecture = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 'ppc64le' : 'ppc64';
  const p: Platform = { architecture, os };
  if (architecture === 'arm') {
    const armVersion = (process.config.variables as Record<string, unknown>).arm_version;
    p.variant = `v${typeof armVersion === 'string' || typeof armVersion === 'number' ? armVersion : 7}`;
  }
  return p;
}

/** 'linux/arm64/v8', as `--platform` and `docker image inspect` print it. */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter((x) => x).join('/');
}

const COMPONENT_RE = /^[A-Za-z0-9_-]+$/;
const KNOWN_OS = new Set([
  'aix',
  'android',
  'darwin',
  'dragonfly',
  'freebsd',
  'hurd',
  'illumos',
  'ios',
  'js',
  'linux',
  'nacl',
  'netbsd',
  'openbsd',
  'plan9',
  'solaris',
  'windows',
  'zos',
]);
const KNOWN_ARCH = new Set([
  '386',
  'amd64',
  'amd64p32',
  'arm',
  'armbe',
  'arm64',
  'arm64be',
  'ppc64',
  'ppc64le',
  'loong64',
  'mips',
  'mipsle',
  'mips64',
  'mips64le',
  'mips64p32',
  'mips64p32le',
  'ppc',
  'riscv',
  'riscv64',
  's390',
  's390x',
  'sparc',
  'sparc64',
  'wasm',
]);

/**
 * containerd's platforms.Parse: 'os/arch[/variant]', or just an OS or an architecture (the rest from the host).
 * Normalizes like containerd: 'linux/arm' has no variant (v7 implied), 'linux/arm64/v8' keeps v8.
 */
export function parsePlatform(s: string): Platform {
  const parts = s.split('/');
  const fail = (why: string) => new WharfError('INVALID_ARGUMENT', `invalid platform ${JSON.stringify(s)}: ${why}`);
  if (parts.length > 3) throw fail('want os/arch[/variant]');
  for (const part of parts)
    if (!COMPONENT_RE.test(part)) throw fail(`component ${JSON.stringify(part)} must match [A-Za-z0-9_-]+`);
  const host = hostPlatform();
  if (parts.length === 1) {
    const os = normalizeOs(parts[0]!);
    if (KNOWN_OS.has(os)) {
      const p: Platform = { os, architecture: host.architecture };
      if (host.variant && !(host.architecture === 'arm' && host.variant === 'v7')) p.variant = host.variant;
      return p;
    }
    const [architecture, variant] = normalizeArch(parts[0]!, '');
    if (!KNOWN_ARCH.has(architecture)) throw fail('unknown operating system or architecture');
    return withVariant({ os: host.os, architecture }, architecture === 'arm' && variant === 'v7' ? '' : variant);
  }
  const os = normalizeOs(parts[0]!);
  if (parts.length === 2) {
    const [architecture, variant] = normalizeArch(parts[1]!, '');
    return withVariant({ os, architecture }, architecture === 'arm' && variant === 'v7' ? '' : variant);
  }
  const [architecture, variant] = normalizeArch(parts[1]!, parts[2]!);
  return withVariant({ os, architecture }, architecture === 'arm64' && variant === '' ? 'v8' : variant);
}

function withVariant(p: Platform, variant: string): Platform {
  if (variant) p.variant = variant;
  return p;
}
