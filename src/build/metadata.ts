import * as path from 'node:path';
import { WharfError } from '../errors/index.js';
import type { ContainerConfig } from '../oci/index.js';
import type { CommandLine, HealthConfig, Instruction, KeyValue } from '../dockerfile/index.js';
import { parsePortSpec } from '../image/index.js';
import { PROXY_BUILD_ARGS } from '../dockerfile/index.js';
import { formatGoDuration } from '../util/index.js';
import { goQuote, goQuoteRune, goQuoteSlice, goSlice } from './goformat.js';

/**
 * Config mutation for the steps that change only the image config, and the `created_by` strings Docker's classic
 * builder writes for every step (builder/dockerfile/dispatchers.go). Pure.
 */

/** What a stage carries between steps besides the config. */
export interface StageMeta {
  /** Set by MAINTAINER; becomes the image's and later history entries' author. */
  maintainer?: string;
  /** A CMD was given in this stage, so a later ENTRYPOINT keeps it. */
  cmdSet: boolean;
}

export const DEFAULT_SHELL = ['/bin/sh', '-c'];

export function shellOf(rc: ContainerConfig): string[] {
  return rc.Shell && rc.Shell.length > 0 ? [...rc.Shell] : [...DEFAULT_SHELL];
}

/** The argv a metadata step records: `/bin/sh -c #(nop)  ENV a=b` (Docker puts "#(nop) " and the comment apart). */
export function nopCommand(rc: ContainerConfig, comment: string): string[] {
  return [...shellOf(rc), '#(nop) ', comment];
}

/** The same with one argument (`WORKDIR`, `COPY`): `/bin/sh -c #(nop) WORKDIR /x`. */
export function nopCommandString(rc: ContainerConfig, comment: string): string[] {
  return [...shellOf(rc), `#(nop) ${comment}`];
}

/** RUN/CMD/ENTRYPOINT argv: exec form as written, shell form through the stage's SHELL. */
export function commandArgv(rc: ContainerConfig, cmd: CommandLine): string[] {
  return cmd.form === 'exec' ? [...cmd.args] : [...shellOf(rc), cmd.script];
}

/**
 * What a RUN records (history and cache): `|2 A=1 B=2 /bin/sh -c make` when build args reach its environment.
 * Proxy args are left out, as in Docker, so changing a proxy never busts the cache.
 */
export function runRecordedArgv(argv: readonly string[], buildArgs: readonly KeyValue[]): string[] {
  const vars = buildArgs.filter((a) => !PROXY_BUILD_ARGS.includes(a.key)).map((a) => `${a.key}=${a.value}`).sort();
  return vars.length > 0 ? [`|${vars.length}`, ...vars, ...argv] : [...argv];
}

function setEnv(env: string[], key: string, value: string): void {
  const i = env.findIndex((e) => (e.includes('=') ? e.slice(0, e.indexOf('=')) : e) === key);
  if (i >= 0) env[i] = `${key}=${value}`;
  else env.push(`${key}=${value}`);
}

const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

const pairs = (kvs: readonly KeyValue[]) => kvs.map((p) => ` ${p.key}=${p.value}`).join('');

function healthComment(h: ContainerConfig['Healthcheck']): string {
  const d = (n: number | undefined) => goQuote(formatGoDuration(n ?? 0));
  return `&{${goQuoteSlice(h?.Test ?? [])} ${d(h?.Interval)} ${d(h?.Timeout)} ${d(h?.StartPeriod)} ${goQuoteRune(h?.Retries ?? 0)}}`;
}

function healthConfig(h: HealthConfig): NonNullable<ContainerConfig['Healthcheck']> {
  const out: NonNullable<ContainerConfig['Healthcheck']> = { Test: [...h.test] };
  if (h.interval) out.Interval = h.interval;
  if (h.timeout) out.Timeout = h.timeout;
  if (h.startPeriod) out.StartPeriod = h.startPeriod;
  if (h.startInterval) out.StartInterval = h.startInterval;
  if (h.retries) out.Retries = h.retries;
  return out;
}

/** Docker's normalizeWorkdir: relative paths join the current one; the result is clean and absolute. */
export function nextWorkdir(current: string | undefined, requested: string): string {
  return path.posix.resolve('/', current || '/', requested);
}

/**
 * Apply a metadata instruction to `rc` (mutated) and return the comment Docker commits it with, or undefined for
 * instructions that are not metadata steps (RUN, COPY, ADD, WORKDIR, FROM).
 */
export function applyMetadata(rc: ContainerConfig, inst: Instruction, meta: StageMeta): string | undefined {
  switch (inst.kind) {
    case 'ENV': {
      const env = [...(rc.Env ?? [])];
      for (const p of inst.pairs) setEnv(env, p.key, p.value);
      rc.Env = env;
      return `ENV${pairs(inst.pairs)}`;
    }
    case 'LABEL': {
      const labels = { ...(rc.Labels ?? {}) };
      for (const p of inst.pairs) labels[p.key] = p.value;
      rc.Labels = labels;
      return `LABEL${pairs(inst.pairs)}`;
    }
    case 'MAINTAINER':
      meta.maintainer = inst.maintainer;
      return `MAINTAINER ${inst.maintainer}`;
    case 'EXPOSE': {
      const ports = { ...(rc.ExposedPorts ?? {}) };
      for (const spec of inst.ports) for (const p of parsePortSpec(spec)) ports[p] = {};
      rc.ExposedPorts = ports;
      // Docker 20.10 sorts the ports in the recorded comment.
      return `EXPOSE ${[...inst.ports].sort(byBytes).join(' ')}`;
    }
    case 'CMD': {
      const argv = commandArgv(rc, inst.command);
      rc.Cmd = argv;
      meta.cmdSet = true;
      return `CMD ${goQuoteSlice(argv)}`;
    }
    case 'ENTRYPOINT': {
      const argv = commandArgv(rc, inst.command);
      rc.Entrypoint = argv.length > 0 ? argv : null;
      if (!meta.cmdSet) rc.Cmd = null;
      return `ENTRYPOINT ${goQuoteSlice(argv)}`;
    }
    case 'USER':
      rc.User = inst.user;
      return `USER ${inst.user}`;
    case 'VOLUME': {
      const vols = { ...(rc.Volumes ?? {}) };
      for (const v of inst.volumes) {
        if (v.trim() === '') throw new WharfError('INVALID_ARGUMENT', 'VOLUME specified can not be an empty string');
        vols[v] = {};
      }
      rc.Volumes = vols;
      return `VOLUME ${goSlice(inst.volumes)}`;
    }
    case 'STOPSIGNAL':
      rc.StopSignal = inst.signal;
      return `STOPSIGNAL ${inst.signal}`;
    case 'HEALTHCHECK':
      rc.Healthcheck = healthConfig(inst.health);
      return `HEALTHCHECK ${healthComment(rc.Healthcheck)}`;
    case 'SHELL':
      rc.Shell = [...inst.shell];
      return `SHELL ${goSlice(inst.shell)}`;
    case 'ONBUILD':
      rc.OnBuild = [...(rc.OnBuild ?? []), inst.expression];
      return `ONBUILD ${inst.expression}`;
    case 'ARG':
      return `ARG ${inst.args.map((a) => (a.value === undefined ? a.key : `${a.key}=${a.value}`)).join(' ')}`;
    default:
      return undefined;
  }
}
