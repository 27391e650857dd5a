import { problem } from './errors.js';
import type { Instruction, RunInstruction, SourceContent } from './instructions.js';
import { parseMount } from './mounts.js';
import { ShellLex, type EnvSource } from './shell-lex.js';
import { checkChecksum, checkChmod, checkPortSpec, checkSignal } from './validate.js';

/**
 * Variable expansion for one instruction, following Docker's "Environment replacement" list:
 * ADD, COPY, ENV, EXPOSE, FROM, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR (and ARG defaults,
 * `--chown`/`--chmod`/`--from`/`--checksum`/`--exclude`, `RUN --mount` values). RUN, CMD,
 * ENTRYPOINT, SHELL, HEALTHCHECK, MAINTAINER and ONBUILD are returned unchanged: their shell
 * text is the shell's business, and ONBUILD triggers expand in the downstream build.
 */

export interface Expansion<T extends Instruction = Instruction> {
  instruction: T;
  /** Variables that were read and set (sorted), for cache keys. */
  used: string[];
  /** Variables that were read but not set (sorted), for lint. */
  unset: string[];
}

/** Expander bound to one environment that remembers which names it read. */
export class ScopedExpander {
  readonly used = new Set<string>();
  readonly unset = new Set<string>();
  private readonly lex: ShellLex;
  private readonly rawLex: ShellLex;

  constructor(
    private readonly env: EnvSource,
    escape: string = '\\',
  ) {
    this.lex = new ShellLex(escape);
    // Heredoc bodies keep their quotes: only `$` is special there.
    this.rawLex = new ShellLex('\\', { skipProcessQuotes: true });
  }

  private record(r: { matched: Set<string>; unmatched: Set<string> }): void {
    for (const n of r.matched) this.used.add(n);
    for (const n of r.unmatched) this.unset.add(n);
  }

  word = (w: string): string => {
    const r = this.lex.process(w, this.env);
    this.record(r);
    return r.result;
  };

  words = (w: string): string[] => {
    const r = this.lex.process(w, this.env);
    this.record(r);
    return r.words;
  };

  raw = (w: string): string => {
    const r = this.rawLex.process(w, this.env);
    this.record(r);
    return r.result;
  };

  optional = (w: string | undefined): string | undefined => (w === undefined ? undefined : this.word(w));
}

function expandContents(contents: SourceContent[], x: ScopedExpander): SourceContent[] {
  return contents.map((c) => (c.expand ? { ...c, data: x.raw(c.data) } : c));
}

function setOptional<T extends object, K extends keyof T>(obj: T, key: K, value: T[K] | undefined): void {
  if (value === undefined) delete obj[key];
  else obj[key] = value;
}

function expandRun(inst: RunInstruction, x: ScopedExpander): RunInstruction {
  if (inst.mountSpecs.length === 0) return inst;
  return {
    ...inst,
    mounts: inst.mountSpecs.map((s) => {
      try {
        return parseMount(s, { expand: x.word });
      } catch (err) {
        throw problem(`RUN --mount: ${err instanceof Error ? err.message : String(err)}`);
      }
    }),
  };
}

/** Expands `inst` against `env` (`KEY=value` list, record or map). Throws SyntaxProblem-coded WharfErrors. */
export function expandInstruction<T extends Instruction>(inst: T, env: EnvSource, escape = '\\'): Expansion<T> {
  const x = new ScopedExpander(env, escape);
  const out = expandWith(inst, x) as T;
  return { instruction: out, used: [...x.used].sort(), unset: [...x.unset].sort() };
}

export function expandWith(inst: Instruction, x: ScopedExpander): Instruction {
  switch (inst.kind) {
    case 'FROM': {
      const out = { ...inst, image: x.word(inst.image) };
      setOptional(out, 'platform', x.optional(inst.platform));
      if (out.image === '') throw problem(`base name (${inst.image}) should not be blank`);
      return out;
    }
    case 'ENV':
    case 'LABEL':
      return { ...inst, pairs: inst.pairs.map((p) => ({ key: x.word(p.key), value: x.word(p.value) })) };
    case 'ARG':
      return {
        ...inst,
        args: inst.args.map((a) => (a.value === undefined ? { key: a.key } : { key: a.key, value: x.word(a.value) })),
      };
    case 'EXPOSE': {
      const ports = inst.ports.flatMap((p) => x.words(p));
      for (const p of ports) checkPortSpec(p);
      return { ...inst, ports };
    }
    case 'COPY':
    case 'ADD': {
      const out = {
        ...inst,
        sources: inst.sources.map(x.word),
        sourceContents: expandContents(inst.sourceContents, x),
        dest: x.word(inst.dest),
        exclude: inst.exclude.map(x.word),
      };
      setOptional(out, 'chown', x.optional(inst.chown));
      setOptional(out, 'chmod', x.optional(inst.chmod));
      if (out.chmod !== undefined) checkChmod(out.chmod);
      if (out.kind === 'COPY' && inst.kind === 'COPY') setOptional(out, 'from', x.optional(inst.from));
      if (out.kind === 'ADD' && inst.kind === 'ADD') {
        setOptional(out, 'checksum', x.optional(inst.checksum));
        if (out.checksum !== undefined) checkChecksum(out.checksum);
      }
      const count = out.sources.length + out.sourceContents.length;
      if (count > 1 && !out.dest.endsWith('/')) {
        throw problem(
          `When using ${inst.kind} with more than one source file, the destination must be a directory and end with a /`,
        );
      }
      return out;
    }
    case 'WORKDIR':
      return { ...inst, path: x.word(inst.path) };
    case 'USER':
      return { ...inst, user: x.word(inst.user) };
    case 'VOLUME': {
      const volumes = inst.volumes.map(x.word);
      if (volumes.some((v) => v.trim() === '')) throw problem('VOLUME specified can not be an empty string');
      return { ...inst, volumes };
    }
    case 'STOPSIGNAL': {
      const signal = x.word(inst.signal);
      checkSignal(signal);
      return { ...inst, signal };
    }
    case 'RUN':
      return expandRun(inst, x);
    case 'CMD':
    case 'ENTRYPOINT':
    case 'SHELL':
    case 'HEALTHCHECK':
    case 'MAINTAINER':
    case 'ONBUILD':
      return inst;
  }
}
