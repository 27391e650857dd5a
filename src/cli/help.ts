/**
 * Docker's help layout (cobra's templates in docker/cli, pflag's FlagUsagesWrapped) for Wharf's commander commands:
 * `wharf --help`, `wharf GROUP --help` and `wharf VERB --help` print what `docker …` prints for the same command,
 * with the names of command-tree.ts (usage line, "Aliases:", common and management commands listed apart).
 * Pure: it reads commander's command objects (structurally) and returns strings.
 */
import { COMMON_COMMANDS, DOCKER_USAGE, aliasesOfSubcommand, aliasesOfVerb, groupNamed } from './command-tree.js';

/** The parts of commander's Option that help reads. */
export interface HelpOption {
  flags: string;
  short?: string | undefined;
  long?: string | undefined;
  description: string;
  defaultValue?: unknown;
  negate: boolean;
  required: boolean;
  optional: boolean;
  hidden: boolean;
}

/** The parts of commander's Command that help reads. */
export interface HelpCommand {
  name(): string;
  aliases(): string[];
  description(): string;
  readonly options: readonly HelpOption[];
  readonly commands: readonly HelpCommand[];
  readonly registeredArguments: ReadonlyArray<{ name(): string; required: boolean; variadic: boolean }>;
  readonly parent: HelpCommand | null;
}

const isHidden = (c: HelpCommand): boolean => (c as unknown as { _hidden?: boolean })._hidden === true;

/** The width pflag wraps flag descriptions to: docker uses the terminal's width (80 without one) minus one. */
export function helpWidth(out: { isTTY?: boolean; columns?: number } = process.stdout): number {
  return (out.isTTY && out.columns ? out.columns : 80) - 1;
}

/** pflag's wrapN: split `s` at the last blank before `i`, or take it whole when it fits within `i + slop`. */
function wrapN(i: number, slop: number, s: string): [string, string] {
  if (i + slop > s.length) return [s, ''];
  const head = s.slice(0, i);
  const w = Math.max(head.lastIndexOf(' '), head.lastIndexOf('\t'), head.lastIndexOf('\n'));
  if (w <= 0) return [s, ''];
  const nl = head.lastIndexOf('\n');
  if (nl > 0 && nl < w) return [s.slice(0, nl), s.slice(nl + 1)];
  return [s.slice(0, w), s.slice(w + 1)];
}

/** pflag's wrap: `s` wrapped to width `w`, continuation lines indented by `i` (the first line is the caller's). */
export function wrap(i: number, w: number, s: string): string {
  let width = w - i;
  let r = '';
  if (width < 24) {
    i = 16;
    width = w - i;
    r += `\n${' '.repeat(i)}`;
  }
  if (width < 24) return s.replaceAll('\n', r);
  const slop = 5;
  width -= slop;
  const indent = (t: string): string => t.replaceAll('\n', `\n${' '.repeat(i)}`);
  let [l, rest] = wrapN(width, slop, s);
  r += indent(l);
  while (rest !== '') {
    [l, rest] = wrapN(width, slop, rest);
    r += `\n${' '.repeat(i)}${indent(l)}`;
  }
  return r;
}

/** The type name pflag shows after a flag (`--name string`): commander's `<placeholder>`; none for booleans. */
function typeName(o: HelpOption): string {
  return o.required ? (/<([^>]*)>/.exec(o.flags)?.[1] ?? 'string') : '';
}

/** pflag's " (default …)" for a non-zero default: strings quoted, lists as Go prints them (`[a b]`). */
function defaultText(o: HelpOption, type: string): string {
  const d = o.defaultValue;
  if (o.negate || d === undefined || d === false || d === '' || d === 0) return '';
  if (Array.isArray(d)) return d.length ? ` (default [${d.join(' ')}])` : '';
  if (d === true) return o.required ? ' (default true)' : '';
  if (typeof d === 'string' && (type === 'string' || Number.isNaN(Number(d)))) return ` (default ${JSON.stringify(d)})`;
  return ` (default ${String(d)})`;
}

/** pflag's FlagUsagesWrapped: `  -a, --all   usage` columns, descriptions wrapped to `cols`. */
export function flagUsages(options: readonly HelpOption[], cols: number): string {
  const lines: Array<[string, string]> = [];
  // pflag lists flags sorted by their long name.
  const name = (o: HelpOption): string => (o.long ?? o.short ?? '').replace(/^-+/, '');
  for (const o of [...options].sort((x, y) => (name(x) < name(y) ? -1 : name(x) > name(y) ? 1 : 0))) {
    if (o.hidden) continue;
    let left = o.short && o.long ? `  ${o.short}, ${o.long}` : `      ${o.long ?? o.short}`;
    const type = typeName(o);
    if (type) left += ` ${type}`;
    lines.push([left, o.description + defaultText(o, type)]);
  }
  // pflag counts the column from the longest left part plus its NUL marker, then prints two separating blanks.
  const maxlen = Math.max(0, ...lines.map(([l]) => l.length + 1));
  return lines.map(([l, u]) => `${l}${' '.repeat(maxlen - l.length + 2)}${wrap(maxlen + 2, cols, u)}\n`).join('');
}

