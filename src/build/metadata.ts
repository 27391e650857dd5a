import type { ContainerConfig } from '../oci/index.js';
import { PROXY_BUILD_ARGS, type Instruction, type KeyValue } from '../dockerfile/index.js';
import { applyInstruction, isConfigInstruction, shellOf, type ConfigInstruction } from '../image/index.js';
import { formatGoDuration } from '../util/index.js';
import { goQuote, goQuoteRune, goQuoteSlice, goSlice } from './goformat.js';

/**
 * The builder's metadata steps: the config change (image/apply-instruction.ts, shared with `--change`) and the
 * `created_by` strings Docker's classic builder writes for every step (builder/dockerfile/dispatchers.go). Pure.
 */

/** What a stage carries between steps besides the config. */
export interface StageMeta {
  /** Set by MAINTAINER; becomes the image's and later history entries' author. */
  maintainer?: string;
  /** A CMD was given in this stage, so a later ENTRYPOINT keeps it. */
  cmdSet: boolean;
}

/** The argv a metadata step records: `/bin/sh -c #(nop)  ENV a=b` (Docker puts "#(nop) " and the comment apart). */
export function nopCommand(rc: ContainerConfig, comment: string): string[] {
  return [...shellOf(rc), '#(nop) ', comment];
}

/** The same with one argument (`WORKDIR`, `COPY`): `/bin/sh -c #(nop) WORKDIR /x`. */
export function nopCommandString(rc: ContainerConfig, comment: string): string[] {
  return [...shellOf(rc), `#(nop) ${comment}`];
}

/**
 * What a RUN records (history and cache): `|2 A=1 B=2 /bin/sh -c make` when build args reach its environment.
 * Proxy args are left out, as in Docker, so changing a proxy never busts the cache.
 */
export function runRecordedArgv(argv: readonly string[], buildArgs: readonly KeyValue[]): string[] {
  const vars = buildArgs
    .filter((a) => !PROXY_BUILD_ARGS.includes(a.key))
    .map((a) => `${a.key}=${a.value}`)
    .sort();
  return vars.length > 0 ? [`|${vars.length}`, ...vars, ...argv] : [...argv];
}

const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

function healthComment(h: ContainerConfig['Healthcheck']): string {
  const d = (n: number | undefined) => goQuote(formatGoDuration(n ?? 0));
  return `&{${goQuoteSlice(h?.Test ?? [])} ${d(h?.Interval)} ${d(h?.Timeout)} ${d(h?.StartPeriod)} ${goQuoteRune(h?.Retries ?? 0)}}`;
}

/**
 * Apply a metadata instruction to `rc` (mutated) and return the comment Docker commits it with, or undefined for
 * instructions that are not metadata steps (RUN, COPY, ADD, WORKDIR, FROM).
 */
export function applyMetadata(rc: ContainerConfig, inst: Instruction, meta: StageMeta): string | undefined {
  if (inst.kind === 'MAINTAINER') {
    meta.maintainer = inst.maintainer;
    return `MAINTAINER ${inst.maintainer}`;
  }
  if (inst.kind === 'ARG') {
    return `ARG ${inst.args.map((a) => (a.value === undefined ? a.key : `${a.key}=${a.value}`)).join(' ')}`;
  }
  if (!isConfigInstruction(inst) || inst.kind === 'WORKDIR') return undefined;
  applyInstruction(rc, inst, meta);
  return metadataComment(rc, inst);
}

/** The comment of a metadata step, read from the config it produced. */
function metadataComment(rc: ContainerConfig, inst: Exclude<ConfigInstruction, { kind: 'WORKDIR' }>): string {
  switch (inst.kind) {
    case 'ENV':
    case 'LABEL':
      return `${inst.kind}${inst.pairs.map((p) => ` ${p.key}=${p.value}`).join('')}`;
    case 'EXPOSE':
      // Docker 20.10 sorts the ports in the recorded comment.
      return `EXPOSE ${[...inst.ports].sort(byBytes).join(' ')}`;
    case 'CMD':
      return `CMD ${goQuoteSlice(rc.Cmd ?? [])}`;
    case 'ENTRYPOINT':
      return `ENTRYPOINT ${goQuoteSlice(rc.Entrypoint ?? [])}`;
    case 'USER':
      return `USER ${inst.user}`;
    case 'VOLUME':
      return `VOLUME ${goSlice(inst.volumes)}`;
    case 'STOPSIGNAL':
      return `STOPSIGNAL ${inst.signal}`;
    case 'HEALTHCHECK':
      return `HEALTHCHECK ${healthComment(rc.Healthcheck)}`;
    case 'SHELL':
      return `SHELL ${goSlice(inst.shell)}`;
    case 'ONBUILD':
      return `ONBUILD ${inst.expression}`;
  }
}
