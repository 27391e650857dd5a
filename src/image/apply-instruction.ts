/**
 * How a Dockerfile instruction changes an image config (moby builder/dockerfile/dispatchers.go, config side only):
 * the one implementation behind the builder's metadata steps and `import`/`commit --change`. Pure.
 */
import * as path from 'node:path';
import { WharfError } from '../errors/index.js';
import type { ContainerConfig, HealthConfig as ConfigHealth } from '../oci/index.js';
import { parsePortRange, type CommandLine, type HealthConfig, type Instruction } from '../dockerfile/index.js';

/** The instructions that change only the config (RUN, COPY and ADD make layers; FROM, ARG, MAINTAINER are stage state). */
export const CONFIG_INSTRUCTIONS = [
  'CMD',
  'ENTRYPOINT',
  'ENV',
  'EXPOSE',
  'HEALTHCHECK',
  'LABEL',
  'ONBUILD',
  'SHELL',
  'STOPSIGNAL',
  'USER',
  'VOLUME',
  'WORKDIR',
] as const;
export type ConfigInstruction = Extract<Instruction, { kind: (typeof CONFIG_INSTRUCTIONS)[number] }>;

export function isConfigInstruction(inst: Instruction): inst is ConfigInstruction {
  return (CONFIG_INSTRUCTIONS as readonly string[]).includes(inst.kind);
}

/** What applying instructions carries from one to the next besides the config. */
export interface ConfigState {
  /** A CMD was given among these instructions, so a later ENTRYPOINT keeps it. */
  cmdSet: boolean;
}

const DEFAULT_SHELL = ['/bin/sh', '-c'];

export function shellOf(rc: ContainerConfig): string[] {
  return rc.Shell && rc.Shell.length > 0 ? [...rc.Shell] : [...DEFAULT_SHELL];
}

/** RUN/CMD/ENTRYPOINT argv: exec form as written, shell form through the config's SHELL. */
export function commandArgv(rc: ContainerConfig, cmd: CommandLine): string[] {
  return cmd.form === 'exec' ? [...cmd.args] : [...shellOf(rc), cmd.script];
}

/** Docker's normalizeWorkdir: relative paths join the current one; the result is clean and absolute. */
export function nextWorkdir(current: string | undefined, requested: string): string {
  return path.posix.resolve('/', current || '/', requested);
}

/** An EXPOSE value as the config's port keys: `8000-8001/udp` → `8000/udp`, `8001/udp`. */
function exposedPorts(spec: string): string[] {
  const { start, end, proto } = parsePortRange(spec);
  const out: string[] = [];
  for (let p = start; p <= end; p++) out.push(`${p}/${proto}`);
  return out;
}

/** The config's Healthcheck for a HEALTHCHECK: durations left out when not given, so the base image's apply. */
function healthcheckConfig(h: HealthConfig): ConfigHealth {
  const out: ConfigHealth = { Test: [...h.test] };
  if (h.interval) out.Interval = h.interval;
  if (h.timeout) out.Timeout = h.timeout;
  if (h.startPeriod) out.StartPeriod = h.startPeriod;
  if (h.startInterval) out.StartInterval = h.startInterval;
  if (h.retries) out.Retries = h.retries;
  return out;
}

function setEnv(env: string[], key: string, value: string): void {
  const i = env.findIndex((e) => (e.includes('=') ? e.slice(0, e.indexOf('=')) : e) === key);
  if (i >= 0) env[i] = `${key}=${value}`;
  else env.push(`${key}=${value}`);
}

/** Apply one expanded instruction to `rc` (mutated; its arrays and maps are replaced, never shared with a copy). */
export function applyInstruction(rc: ContainerConfig, inst: ConfigInstruction, state: ConfigState): void {
  switch (inst.kind) {
    case 'ENV': {
      const env = [...(rc.Env ?? [])];
      for (const p of inst.pairs) setEnv(env, p.key, p.value);
      rc.Env = env;
      return;
    }
    case 'LABEL': {
      const labels = { ...(rc.Labels ?? {}) };
      for (const p of inst.pairs) labels[p.key] = p.value;
      rc.Labels = labels;
      return;
    }
    case 'EXPOSE': {
      const ports = { ...(rc.ExposedPorts ?? {}) };
      for (const spec of inst.ports) for (const p of exposedPorts(spec)) ports[p] = {};
      rc.ExposedPorts = ports;
      return;
    }
    case 'CMD':
      rc.Cmd = commandArgv(rc, inst.command);
      state.cmdSet = true;
      return;
    case 'ENTRYPOINT': {
      const argv = commandArgv(rc, inst.command);
      rc.Entrypoint = argv.length > 0 ? argv : null;
      // A new ENTRYPOINT resets a CMD inherited from the base, not one set alongside it.
      if (!state.cmdSet) rc.Cmd = null;
      return;
    }
    case 'USER':
      rc.User = inst.user;
      return;
    case 'WORKDIR':
      rc.WorkingDir = nextWorkdir(rc.WorkingDir, inst.path);
      return;
    case 'VOLUME': {
      const vols = { ...(rc.Volumes ?? {}) };
      for (const v of inst.volumes) {
        if (v.trim() === '') throw new WharfError('INVALID_ARGUMENT', 'VOLUME specified can not be an empty string');
        vols[v] = {};
      }
      rc.Volumes = vols;
      return;
    }
    case 'STOPSIGNAL':
      rc.StopSignal = inst.signal;
      return;
    case 'HEALTHCHECK':
      rc.Healthcheck = healthcheckConfig(inst.health);
      return;
    case 'SHELL':
      rc.Shell = [...inst.shell];
      return;
    case 'ONBUILD':
      rc.OnBuild = [...(rc.OnBuild ?? []), inst.expression];
      return;
  }
}