/** Commander's arguments as docker writes them: `IMAGE [COMMAND...]`. */
function argsUsage(c: HelpCommand): string {
  return c.registeredArguments
    .map((a) => {
      const name = a.name() + (a.variadic ? '...' : '');
      return a.required ? name : `[${name}]`;
    })
    .join(' ');
}

const visibleOptions = (c: HelpCommand): HelpOption[] => c.options.filter((o) => !o.hidden && o.long !== '--help');

/** `wharf ps [OPTIONS]`: docker's usage text of the canonical path, else one made from the command's arguments. */
export function usageLine(path: readonly string[], cmd: HelpCommand): string {
  const known = DOCKER_USAGE[path.join(' ')] ?? (path.length === 1 ? undefined : DOCKER_USAGE[cmd.name()]);
  const use =
    known ?? [visibleOptions(cmd).length ? '[OPTIONS]' : '', argsUsage(cmd)].filter((s) => s !== '').join(' ');
  return ['wharf', ...path, use].filter((s) => s !== '').join(' ');
}

/** cobra's `rpad name 12` + description lines of a command list. */
function commandList(cmds: ReadonlyArray<{ name: string; description: string }>): string {
  return cmds.map((c) => `  ${c.name.padEnd(11)} ${c.description}\n`).join('');
}

const HELP_WITHOUT_SHORT: HelpOption = {
  flags: '--help',
  long: '--help',
  description: 'Print usage',
  negate: false,
  required: false,
  optional: false,
  hidden: false,
};

/** `wharf VERB --help` (`path` as typed, canonical: `container ls` for `container ps`). */
export function commandHelp(path: readonly string[], cmd: HelpCommand, cols: number): string {
  if (cmd.commands.some((c) => !isHidden(c))) return groupHelp(path, cmd);
  let out = `Usage:  ${usageLine(path, cmd)}\n\n${cmd.description()}\n`;
  // A top-level verb has the names of every path that leads to it; a group's own command only its own aliases.
  const topLevel = cmd.parent !== null && cmd.parent.parent === null;
  const names = topLevel ? aliasesOfVerb(cmd.name()) : aliasesOfSubcommand(path[0] ?? '', cmd.name());
  if (names.length) {
    out += `\nAliases:\n  ${names.map((n) => `wharf ${n}`).join(', ')}\n`;
  }
  const options = visibleOptions(cmd);
  // cobra lists its help flag only where `-h` is another flag's (run's --hostname): then it is `--help` alone.
  if (options.some((o) => o.short === '-h')) options.push(HELP_WITHOUT_SHORT);
  if (options.length) out += `\nOptions:\n${flagUsages(options, cols)}`;
  return out;
}

/** `wharf GROUP --help`: the group's commands (the table's names, each one that is registered) and the final hint. */
export function groupHelp(path: readonly string[], group: HelpCommand): string {
  const root = rootOf(group);
  const entry = groupNamed(group.name());
  const listed = new Map<string, string>();
  for (const s of entry?.subcommands ?? []) {
    const handler = s.verb ? findCommand(root, s.verb) : findCommand(group, s.name);
    if (handler) listed.set(s.name, handler.description());
  }
  for (const c of group.commands) if (!isHidden(c) && !listed.has(c.name())) listed.set(c.name(), c.description());
  const cmds = [...listed].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, description]) => ({ name, description }));
  const at = ['wharf', ...path].join(' ');
  return (
    `Usage:  ${at} COMMAND\n\n${group.description()}\n\nCommands:\n${commandList(cmds)}\n` +
    `Run '${at} COMMAND --help' for more information on a command.\n`
  );
}

/** `wharf --help`: common, management and other commands listed apart, then the global options. */
export function rootHelp(program: HelpCommand, cols: number): string {
  const visible = program.commands.filter((c) => !isHidden(c));
  const entry = (c: HelpCommand) => ({ name: c.name(), description: c.description() });
  const byName = (a: HelpCommand, b: HelpCommand): number => (a.name() < b.name() ? -1 : 1);
  const common = COMMON_COMMANDS.flatMap((n) => visible.filter((c) => c.name() === n));
  const groups = visible.filter((c) => c.commands.some((s) => !isHidden(s))).sort(byName);
  const rest = visible.filter((c) => !common.includes(c) && !groups.includes(c)).sort(byName);
  let out = `Usage:  wharf [OPTIONS] COMMAND\n\n${program.description()}\n\n`;
  if (common.length) out += `Common Commands:\n${commandList(common.map(entry))}\n`;
  if (groups.length) out += `Management Commands:\n${commandList(groups.map(entry))}\n`;
  if (rest.length) out += `Commands:\n${commandList(rest.map(entry))}\n`;
  out += `Global Options:\n${flagUsages(visibleOptions(program), cols)}\n`;
  return `${out}Run 'wharf COMMAND --help' for more information on a command.\n`;
}

function rootOf(c: HelpCommand): HelpCommand {
  let r = c;
  while (r.parent) r = r.parent;
  return r;
}

export function findCommand(parent: HelpCommand, name: string): HelpCommand | undefined {
  return parent.commands.find((c) => c.name() === name || c.aliases().includes(name));
}
