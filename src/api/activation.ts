import { readFileSync } from 'node:fs';
import { WharfError } from '../errors/index.js';

/** The first fd systemd passes (sd_listen_fds: SD_LISTEN_FDS_START). */
export const LISTEN_FDS_START = 3;

/**
 * The listening sockets a service manager passed (systemd's socket activation protocol, sd_listen_fds(3)): fds 3 …
 * 3+LISTEN_FDS-1, when LISTEN_PID is this process. Pure: the environment and pid are given.
 */
export function inheritedListenFds(env: NodeJS.ProcessEnv, pid: number): number[] {
  const n = Number(env.LISTEN_FDS);
  if (!env.LISTEN_PID || Number(env.LISTEN_PID) !== pid) return [];
  if (!Number.isInteger(n) || n <= 0) return [];
  return Array.from({ length: n }, (_, i) => LISTEN_FDS_START + i);
}

/**
 * The fd an `fd://` address names (dockerd's form): `fd://` is the first socket passed, `fd://N` socket N, and
 * `fd://NAME` the one LISTEN_FDNAMES names so. The variables are then removed (sd_listen_fds(unset_environment=1)),
 * so that containers and children do not see them.
 */
export function activationFd(spec: string, env: NodeJS.ProcessEnv = process.env, pid = process.pid): number {
  const fds = inheritedListenFds(env, pid);
  if (fds.length === 0)
    throw new WharfError(
      'INVALID_ARGUMENT',
      'no sockets found via socket activation: make sure the service was started by systemd (LISTEN_FDS, LISTEN_PID)',
    );
  const names = (env.LISTEN_FDNAMES ?? '').split(':');
  let fd: number | undefined;
  if (spec === '') fd = fds[0];
  else if (/^\d+$/.test(spec)) fd = fds.includes(Number(spec)) ? Number(spec) : undefined;
  else {
    const i = names.indexOf(spec);
    fd = i >= 0 ? fds[i] : undefined;
  }
  if (fd === undefined) throw new WharfError('NOT_FOUND', `no socket ${spec} among those passed by socket activation`);
  delete env.LISTEN_FDS;
  delete env.LISTEN_PID;
  delete env.LISTEN_FDNAMES;
  return fd;
}

/** The files of `--tlscacert/--tlscert/--tlskey`, read (PEM). */
export interface TlsFiles {
  ca: string;
  cert: string;
  key: string;
}

export interface TlsConfig {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
  /** `--tlsverify`: clients must present a certificate signed by `ca`. */
  verify: boolean;
}

export function readTlsConfig(files: TlsFiles, verify: boolean): TlsConfig {
  const read = (what: string, p: string): Buffer => {
    try {
      return readFileSync(p);
    } catch (err) {
      throw new WharfError('INVALID_ARGUMENT', `could not read ${what} "${p}": ${(err as Error).message}`);
    }
  };
  return {
    ca: read('CA certificate', files.ca),
    cert: read('certificate', files.cert),
    key: read('key', files.key),
    verify,
  };
}
