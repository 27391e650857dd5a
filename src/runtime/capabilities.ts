import { WharfError } from '../errors/index.js';

/** Docker's default set (moby oci/caps/defaults.go). */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** Every capability up to Linux 5.9 (CAP_CHECKPOINT_RESTORE), in kernel order. */
export const ALL_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
];

/** `net_admin`, `NET_ADMIN` and `CAP_NET_ADMIN` all name CAP_NET_ADMIN; `all` stays `ALL`. */
export function normalizeCapability(name: string): string {
  const upper = name.trim().toUpperCase();
  if (upper === 'ALL') return 'ALL';
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (!ALL_CAPABILITIES.includes(full)) throw new WharfError('INVALID_ARGUMENT', `unknown capability: "${name}"`);
  return full;
}

/**
 * The effective capability list after Docker's rules (moby oci/caps TweakCapabilities): privileged gets all;
 * `--cap-drop ALL` empties the base; `--cap-add ALL` fills it; explicit drops win over the default set, explicit
 * adds win over `--cap-drop ALL`.
 */
export function resolveCapabilities(
  add: readonly string[] = [],
  drop: readonly string[] = [],
  privileged = false,
): string[] {
  if (privileged) return [...ALL_CAPABILITIES];
  const adds = add.map(normalizeCapability);
  const drops = drop.map(normalizeCapability);
  let base: string[];
  if (adds.includes('ALL')) base = [...ALL_CAPABILITIES];
  else if (drops.includes('ALL')) base = [];
  else base = [...DEFAULT_CAPABILITIES];
  if (!drops.includes('ALL')) base = base.filter((c) => !drops.includes(c));
  for (const c of adds) {
    if (c !== 'ALL' && !base.includes(c)) base.push(c);
  }
  if (adds.includes('ALL') && !drops.includes('ALL')) base = base.filter((c) => !drops.includes(c));
  return base;
}
