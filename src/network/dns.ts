/**
 * Name resolution on user-defined networks through aardvark-dns (podman's resolver, Debian's package): one process
 * per root, one config file per network under `<runRoot>/aardvark-dns/` (named by the network's ID), SIGHUP to
 * reload. It listens on each network's gateway addresses (port 53), answers a container's query with the names of
 * the containers on the networks the asking address is on, and sends every other name to the host's resolvers.
 * With no config file left it exits by itself at the SIGHUP, so the root's last endpoint takes it away.
 * The files are written from the endpoint records inside a database write transaction, so two processes changing
 * one network never write a stale file last. docs/networks.md has the failure modes.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type * as ChildProcess from 'node:child_process';
import { WharfError } from '../errors/index.js';
import type { MetaDb } from '../meta/index.js';
import { lazyBuiltin, pidAlive } from '../util/index.js';

const childProcess = lazyBuiltin<typeof ChildProcess>('node:child_process');
import type { EndpointRecord, NetworkRecord } from './network-records.js';

export const AARDVARK_BINARY = '/usr/lib/podman/aardvark-dns';

/** A network's aardvark-dns file: the listening addresses, then `ID IPv4s IPv6s names [servers]` per container. */
export function aardvarkConfig(
  net: NetworkRecord,
  endpoints: readonly EndpointRecord[],
  dnsServers?: (containerId: string) => readonly string[] | undefined,
): string {
  const listen = [net.ipv4.gateway, ...(net.ipv6 ? [net.ipv6.gateway] : [])].join(',');
  const lines = [listen];
  for (const e of endpoints) {
    const names = [...new Set([...e.names, ...e.aliases])].filter((n) => /^[A-Za-z0-9_.-]+$/.test(n));
    const servers = dnsServers?.(e.containerId) ?? [];
    lines.push(
      [e.containerId, e.ip4 ?? '', e.ip6 ?? '', names.join(','), ...(servers.length ? [servers.join(',')] : [])].join(
        ' ',
      ),
    );
  }
  return `${lines.join('\n')}\n`;
}

export class NetworkResolver {
  constructor(
    readonly dir: string,
    readonly db: MetaDb,
    readonly binary = AARDVARK_BINARY,
  ) {}

  /**
   * Rewrite one network's file from its endpoints (none: the file goes) and have the resolver reload it, starting
   * it when it is not running and some network has containers.
   */
  update(
    net: NetworkRecord,
    read: () => EndpointRecord[],
    servers?: (id: string) => readonly string[] | undefined,
  ): void {
    this.db.immediate(() => {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      const file = path.join(this.dir, net.id);
      const eps = read();
      if (eps.length === 0) rmSync(file, { force: true });
      else {
        writeFileSync(`${file}.tmp`, aardvarkConfig(net, eps, servers));
        renameSync(`${file}.tmp`, file);
      }
      this.#reload();
    });
  }

  /** The resolver's PID when it runs. */
  pid(): number | undefined {
    try {
      const pid = Number(readFileSync(path.join(this.dir, 'aardvark.pid'), 'utf8').trim());
      return pid > 0 && pidAlive(pid) && this.#isAardvark(pid) ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  #isAardvark(pid: number): boolean {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('aardvark-dns');
    } catch {
      return false;
    }
  }

  #hasNetworks(): boolean {
    try {
      return readdirSync(this.dir).some((f) => /^[0-9a-f]{64}$/.test(f));
    } catch {
      return false;
    }
  }

  #reload(): void {
    const pid = this.pid();
    if (pid) {
      process.kill(pid, 'SIGHUP');
      return;
    }
    if (!this.#hasNetworks()) return;
    if (!existsSync(this.binary))
      throw new WharfError(
        'UNAVAILABLE',
        `${this.binary} not found: install aardvark-dns for name resolution on user networks`,
      );
    // `run` forks the server into the background and returns once it has written its PID file.
    const res = childProcess().spawnSync(this.binary, ['--config', this.dir, '-p', '53', 'run'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 10_000,
    });
    if (res.status !== 0)
      throw new WharfError('UNAVAILABLE', `aardvark-dns did not start: ${String(res.stderr ?? '').trim()}`);
  }

  /** Stop the resolver (system check's repair of a root without networks). */
  stop(): void {
    const pid = this.pid();
    if (pid) process.kill(pid, 'SIGTERM');
  }
}
