import { readFileSync } from 'node:fs';

/**
 * Whether this host has IPv6 (as src/container/bundle.ts decides whether to start the relay that publishes `-p` on
 * `::`): Wharf then lists each mapping on `[::]` too, as docker CLI 28 does.
 */
export function hostHasIpv6(): boolean {
  try {
    return readFileSync('/proc/net/if_inet6', 'utf8').trim() !== '';
  } catch {
    return false;
  }
}
