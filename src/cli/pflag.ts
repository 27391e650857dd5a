/**
 * Docker's flag syntax (Go's spf13/pflag) in front of commander: every form pflag accepts is rewritten into the one
 * form commander reads the same way, before commander parses. The rules (pflag's FlagSet.Parse):
 * - `--flag=v`, `--flag v` (the next argument is the value even when it starts with `-`), `-f=v`, `-fv`, `-f v`;
 * - a boolean takes no separate value: `--rm`, `--rm=false`, `-d=true` (strconv.ParseBool: 1 t T TRUE true True,
 *   0 f F FALSE false False); `false` must leave the option false even where commander has no `--no-rm`;
 * - short booleans group (`-itd`); in a group a flag that takes a value takes the rest of the group (`-itp80`) or, when
 *   it is last, the next argument (`-itp 80:80`);
 * - `--` ends the flags; `-` alone is an argument;
 * - flags may follow positional arguments, except for commands that call SetInterspersed(false) (`run`, `create`,
 *   `exec`, `top`, `commit`, `tag`): there the first positional argument ends the flags (`run img ls -la`).
 * An unknown flag or a missing value is reported with pflag's words (`unknown flag: --foo`, `unknown shorthand flag:
 * 'z' in -z`, `flag needs an argument: --name`); `--help` and an undefined `-h` are passed on for the help printer.
 * The logic works on a small description of the command tree (`CommandDef`), so it is tested without commander.
 */

/** One flag as pflag sees it: a boolean, a flag that takes a value, or commander's `[bool]` (an explicit boolean). */
export interface FlagDef {
  /** One letter, without the dash. */
  short?: string | undefined;
  /** Without the dashes (`no-cache` for a negated option). */
  long?: string | undefined;
  kind: 'bool' | 'value' | 'optbool';
  /** commander's `--no-x`: setting it true sets `key` false. */
  negate?: boolean;
  /** The option's value key (commander's attribute name: `cache` for `--no-cache`). */
  key: string;
}

export interface CommandDef<T = unknown> {
  /** What the caller uses to apply overrides (a commander Command). */
  ref: T;
  flags: readonly FlagDef[];
  /** false: the first positional argument ends the flags (pflag's SetInterspersed(false)). */
  interspersed: boolean;
  /** The subcommand called `name` (a command group's verb), if this command has subcommands. */
  sub?: (name: string) => CommandDef<T> | undefined;
}

/** A boolean that must end up with a value commander's argv cannot express (`--rm=false` without `--no-rm`). */
export interface Override<T = unknown> {
  ref: T;
  key: string;
  value: boolean;
}

export interface Normalized<T = unknown> {
  argv: string[];
  overrides: Override<T>[];
}

/** A flag's value that pflag would reject; Docker exits 125 with this message. */
export class FlagSyntaxError extends Error {
  override name = 'FlagSyntaxError';
  /** The command whose flags were being parsed (its CommandDef's `ref`), for the usage line after the message. */
  command: unknown;
}

/** Help is cobra's flag, not the command's: it passes through to whoever prints help. */
const isHelp = (cmd: CommandDef<unknown>, a: string): boolean =>
  a === '--help' || (a === '-h' && !cmd.flags.some((f) => f.short === 'h'));

const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Go's strconv.ParseBool, with pflag's message on failure. */
export function parseBool(value: string, flag: FlagDef): boolean {
  if (TRUE.has(value)) return true;
  if (FALSE.has(value)) return false;
  const name =
    flag.short && flag.long ? `-${flag.short}, --${flag.long}` : flag.long ? `--${flag.long}` : `-${flag.short}`;
  throw new FlagSyntaxError(
    `invalid argument "${value}" for "${name}" flag: strconv.ParseBool: parsing "${value}": invalid syntax`,
  );
}

/** Rewrite `argv` (after the program name) so commander parses it as pflag would. */
export function normalizeArgv<T>(root: CommandDef<T>, argv: readonly string[]): Normalized<T> {
  const out: string[] = [];
  const overrides: Override<T>[] = [];
  let cmd = root;
  let i = 0;
  while (i < argv.length) {
    const a = argv[i]!;
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (a.length < 2 || a[0] !== '-') {
      const sub = cmd.sub?.(a);
      if (sub) {
        out.push(a);
        cmd = sub;
        i++;
        continue;
      }
      if (cmd.sub || !cmd.interspersed) {
        // A command group (an unknown verb: commander reports it) or a command whose flags end here.
        if (!cmd.sub) out.push('--');
        out.push(...argv.slice(i));
        break;
      }
      out.push(a);
      i++;
      continue;
    }
    try {
      i = flagAt(cmd, argv, i, out, overrides);
    } catch (err) {
      if (err instanceof FlagSyntaxError) err.command ??= cmd.ref;
      throw err;
    }
  }
  return { argv: out, overrides };
}

