/**
 * `--change` instructions for `import` and `commit`: Dockerfile-style lines applied to an image config. Pure.
 * Exactly Docker's accepted set (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, USER, VOLUME, WORKDIR); anything else
 * is an error, never silently ignored (moby/moby#13886).
 */
import * as path from 'node:path';
import { WharfError } from '../errors/index.js';
import type { ContainerConfig } from '../oci/index.js';

export const CHANGE_INSTRUCTIONS = ['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'LABEL', 'ONBUILD', 'USER', 'VOLUME', 'WORKDIR'] as const;

const bad = (change: string, why: string) => new WharfError('INVALID_ARGUMENT', `invalid --change "${change}": ${why}`);

/** A JSON array of strings, or undefined when the text is not in exec form. */
function execForm(rest: string): string[] | undefined {
  const t = rest.trim();
  if (!t.startsWith('[')) return undefined;
  try {
    const v = JSON.parse(t) as unknown;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  } catch {
    // not JSON: Docker then treats the text as shell form
  }
  return undefined;
}

/** Split words honouring single and double quotes and backslash escapes (as Dockerfile ENV/LABEL do). */
export function splitWords(s: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < s.length) cur += s[++i];
      else cur += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < s.length) {
      cur += s[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) throw new WharfError('INVALID_ARGUMENT', `unterminated quote in: ${s}`);
  if (inWord) words.push(cur);
  return words;
}

/** `k=v k2="v 2"` pairs, or the legacy single `k v` form. */
function keyValues(change: string, keyword: string, rest: string): Array<[string, string]> {
  const words = splitWords(rest);
  if (words.length === 0) throw bad(change, `${keyword} requires at least one argument`);
  if (!words[0]!.includes('=')) {
    // Legacy form: the first word is the key and the rest of the line the value.
    const m = /^\s*(\S+)\s+([\s\S]*)$/.exec(rest);
    if (!m) throw bad(change, `${keyword} ${words[0]} must have a value`);
    return [[m[1]!, splitWords(m[2]!).join(' ')]];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0) throw bad(change, `${keyword} names can not be blank and need a value: "${w}"`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}

export function parsePortSpec(spec: string): string[] {
  const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(spec);
  if (!m) throw new WharfError('INVALID_ARGUMENT', `invalid port "${spec}"`);
  const start = Number(m[1]);
  const end = m[2] ? Number(m[2]) : start;
  const proto = (m[3] ?? 'tcp').toLowerCase();
  if (start < 0 || end > 65535 || end < start) throw new WharfError('INVALID_ARGUMENT', `invalid port range "${spec}"`);
  const out: string[] = [];
  for (let p = start; p <= end; p++) out.push(`${p}/${proto}`);
  return out;
}

/** Apply one change to a copy of the config and return it. */
export function applyChange(config: ContainerConfig, change: string, state: { cmdSet: boolean } = { cmdSet: false }): ContainerConfig {
  const m = /^\s*([A-Za-z]+)(?:\s+([\s\S]*))?$/.exec(change);
  if (!m) throw bad(change, 'expected an instruction such as CMD ["sh"]');
  const keyword = m[1]!.toUpperCase();
  const rest = (m[2] ?? '').trim();
  if (!(CHANGE_INSTRUCTIONS as readonly string[]).includes(keyword)) {
    throw bad(change, `${keyword} is not a valid change command (valid: ${CHANGE_INSTRUCTIONS.join(', ')})`);
  }
  const c: ContainerConfig = structuredClone(config);
  switch (keyword) {
    case 'CMD':
    case 'ENTRYPOINT': {
      if (!rest) throw bad(change, `${keyword} requires at least one argument`);
      const argv = execForm(rest) ?? ['/bin/sh', '-c', rest];
      if (keyword === 'CMD') {
        c.Cmd = argv;
        state.cmdSet = true;
      } else {
        c.Entrypoint = argv;
        // As in Docker: a new ENTRYPOINT resets a CMD inherited from the base image, not one set alongside it.
        if (!state.cmdSet) c.Cmd = null;
      }
      break;
    }
    case 'ENV': {
      const env = [...(c.Env ?? [])];
      for (const [k, v] of keyValues(change, 'ENV', rest)) {
        const i = env.findIndex((e) => e.split('=')[0] === k);
        if (i >= 0) env[i] = `${k}=${v}`;
        else env.push(`${k}=${v}`);
      }
      c.Env = env;
      break;
    }
    case 'LABEL': {
      const labels = { ...(c.Labels ?? {}) };
      for (const [k, v] of keyValues(change, 'LABEL', rest)) labels[k] = v;
      c.Labels = labels;
      break;
    }
    case 'EXPOSE': {
      const words = splitWords(rest);
      if (words.length === 0) throw bad(change, 'EXPOSE requires at least one argument');
      const ports = { ...(c.ExposedPorts ?? {}) };
      for (const w of words) for (const p of parsePortSpec(w)) ports[p] = {};
      c.ExposedPorts = ports;
      break;
    }
    case 'USER':
      if (!rest) throw bad(change, 'USER requires exactly one argument');
      c.User = rest;
      break;
    case 'WORKDIR': {
      if (!rest) throw bad(change, 'WORKDIR requires exactly one argument');
      const dir = splitWords(rest).join(' ');
      c.WorkingDir = path.posix.resolve(c.WorkingDir || '/', dir);
      break;
    }
    case 'VOLUME': {
      const vols = execForm(rest) ?? splitWords(rest);
      if (vols.length === 0 || vols.some((v) => v.trim() === '')) throw bad(change, 'VOLUME specified can not be an empty string');
      c.Volumes = { ...(c.Volumes ?? {}) };
      for (const v of vols) c.Volumes[v] = {};
      break;
    }
    case 'ONBUILD': {
      const inner = /^\s*([A-Za-z]+)/.exec(rest)?.[1]?.toUpperCase();
      if (!inner) throw bad(change, 'ONBUILD requires an instruction');
      if (inner === 'ONBUILD') throw bad(change, 'chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
      if (inner === 'FROM' || inner === 'MAINTAINER') throw bad(change, `${inner} isn't allowed as an ONBUILD trigger`);
      c.OnBuild = [...(c.OnBuild ?? []), rest];
      break;
    }
  }
  return c;
}

export function applyChanges(config: ContainerConfig, changes: readonly string[]): ContainerConfig {
  const state = { cmdSet: false };
  return changes.reduce((c, ch) => applyChange(c, ch, state), config);
}
