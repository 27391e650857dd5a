/**
 * A container process's argv and environment as Docker composes them from the image config and the run options
 * (pure; buildSpec and exec use them).
 */
import { WharfError } from '../errors/index.js';
import type { ImageRunConfig, SpecOptions } from './spec.js';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Docker's rule for the argv: (Entrypoint ++ Cmd), where an overridden entrypoint also discards the image's Cmd. */
export function resolveArgs(image: ImageRunConfig, opts: Pick<SpecOptions, 'command' | 'entrypoint'>): string[] {
  let entrypoint: string[];
  let cmd: string[];
  if (opts.entrypoint !== undefined) {
    entrypoint = opts.entrypoint.filter((a, i) => !(i === 0 && a === '' && opts.entrypoint!.length === 1));
    cmd = opts.command ?? [];
  } else {
    entrypoint = image.Entrypoint ?? [];
    cmd = opts.command !== undefined && opts.command.length > 0 ? opts.command : (image.Cmd ?? []);
  }
  const args = [...entrypoint, ...cmd];
  if (args.length === 0)
    throw new WharfError('INVALID_ARGUMENT', 'no command specified: the image has no Cmd or Entrypoint');
  return args;
}

export const envKey = (kv: string): string => {
  const i = kv.indexOf('=');
  return i < 0 ? kv : kv.slice(0, i);
};

/** Replace-or-append by key, keeping first-seen order (moby's ReplaceOrAppendEnvValues). */
export function mergeEnv(base: readonly string[], overrides: readonly string[]): string[] {
  const out = [...base];
  for (const kv of overrides) {
    const key = envKey(kv);
    const i = out.findIndex((e) => envKey(e) === key);
    if (i >= 0) out[i] = kv;
    else out.push(kv);
  }
  return out;
}

/**
 * A container config's Env as dockerd merges it at create (daemon/create.go `merge`): the user's `-e` values in their
 * order, then each of the image's whose name they do not set. (The process's environment is `mergeEnv`'s.)
 */
export function containerConfigEnv(image: readonly string[], user: readonly string[]): string[] {
  const set = new Set(user.map(envKey));
  return [...user, ...image.filter((kv) => !set.has(envKey(kv)))];
}

/**
 * The container's environment: PATH, HOSTNAME, TERM (with a tty), then the image's Env, then `-e`, each replacing by
 * key; HOME from the user's passwd entry when nobody set it.
 */
export function resolveEnv(
  image: ImageRunConfig,
  opts: Pick<SpecOptions, 'env' | 'hostEnv' | 'hostname' | 'tty'>,
  home?: string,
): string[] {
  const base = [`PATH=${DEFAULT_PATH}`];
  if (opts.hostname !== undefined) base.push(`HOSTNAME=${opts.hostname}`);
  if (opts.tty) base.push('TERM=xterm');
  const user: string[] = [];
  for (const e of opts.env ?? []) {
    if (envKey(e) === '') throw new WharfError('INVALID_ARGUMENT', `invalid environment variable: "${e}"`);
    if (e.includes('=')) user.push(e);
    else {
      const v = opts.hostEnv?.[e];
      if (v !== undefined) user.push(`${e}=${v}`);
    }
  }
  let env = mergeEnv(mergeEnv(base, image.Env ?? []), user);
  if (home !== undefined && !env.some((e) => envKey(e) === 'HOME')) env = [...env, `HOME=${home}`];
  return env;
}
