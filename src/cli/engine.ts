import { readFileSync, statfsSync } from 'node:fs';
import type * as Os from 'node:os';
import * as path from 'node:path';
import type * as Readline from 'node:readline';
import { Wharf } from '../engine/index.js';
import { WharfError } from '../errors/index.js';
import { parseAddressPools, type AddressPool } from '../network/index.js';
import type { CliContext } from './context.js';
import { lazyBuiltin, trace } from '../util/index.js';

const readline = lazyBuiltin<typeof Readline>('node:readline');
const os = lazyBuiltin<typeof Os>('node:os');

/**
 * `WHARF_DEFAULT_ADDRESS_POOLS` (dockerd's `--default-address-pool` values, space-separated): where user networks'
 * subnets come from instead of Docker's default pools (docs/networks.md).
 */
function networkPoolsFromEnv(): { networkPools?: { ipv4?: AddressPool[]; ipv6?: AddressPool[] } } {
  const text = process.env.WHARF_DEFAULT_ADDRESS_POOLS;
  if (!text) return {};
  const pools = parseAddressPools(text);
  return {
    networkPools: {
      ...(pools.ipv4.length ? { ipv4: pools.ipv4 } : {}),
      ...(pools.ipv6.length ? { ipv6: pools.ipv6 } : {}),
    },
  };
}

/** Open the engine for one CLI call and always close it. */
export async function withEngine<T>(
  ctx: CliContext,
  fn: (w: Wharf) => Promise<T>,
  opts: { shortRead?: boolean } = {},
): Promise<T> {
  const g = ctx.globals();
  let w: Wharf | undefined;
  try {
    w = await Wharf.open({
      root: g.root,
      runRoot: g.runRoot,
      ...engineSettings(),
      ...networkPoolsFromEnv(),
      ...(opts.shortRead ? { shortRead: true } : {}),
    });
    trace('engine opened');
    return await fn(w);
  } catch (err) {
    throw diskFullError(err, g.root) ?? err;
  } finally {
    w?.close();
  }
}

/**
 * withEngine for a short verb that only reads (`ps`, `images`, `inspect`): it works on a disk full to the byte too,
 * with the database opened for it alone (meta/db.ts).
 */
export function withReadEngine<T>(ctx: CliContext, fn: (w: Wharf) => Promise<T>): Promise<T> {
  return withEngine(ctx, fn, { shortRead: true });
}

/**
 * The engine-wide settings of Wharf's config file (`$WHARF_CONFIG/config.json`, else `~/.wharf/config.json`, the
 * file that also holds Wharf's registry logins): `"userns-remap"`, as dockerd's `--userns-remap` (docs/security.md).
 * A missing or unreadable file sets nothing (its credentials' reader reports a broken one).
 */
export function engineSettings(env: NodeJS.ProcessEnv = process.env): { usernsRemap?: string } {
  const file = path.join(env.WHARF_CONFIG || path.join(os().homedir(), '.wharf'), 'config.json');
  let conf: unknown;
  try {
    conf = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return {};
  }
  const remap = (conf as { 'userns-remap'?: unknown } | null)?.['userns-remap'];
  if (remap === undefined || remap === '') return {};
  if (typeof remap !== 'string' || !/^[A-Za-z0-9_.][A-Za-z0-9_.-]*$/.test(remap))
    throw new WharfError('INVALID_ARGUMENT', `${file}: "userns-remap" must name a user (or be "default")`);
  return { usernsRemap: remap };
}

/**
 * SQLite says only "database or disk is full", or "disk I/O error" when not even its shared-memory file can grow:
 * on a full disk say so and where, as every full-disk error should. Verbs that report each container's failure
 * themselves (`start`, `rm`, `stop`, …) pass their errors through this too: those never reach withEngine's catch.
 */
export function diskFullError(err: unknown, root: string): WharfError | undefined {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return undefined;
  if (code !== 'SQLITE_FULL') {
    if (!code.startsWith('SQLITE_IOERR')) return undefined;
    try {
      if (statfsSync(root).bavail > 0) return undefined;
    } catch {
      return undefined;
    }
  }
  return new WharfError('UNAVAILABLE', `no space left on device: the database ${root}/wharf.db cannot grow`, {
    cause: err,
  });
}

/** commander reducer for repeatable options (`-f a -f b`). */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Docker's prompt: "Are you sure you want to continue? [y/N]"; anything but y/yes (or no input) is no. */
export async function confirm(ctx: CliContext, warning: string): Promise<boolean> {
  ctx.stdout.write(`${warning}\nAre you sure you want to continue? [y/N] `);
  const rl = readline().createInterface({ input: process.stdin });
  try {
    const answer = await new Promise<string>((resolve) => {
      rl.once('line', resolve);
      rl.once('close', () => resolve(''));
    });
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/** Go's time.Time String() in UTC: "2023-07-18 23:19:33 +0000 UTC" (docker's CreatedAt). */
export function goTimeString(d: Date): string {
  const iso = d.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} +0000 UTC`;
}
