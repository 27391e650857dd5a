/**
 * What the docker CLI (cobra) does around a command line that is not a plain run of a verb: `--help` anywhere among
 * a command's flags, `help VERB`, a command group without a subcommand (its help, exit 0), and usage errors, which
 * docker 28 prints as the message, a blank line, the usage line and a hint to `--help`:
 *
 *     unknown flag: --foo
 *
 *     Usage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]
 *
 *     Run 'docker run --help' for more information
 *
 * Flag errors exit 125; a missing or extra argument and an unknown command exit 1.
 */
import { type HelpCommand, commandHelp, findCommand, groupHelp, rootHelp, usageLine } from './help.js';

/** The canonical names from the program down to `cmd` (`['container', 'prune']`). */
export function pathOf(cmd: HelpCommand): string[] {
  const names: string[] = [];
  for (let c: HelpCommand | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names;
}

/**
 * The path to show for `cmd`: the management path the user typed when `cmd` is the verb it was rewritten to
 * (`container ls` for `ps`), else the command's own path.
 */
export function shownPath(cmd: HelpCommand, typed: readonly string[]): string[] {
  const own = pathOf(cmd);
  return typed.length === 2 && own.length === 1 && typed[0] !== own[0] ? [...typed] : own;
}

export interface HelpRequest {
  /** The command whose help to print; the program for `wharf --help`. */
  cmd: HelpCommand;
  /** Set when the help asked for is of a command that does not exist (`wharf nope --help`): its words. */
  unknown?: string[];
}

/**
 * Whether `argv` (normalized: flags in commander's form, `--` before arguments that are not flags) asks for help,
 * and of which command: `--help`/`-h` before `--`, `help [VERB…]`, or a group or the program without a command.
 */
export function helpRequest(program: HelpCommand, argv: readonly string[]): HelpRequest | undefined {
  let cmd = program;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') return { cmd };
    if (a === '--') return undefined;
    if (cmd === program && (a === '--version' || a === '-v')) return undefined; // commander prints the version
    if (a.startsWith('-')) continue; // normalized: a flag's value is in the same word (`--root=X`)
    if (cmd === program && a === 'help') {
      // `wharf help container ls`: the named command's help.
      let target = program;
      for (const w of argv.slice(i + 1)) {
        const next = findCommand(target, w);
        if (!next) break;
        target = next;
      }
      return { cmd: target };
    }
    if (!cmd.commands.length) continue; // an argument
    const sub = findCommand(cmd, a);
    if (!sub) {
      // An unknown command: reported as such, also when help was asked for (docker: "unknown command").
      const rest = argv.slice(i + 1);
      return rest.includes('--help') || rest.includes('-h') ? { cmd, unknown: [...pathOf(cmd), a] } : undefined;
    }
    cmd = sub;
  }
  // The program or a group without a command prints its help, as docker does (exit 0).
  return cmd.commands.length ? { cmd } : undefined;
}

/** The help text for a request. */
export function helpText(req: HelpRequest, typed: readonly string[], cols: number): string {
  if (!req.cmd.parent) return rootHelp(req.cmd, cols);
  const path = shownPath(req.cmd, typed);
  return req.cmd.commands.length ? groupHelp(path, req.cmd) : commandHelp(path, req.cmd, cols);
}

/** docker 28's report of a usage error on `cmd` (stderr). */
export function usageErrorText(message: string, cmd: HelpCommand, typed: readonly string[]): string {
  if (!cmd.parent)
    return `${message}\n\nUsage:  wharf [OPTIONS] COMMAND [ARG...]\n\nRun 'wharf --help' for more information\n`;
  const path = shownPath(cmd, typed);
  const usage = cmd.commands.length ? `wharf ${path.join(' ')}` : usageLine(path, cmd);
  return `${message}\n\nUsage:  ${usage}\n\nRun 'wharf ${path.join(' ')} --help' for more information\n`;
}

/**
 * docker's report of a wrong number of arguments (cli/required.go): `'docker run' requires at least 1 argument`;
 * only that form ends with "See …", the others with "Run …", as docker 28 prints them.
 */
export function argumentCountText(cmd: HelpCommand, typed: readonly string[]): string {
  const args = cmd.registeredArguments;
  const min = args.filter((a) => a.required).length;
  const max = args.some((a) => a.variadic) ? Number.POSITIVE_INFINITY : args.length;
  const n = (k: number): string => `${k} argument${k === 1 ? '' : 's'}`;
  const what =
    max === 0
      ? 'accepts no arguments'
      : max === Number.POSITIVE_INFINITY
        ? `requires at least ${n(min)}`
        : min === max
          ? `requires ${n(min)}`
          : min === 0
            ? `requires at most ${n(max)}`
            : `requires at least ${min} and at most ${n(max)}`;
  const text = usageErrorText(`wharf: 'wharf ${shownPath(cmd, typed).join(' ')}' ${what}`, cmd, typed);
  return max === Number.POSITIVE_INFINITY
    ? text.replace(/\nRun ('[^']*' for more information)\n$/, '\nSee $1\n')
    : text;
}

/** docker's unknown-command report (exit 1): `docker: unknown command: docker container nope`. */
export function unknownCommandText(words: readonly string[], group: HelpCommand | undefined): string {
  const head = `wharf: unknown command: wharf ${words.join(' ')}\n\n`;
  if (!group?.parent) return `${head}Run 'wharf --help' for more information\n`;
  const at = `wharf ${pathOf(group).join(' ')}`;
  return `${head}Usage:  ${at}\n\nRun '${at} --help' for more information\n`;
}

/** The deepest command that the words of (normalized) `argv` name: the one a usage error is about. */
export function commandAt(program: HelpCommand, argv: readonly string[]): HelpCommand {
  let cmd = program;
  for (const a of argv) {
    if (a === '--') break;
    if (a.startsWith('-')) continue;
    const sub = cmd.commands.length ? findCommand(cmd, a) : undefined;
    if (!sub) break;
    cmd = sub;
  }
  return cmd;
}

/** The parts of commander's CommanderError read here. */
interface CommanderFailure {
  code: string;
  message: string;
  exitCode: number;
}

/**
 * Report a commander error as docker does and return the exit status: usage errors on stderr with the usage line;
 * 125 for flag errors, 1 for a wrong number of arguments or an unknown command, 0 after help or the version.
 */
export function reportCommanderError(
  err: CommanderFailure,
  program: HelpCommand,
  argv: readonly string[],
  typed: readonly string[],
  out: { write(s: string): unknown } = process.stderr,
): number {
  if (err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0;
  const cmd = commandAt(program, argv);
  if (err.code === 'commander.unknownCommand') {
    const words = argv.filter((a) => !a.startsWith('-'));
    const depth = pathOf(cmd).length;
    out.write(unknownCommandText(words.slice(0, depth + 1), cmd));
    return 1;
  }
  if (err.code === 'commander.missingArgument' || err.code === 'commander.excessArguments') {
    out.write(argumentCountText(cmd, typed));
    return 1;
  }
  const message = err.message.replace(/^error: /, '');
  // commander: "option '-m, --memory <bytes>' argument 'x' is invalid. invalid size: 'x'" → pflag's wording.
  const invalid = /^option '([^']*)' argument '(.*)' is invalid\.\s*([\s\S]*)$/.exec(message);
  const text = invalid
    ? `invalid argument "${invalid[2]}" for "${invalid[1]!.replace(/\s*[<[].*$/, '')}" flag: ${invalid[3]}`
    : message;
  out.write(usageErrorText(text, cmd, typed));
  return 125;
}