/** Rewrite the flag argument at `argv[i]` (and its value); returns the index of the next argument. */
function flagAt<T>(
  cmd: CommandDef<T>,
  argv: readonly string[],
  i: number,
  out: string[],
  overrides: Override<T>[],
): number {
  const a = argv[i]!;
  if (isHelp(cmd, a)) {
    out.push(a);
    return i + 1;
  }
  if (a.startsWith('--')) {
    const eq = a.indexOf('=');
    const name = a.slice(2, eq < 0 ? undefined : eq);
    const flag = cmd.flags.find((f) => f.long === name);
    if (!flag) throw new FlagSyntaxError(`unknown flag: --${name}`);
    if (eq >= 0) {
      set(cmd, flag, a.slice(eq + 1), out, overrides);
      return i + 1;
    }
    if (flag.kind !== 'value') {
      set(cmd, flag, 'true', out, overrides);
      return i + 1;
    }
    if (i + 1 >= argv.length) throw new FlagSyntaxError(`flag needs an argument: --${name}`);
    set(cmd, flag, argv[i + 1]!, out, overrides);
    return i + 2;
  }
  // A group of short flags: -itd, -itp80, -itp 80, -e=FOO=bar, -d=true.
  for (let pos = 1; pos < a.length; pos++) {
    const flag = cmd.flags.find((f) => f.short === a[pos]);
    // pflag names the letter and the rest of the group from it (`-az`: 'z' in -z).
    if (!flag) throw new FlagSyntaxError(`unknown shorthand flag: '${a[pos]}' in -${a.slice(pos)}`);
    const rest = a.slice(pos + 1);
    if (rest.length > 1 && rest[0] === '=') {
      set(cmd, flag, rest.slice(1), out, overrides);
      return i + 1;
    }
    if (flag.kind !== 'value') {
      set(cmd, flag, 'true', out, overrides);
      continue;
    }
    if (rest !== '') {
      set(cmd, flag, rest, out, overrides);
      return i + 1;
    }
    if (i + 1 >= argv.length) throw new FlagSyntaxError(`flag needs an argument: '${flag.short}' in -${a.slice(pos)}`);
    set(cmd, flag, argv[i + 1]!, out, overrides);
    return i + 2;
  }
  return i + 1;
}

/** Emit `flag` set to `value` in the one form commander reads unambiguously. */
function set<T>(cmd: CommandDef<T>, flag: FlagDef, value: string, out: string[], overrides: Override<T>[]): void {
  if (flag.kind === 'value') {
    if (flag.long) out.push(`--${flag.long}=${value}`);
    else out.push(`-${flag.short}`, value);
    return;
  }
  const on = parseBool(value, flag);
  if (flag.kind === 'optbool') {
    out.push(flag.long ? `--${flag.long}=${on}` : `-${flag.short}${on}`);
    return;
  }
  // A later occurrence wins: an earlier override of this key no longer applies.
  const earlier = overrides.findIndex((o) => o.ref === cmd.ref && o.key === flag.key);
  if (earlier >= 0) overrides.splice(earlier, 1);
  // The flag or its counterpart (`--cache`/`--no-cache`) expresses the value; else an override sets it after parsing.
  const target = on
    ? flag
    : cmd.flags.find((f) => f.key === flag.key && f.kind === 'bool' && !f.negate !== !flag.negate);
  if (target) out.push(target.long ? `--${target.long}` : `-${target.short}`);
  else overrides.push({ ref: cmd.ref, key: flag.key, value: flag.negate ? !on : on });
}

/** Commands whose first positional argument ends their flags, as in the docker CLI (its SetInterspersed(false)). */
const NOT_INTERSPERSED = new Set([
  'run',
  'create',
  'exec',
  'top',
  'commit',
  'tag',
  'container run',
  'container create',
  'container exec',
  'container top',
  'container commit',
  'image tag',
]);

/** The subset of commander's Option and Command this module reads (structural, so nothing is imported). */
interface CommanderOption {
  short?: string | undefined;
  long?: string | undefined;
  required: boolean;
  optional: boolean;
  negate: boolean;
  attributeName(): string;
}
export interface CommanderCommand {
  name(): string;
  aliases(): string[];
  readonly options: readonly CommanderOption[];
  readonly commands: readonly CommanderCommand[];
}

/**
 * A commander option as a FlagDef. This runs on every command line (`run`'s start-up): a class with the key computed
 * on demand costs a few µs for `run`'s options, object literals with spreads or getters ten to a hundred times more.
 */
class CommanderFlag implements FlagDef {
  readonly short: string | undefined;
  readonly long: string | undefined;
  readonly kind: FlagDef['kind'];
  readonly negate: boolean;
  constructor(private readonly option: CommanderOption) {
    this.short = option.short?.slice(1);
    this.long = option.long?.slice(2);
    this.kind = option.required ? 'value' : option.optional ? 'optbool' : 'bool';
    this.negate = option.negate;
  }
  get key(): string {
    return this.option.attributeName();
  }
}

/** Describe a commander command (lazily, level by level) for `normalizeArgv`. */
export function fromCommander<C extends CommanderCommand>(cmd: C, path = ''): CommandDef<C> {
  const flags: FlagDef[] = cmd.options.map((o) => new CommanderFlag(o));
  const def: CommandDef<C> = { ref: cmd, flags, interspersed: !NOT_INTERSPERSED.has(path) };
  if (cmd.commands.length > 0) {
    def.sub = (name) => {
      const c = cmd.commands.find((s) => s.name() === name || s.aliases().includes(name));
      return c ? fromCommander(c as C, path ? `${path} ${c.name()}` : c.name()) : undefined;
    };
  }
  return def;
}
