import { readFileSync, statfsSync } from 'node:fs';
import type * as Os from 'node:os';
import * as path from 'node:path';
import type * as Readline from 'node:readline';
import { Wharf } from '../engine/index.js';
import { WharfError } from '../errors/index.js';
import { formatError, markDaemonSide } from './errors.js';
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

/**
 * Open the engine for one CLI call and always close it. `daemon`: `fn` sees the engine through daemonSide, so that
 * what the engine's calls throw prints as the docker CLI prints a daemon's errors (a verb whose output was compared
 * with docker's: test/integration/cli-docker-diffs.test.ts).
 */
export async function withEngine<T>(
  ctx: CliContext,
  fn: (w: Wharf) => Promise<T>,
  opts: { shortRead?: boolean; daemon?: boolean } = {},
): Promise<T> {
  const g = ctx.globals();
  let w: Wharf | undefined;
  try {
    const opened = await Wharf.open({
      root: g.root,
      runRoot: g.runRoot,
      ...engineSettings(),
      ...networkPoolsFromEnv(),
      ...(opts.shortRead ? { shortRead: true } : {}),
    }).catch((err: unknown) => {
      // What fails to open the engine (its database on a full disk) is a daemon's failure too, for a `daemon` verb.
      throw opts.daemon ? markDaemonSide(err) : err;
    });
    w = opened;
    trace('engine opened');
    return await fn(opts.daemon ? daemonSide(opened) : opened);
  } catch (err) {
    throw diskFullError(err, g.root) ?? err;
  } finally {
    w?.close();
  }
}

/** withEngine with `daemon`: the engine's errors print as docker prints a daemon's ("Error response from daemon: …"). */
export function withDaemonEngine<T>(ctx: CliContext, fn: (w: Wharf) => Promise<T>): Promise<T> {
  return withEngine(ctx, fn, { daemon: true });
}

/**
 * withEngine for a short verb that only reads (`ps`, `images`, `inspect`): it works on a disk full to the byte too,
 * with the database opened for it alone (meta/db.ts).
 */
export function withReadEngine<T>(ctx: CliContext, fn: (w: Wharf) => Promise<T>): Promise<T> {
  return withEngine(ctx, fn, { shortRead: true });
}

const isAsyncIterator = (r: unknown): r is AsyncIterableIterator<unknown> =>
  r !== null &&
  typeof r === 'object' &&
  Symbol.asyncIterator in r &&
  typeof (r as { next?: unknown }).next === 'function';

/** An async iterator (`logs`, `events`) whose failures are marked as the daemon's, as daemonSide's calls are. */
function markingIterator(it: AsyncIterableIterator<unknown>): AsyncIterableIterator<unknown> {
  const mark = (err: unknown) => Promise.reject(markDaemonSide(err));
  return {
    next: (...a: [] | [unknown]) => it.next(...a).catch(mark),
    return: (v?: unknown) => (it.return ? it.return(v).catch(mark) : Promise.resolve({ done: true, value: v })),
    throw: (e?: unknown) => (it.throw ? it.throw(e).catch(mark) : Promise.reject(e)),
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/**
 * The engine as a daemon's client sees it: an error thrown by a call of the engine or of one of its services, at any
 * depth (`w.images.archives.save`), sync, async or from an async iterator, is marked as the daemon's answer
 * (markDaemonSide); what the verb's own code throws is not. Methods run on the real objects (their private fields
 * need it). Values that are data rather than services (buffers, arrays, maps, streams, promises) are handed out as
 * they are: a proxy of a Buffer is not a Buffer to Node's own functions.
 */
function daemonSide(w: Wharf): Wharf {
  const proxies = new WeakMap<object, object>();
  const marking =
    (f: (...a: unknown[]) => unknown, self: object) =>
    (...args: unknown[]): unknown => {
      try {
        const r = f.apply(self, args);
        if (r instanceof Promise) return r.catch((err: unknown) => Promise.reject(markDaemonSide(err)));
        return isAsyncIterator(r) ? markingIterator(r) : r;
      } catch (err) {
        throw markDaemonSide(err);
      }
    };
  const service = <T extends object>(target: T): T => {
    const known = proxies.get(target);
    if (known) return known as T;
    const proxy = new Proxy(target, {
      get(t, prop) {
        const v = Reflect.get(t, prop, t) as unknown;
        if (typeof v === 'function') return marking(v as (...a: unknown[]) => unknown, t);
        return isService(v) ? service(v) : v;
      },
    });
    proxies.set(target, proxy);
    return proxy;
  };
  return service(w);
}

/** An object of the engine's own classes (a service), not data: what daemonSide wraps. */
function isService(v: unknown): v is object {
  if (v === null || typeof v !== 'object') return false;
  if (ArrayBuffer.isView(v) || Array.isArray(v) || v instanceof Map || v instanceof Set || v instanceof Promise)
    return false;
  const proto = Object.getPrototypeOf(v) as object | null;
  if (proto === Object.prototype || proto === null) return false; // a record, options: data
  return typeof (v as { on?: unknown }).on !== 'function'; // streams and other emitters are handed out as they are
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

/**
 * The line for an engine error that a verb reports itself before going on (`rm a b`, `volume rm`, `rename`): a full
 * disk said as such (diskFullError), the daemon's prefix where the engine's call was marked (errors.ts).
 */
export function engineErrorLine(ctx: CliContext, err: unknown): string {
  return formatError(diskFullError(err, ctx.globals().root) ?? err, false);
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
export function goTimeString(d: Date, fraction = false): string {
  const iso = d.toISOString();
  // Go's String() writes the fractional seconds a time has, trailing zeros dropped (`.681`, none for `.000`).
  const frac = fraction ? iso.slice(19, 23).replace(/\.?0+$/, '') : '';
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${frac} +0000 UTC`;
}
