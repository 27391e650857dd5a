import { KEYWORDS, type Node } from './ast.js';
import { locate, problem, type Warning } from './errors.js';
import { FlagSet } from './flags.js';
import type {
  AddInstruction,
  CommandLine,
  CopyInstruction,
  FromInstruction,
  HealthConfig,
  Instruction,
  KeyValue,
  OnbuildInstruction,
  RunInstruction,
  SourceContent,
} from './instructions.js';
import { parseMount } from './mounts.js';
import { parseHeredocWord } from './parser.js';
import {
  checkChecksum,
  checkChmod,
  checkPortSpec,
  checkSignal,
  checkStageName,
  editDistance,
  parseHealthDuration,
} from './validate.js';

/**
 * Syntax tree node → typed instruction. Validates arity, flags and literal values; values holding `$` are checked
 * again after expansion. Grouping into stages is stages.ts.
 */

interface Ctx {
  file: string;
  warnings: Warning[];
}

// Values with `$`, quotes or escapes only take their final form after expansion; check them then.
const literal = (v: string | undefined): v is string => v !== undefined && !/[$'"\\`]/.test(v);

function base(node: Node) {
  return { original: node.original.trim(), range: node.range, comments: node.comments };
}

const atLeastOne = (kw: string) => problem(`${kw} requires at least one argument`);
const exactlyOne = (kw: string) => problem(`${kw} requires exactly one argument`);

function commandLine(node: Node, kw: string): CommandLine {
  if (node.json) return { form: 'exec', args: [...node.args] };
  if (node.args.length === 0) throw atLeastOne(kw);
  return { form: 'shell', script: node.args[0]! };
}

function pairs(node: Node, kw: string): KeyValue[] {
  if (node.args.length === 0) throw atLeastOne(kw);
  const out: KeyValue[] = [];
  for (let i = 0; i + 1 < node.args.length; i += 2) {
    if (node.args[i] === '') throw problem(`${kw} names can not be blank`);
    out.push({ key: node.args[i]!, value: node.args[i + 1]! });
  }
  return out;
}

function typeFrom(node: Node, ctx: Ctx): FromInstruction {
  const flags = new FlagSet(node.flags).string('platform').parse();
  const args = node.args;
  let stageName: string | undefined;
  if (args.length === 3 && args[1]!.toLowerCase() === 'as') {
    stageName = args[2]!.toLowerCase();
    checkStageName(stageName, args[2]!);
    const fromUpper = node.rawKeyword === node.rawKeyword.toUpperCase();
    const asUpper = args[1] === args[1]!.toUpperCase();
    if (fromUpper !== asUpper) {
      ctx.warnings.push({
        rule: 'FromAsCasing',
        message: `'${args[1]}' and '${node.rawKeyword}' keywords' casing do not match`,
        range: node.range,
      });
    }
    if (args[2] !== stageName) {
      ctx.warnings.push({
        rule: 'StageNameCasing',
        message: `Stage name '${args[2]}' should be lowercase`,
        range: node.range,
      });
    }
  } else if (args.length !== 1) {
    throw problem('FROM requires either one or three arguments');
  }
  const inst: FromInstruction = { kind: 'FROM', ...base(node), image: args[0]! };
  if (stageName !== undefined) inst.stageName = stageName;
  const platform = flags.getString('platform');
  if (platform !== undefined) inst.platform = platform;
  return inst;
}

function withPrefix<T>(prefix: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw problem(`${prefix}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function typeRun(node: Node): RunInstruction {
  const flags = new FlagSet(node.flags).strings('mount').string('network').string('security').parse();
  let command = commandLine(node, 'RUN');
  if (command.form === 'exec' && command.args.length === 0) throw atLeastOne('RUN');
  const inlineFiles: RunInstruction['inlineFiles'] = [];
  if (node.heredocs.length > 0 && command.form === 'shell') {
    const only = parseHeredocWord(command.script);
    const first = node.heredocs[0]!;
    if (only && node.heredocs.length === 1) {
      if (first.content.startsWith('#!')) {
        // A script with its own interpreter: run the file itself rather than feeding it to SHELL.
        const path = `/dev/pipes/${first.name}`;
        inlineFiles.push({ path, data: first.content, mode: 0o755 });
        command = { form: 'exec', args: [path] };
      } else {
        command = { form: 'shell', script: first.content };
      }
    } else {
      // Hand the whole heredoc text to the shell, which then does the redirections itself.
      let full = command.script;
      for (const h of node.heredocs) full += '\n' + h.content + h.name;
      command = { form: 'shell', script: full };
    }
  }
  const mountSpecs = flags.getStrings('mount');
  const inst: RunInstruction = {
    kind: 'RUN',
    ...base(node),
    command,
    heredocs: node.heredocs,
    inlineFiles,
    mountSpecs,
    mounts: mountSpecs.map((s) => withPrefix('RUN --mount', () => parseMount(s))),
  };
  const network = flags.getString('network');
  if (network !== undefined) {
    if (network !== 'default' && network !== 'none' && network !== 'host') {
      throw problem(`unsupported network mode ${JSON.stringify(network)} (expected default, none or host)`);
    }
    inst.network = network;
  }
  const security = flags.getString('security');
  if (security !== undefined) {
    if (security !== 'sandbox' && security !== 'insecure') {
      throw problem(`unsupported security mode ${JSON.stringify(security)} (expected sandbox or insecure)`);
    }
    inst.security = security;
  }
  return inst;
}

function sourcesAndDest(node: Node, kw: string): { sources: string[]; sourceContents: SourceContent[]; dest: string } {
  if (node.args.length < 2) {
    throw problem(
      `${kw} requires at least two arguments, but only one was provided. Destination could not be determined`,
    );
  }
  const dest = node.args[node.args.length - 1]!;
  if (parseHeredocWord(dest)) throw problem(`${kw} cannot accept a heredoc as a destination`);
  const byName = new Map(node.heredocs.map((h) => [h.name, h]));
  const sources: string[] = [];
  const sourceContents: SourceContent[] = [];
  for (const src of node.args.slice(0, -1)) {
    const h = node.json ? null : parseHeredocWord(src);
    if (h) {
      const doc = byName.get(h.name);
      sourceContents.push({ path: h.name, data: doc?.content ?? '', expand: h.expand });
    } else sources.push(src);
  }
  return { sources, sourceContents, dest };
}

function copyCommon(node: Node, flags: FlagSet, kw: string) {
  const sd = sourcesAndDest(node, kw);
  const out: Omit<CopyInstruction, 'kind' | 'parents'> = {
    ...base(node),
    ...sd,
    link: flags.getBool('link'),
    exclude: flags.getStrings('exclude'),
    json: node.json,
  };
  const chown = flags.getString('chown');
  if (chown !== undefined) out.chown = chown;
  const chmod = flags.getString('chmod');
  if (chmod !== undefined) {
    if (literal(chmod)) checkChmod(chmod);
    out.chmod = chmod;
  }
  return out;
}

function typeCopy(node: Node): CopyInstruction {
  const flags = new FlagSet(node.flags)
    .string('from')
    .string('chown')
    .string('chmod')
    .bool('link')
    .bool('parents')
    .strings('exclude')
    .parse();
  const inst: CopyInstruction = { kind: 'COPY', ...copyCommon(node, flags, 'COPY'), parents: flags.getBool('parents') };
  const from = flags.getString('from');
  if (from !== undefined) {
    if (from === '') throw problem('COPY --from requires a stage name, a stage index or an image');
    inst.from = from;
  }
  return inst;
}

function typeAdd(node: Node): AddInstruction {
  const flags = new FlagSet(node.flags)
    .string('chown')
    .string('chmod')
    .bool('link')
    .bool('keep-git-dir')
    .string('checksum')
    .strings('exclude')
    .parse();
  const inst: AddInstruction = {
    kind: 'ADD',
    ...copyCommon(node, flags, 'ADD'),
    keepGitDir: flags.getBool('keep-git-dir'),
  };
  const checksum = flags.getString('checksum');
  if (checksum !== undefined) {
    if (literal(checksum)) checkChecksum(checksum);
    inst.checksum = checksum;
  }
  return inst;
}

function typeHealthcheck(node: Node): Instruction {
  if (node.args.length === 0) throw atLeastOne('HEALTHCHECK');
  const type = node.args[0]!.toUpperCase();
  const rest = node.args.slice(1);
  let health: HealthConfig;
  if (type === 'NONE') {
    if (rest.length !== 0) throw problem('HEALTHCHECK NONE takes no arguments');
    if (node.flags.length > 0) throw problem('HEALTHCHECK NONE takes no flags');
    health = { test: ['NONE'] };
  } else {
    const flags = new FlagSet(node.flags)
      .string('interval')
      .string('timeout')
      .string('start-period')
      .string('start-interval')
      .string('retries')
      .parse();
    if (type !== 'CMD') throw problem(`Unknown type ${JSON.stringify(type)} in HEALTHCHECK (try CMD)`);
    if (rest.length === 0) throw problem('Missing command after HEALTHCHECK CMD');
    health = { test: node.json ? ['CMD', ...rest] : ['CMD-SHELL', rest[0]!] };
    const durations = [
      ['interval', 'interval'],
      ['timeout', 'timeout'],
      ['start-period', 'startPeriod'],
      ['start-interval', 'startInterval'],
    ] as const;
    for (const [flag, field] of durations) {
      const v = parseHealthDuration(flag, flags.getString(flag));
      if (v !== undefined) health[field] = v;
    }
    const retries = flags.getString('retries');
    if (retries !== undefined && retries !== '') {
      if (!/^[+-]?\d+$/.test(retries))
        throw problem(`HEALTHCHECK --retries: invalid number ${JSON.stringify(retries)}`);
      const n = Number.parseInt(retries, 10);
      if (n < 0) throw problem(`--retries cannot be negative (${n})`);
      if (n > 2 ** 31 - 1) throw problem(`HEALTHCHECK --retries: value out of range ${retries}`);
      if (n > 0) health.retries = n;
    }
  }
  return { kind: 'HEALTHCHECK', ...base(node), health };
}

function typeOnbuild(node: Node, ctx: Ctx): OnbuildInstruction {
  new FlagSet(node.flags).parse();
  const trig = node.trigger;
  if (!trig) throw atLeastOne('ONBUILD');
  const kw = trig.keyword.toUpperCase();
  if (kw === 'ONBUILD') throw problem("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  if (kw === 'MAINTAINER' || kw === 'FROM') throw problem(`${kw} isn't allowed as an ONBUILD trigger`);
  let expression = node.original.replace(/^\s*ONBUILD\s*/i, '');
  for (const h of node.heredocs) expression += '\n' + h.content + h.name;
  // Triggers run downstream, so warnings about them belong to that build.
  const trigger = typeNode(trig, { file: ctx.file, warnings: [] });
  return { kind: 'ONBUILD', ...base(node), expression, trigger };
}

function suggestKeyword(word: string): string {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestD = 3;
  for (const k of KEYWORDS) {
    const d = editDistance(lower, k);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best ? ` (did you mean ${best.toUpperCase()}?)` : '';
}

function typeNode(node: Node, ctx: Ctx): Instruction {
  const b = () => base(node);
  const noFlags = () => new FlagSet(node.flags).parse();
  switch (node.keyword) {
    case 'from':
      return typeFrom(node, ctx);
    case 'run':
      return typeRun(node);
    case 'cmd':
      noFlags();
      return { kind: 'CMD', ...b(), command: commandLine(node, 'CMD') };
    case 'entrypoint':
      noFlags();
      return { kind: 'ENTRYPOINT', ...b(), command: commandLine(node, 'ENTRYPOINT') };
    case 'env': {
      noFlags();
      if (node.legacyKeyValue) {
        ctx.warnings.push({
          rule: 'LegacyKeyValueFormat',
          message: '"ENV key=value" should be used instead of legacy "ENV key value" format',
          range: node.range,
        });
      }
      return { kind: 'ENV', ...b(), pairs: pairs(node, 'ENV'), legacyForm: node.legacyKeyValue };
    }
    case 'label': {
      noFlags();
      if (node.legacyKeyValue) {
        ctx.warnings.push({
          rule: 'LegacyKeyValueFormat',
          message: '"LABEL key=value" should be used instead of legacy "LABEL key value" format',
          range: node.range,
        });
      }
      return { kind: 'LABEL', ...b(), pairs: pairs(node, 'LABEL'), legacyForm: node.legacyKeyValue };
    }
    case 'arg': {
      noFlags();
      if (node.args.length === 0) throw atLeastOne('ARG');
      const args = node.args.map((a) => {
        const eq = a.indexOf('=');
        if (eq < 0) return { key: a };
        if (eq === 0) throw problem('ARG names can not be blank');
        return { key: a.slice(0, eq), value: a.slice(eq + 1) };
      });
      return { kind: 'ARG', ...b(), args };
    }
    case 'maintainer':
      noFlags();
      if (node.args.length !== 1) throw exactlyOne('MAINTAINER');
      ctx.warnings.push({
        rule: 'MaintainerDeprecated',
        message: 'Maintainer instruction is deprecated in favor of using label',
        range: node.range,
      });
      return { kind: 'MAINTAINER', ...b(), maintainer: node.args[0]! };
    case 'expose':
      noFlags();
      if (node.args.length === 0) throw atLeastOne('EXPOSE');
      for (const p of node.args) if (literal(p)) checkPortSpec(p);
      return { kind: 'EXPOSE', ...b(), ports: [...node.args] };
    case 'copy':
      return typeCopy(node);
    case 'add':
      return typeAdd(node);
    case 'workdir':
      noFlags();
      if (node.args.length !== 1) throw exactlyOne('WORKDIR');
      return { kind: 'WORKDIR', ...b(), path: node.args[0]! };
    case 'user':
      noFlags();
      if (node.args.length !== 1) throw exactlyOne('USER');
      return { kind: 'USER', ...b(), user: node.args[0]! };
    case 'volume': {
      noFlags();
      if (node.args.length === 0) throw atLeastOne('VOLUME');
      const volumes = node.args.map((v) => v.trim());
      if (volumes.some((v) => v === '')) throw problem('VOLUME specified can not be an empty string');
      return { kind: 'VOLUME', ...b(), volumes };
    }
    case 'shell':
      noFlags();
      if (node.args.length === 0) throw atLeastOne('SHELL');
      if (!node.json) throw problem(`SHELL requires the arguments to be in JSON form`);
      return { kind: 'SHELL', ...b(), shell: [...node.args] };
    case 'stopsignal': {
      noFlags();
      if (node.args.length !== 1) throw exactlyOne('STOPSIGNAL');
      const signal = node.args[0]!;
      if (literal(signal)) checkSignal(signal);
      return { kind: 'STOPSIGNAL', ...b(), signal };
    }
    case 'healthcheck':
      return typeHealthcheck(node);
    case 'onbuild':
      return typeOnbuild(node, ctx);
    default:
      throw problem(`unknown instruction: ${node.rawKeyword}${suggestKeyword(node.rawKeyword)}`);
  }
}

/** Types one node (and, for ONBUILD, the instruction it wraps). */
export function parseInstruction(node: Node, opts: { file?: string; warnings?: Warning[] } = {}): Instruction {
  const ctx: Ctx = { file: opts.file ?? 'Dockerfile', warnings: opts.warnings ?? [] };
  try {
    return typeNode(node, ctx);
  } catch (err) {
    locate(err, ctx.file, node.range);
  }
}
