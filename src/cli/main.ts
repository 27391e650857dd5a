import type { CliContext, GlobalOptions } from './context.js';
import { trace } from '../util/trace.js';
import { FlagSyntaxError, fromCommander, normalizeArgv } from './pflag.js';
import { wharfVersion } from './version.js';

const DEFAULT_ROOT = '/var/lib/wharf';

const version = wharfVersion;

/** The verb: the first word that is neither a global flag nor the value of one (`--root X images` → images). */
export function verbOf(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--root' || a === '--log-level') i++;
    else if (!a.startsWith('-')) return a;
  }
  return undefined;
}

/**
 * The CLI entry. `--version` is answered before commander and the verbs are loaded, so it starts fast.
 */
export async function main(typedArgv: string[]): Promise<void> {
  let verb = verbOf(typedArgv);
  for (const out of [process.stdout, process.stderr]) out.on('error', (err) => endOnBrokenPipe(err, verb));
  if (typedArgv.length === 1 && (typedArgv[0] === '--version' || typedArgv[0] === '-v')) {
    process.stdout.write(`Wharf version ${version()}\n`);
    return;
  }
  // `container ls` is `ps`, `image rm` is `rmi`…: rewritten before the verb modules load (command-tree.ts).
  const { groupNamed, resolveCommand } = await import('./command-tree.js');
  const resolved = resolveCommand(typedArgv);
  const argv = resolved.argv;
  verb = verbOf(argv);
  process.once('exit', () => trace('exit'));
  const { Command, CommanderError } = await import('commander');
  const { exitCodeFor, formatError } = await import('./errors.js');
  const { registerVerbs } = await import('./commands/index.js');

  const program = new Command('wharf');
  program
    .description('A daemonless container image engine')
    .version(`Wharf version ${version()}`, '-v, --version', 'Print version information and quit')
    .option('--root <dir>', 'Root directory of persistent Wharf state', process.env.WHARF_ROOT || DEFAULT_ROOT)
    .option(
      '--log-level <level>',
      'Set the logging level ("debug"|"info"|"warn"|"error")',
      process.env.WHARF_LOG_LEVEL || 'warn',
    )
    .enablePositionalOptions()
    .showHelpAfterError(false)
    .configureOutput({
      writeErr: (s) => process.stderr.write(s),
      // Usage errors are reported by usage.ts in docker's words, with the command's usage line.
      outputError: () => {},
    })
    .exitOverride();

  let exitCode = 0;
  const globals = (): GlobalOptions => {
    const o = program.opts<{ root: string; logLevel: string }>();
    const root = o.root.replace(/\/+$/, '') || '/';
    return {
      root,
      runRoot: root === DEFAULT_ROOT ? '/run/wharf' : `${root}/run`,
      logLevel: (['debug', 'info', 'warn', 'error'].includes(o.logLevel)
        ? o.logLevel
        : 'warn') as GlobalOptions['logLevel'],
    };
  };
  const ctx: CliContext = {
    globals,
    stdout: process.stdout,
    stderr: process.stderr,
    setExitCode: (c) => {
      exitCode = c;
    },
  };
  // Help of a management command lists verbs of several modules: a group without its subcommand loads them all.
  const wholeGroup = verb !== undefined && groupNamed(verb) !== undefined && resolved.path.length === 1;
  await registerVerbs(program, ctx, wholeGroup ? undefined : verb);
  // Verbs whose engine failures exit 125, as in Docker (run/create; start and exec exit 1).
  const engine125 = new Set(['run', 'create']);
  const usage = await import('./usage.js');

  let parsedArgv: string[] = argv;
  try {
    // Docker's (pflag's) flag syntax, rewritten into commander's; booleans argv cannot turn off are set before the action.
    const parsed = normalizeArgv(fromCommander(program), argv);
    parsedArgv = parsed.argv;
    const help = usage.helpRequest(program, parsed.argv);
    if (help?.unknown) {
      process.stderr.write(usage.unknownCommandText(help.unknown, help.cmd));
      process.exitCode = 1;
      return;
    }
    if (help) {
      const { helpWidth } = await import('./help.js');
      process.stdout.write(usage.helpText(help, resolved.path, helpWidth()));
      return;
    }
    if (parsed.overrides.length > 0) {
      program.hook('preAction', () => {
        for (const o of parsed.overrides) o.ref.setOptionValueWithSource(o.key, o.value, 'cli');
      });
    }
    await program.parseAsync(parsed.argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = usage.reportCommanderError(err, program, parsedArgv, resolved.path);
      return;
    }
    if (err instanceof FlagSyntaxError) {
      const cmd = (err.command as typeof program | undefined) ?? program;
      process.stderr.write(usage.usageErrorText(err.message, cmd, resolved.path));
      process.exitCode = 125;
      return;
    }
    process.stderr.write(formatError(err, globals().logLevel === 'debug') + '\n');
    process.exitCode = exitCodeFor(err, verb && engine125.has(verb) ? 125 : 1);
    return;
  }
  if (exitCode !== 0) process.exitCode = exitCode;
}

/**
 * The reader of our output went away (`wharf logs -f c | head -1`). Docker's CLI (Go) is then killed by SIGPIPE,
 * quietly; an attached `run` (which handles signals itself) says so in one line and exits 1, leaving the container
 * running. Any other failure to write our output ends the command with status 1.
 */
function endOnBrokenPipe(err: NodeJS.ErrnoException, verb: string | undefined): void {
  if (err.code !== 'EPIPE') process.exit(1);
  if (verb === 'run') {
    process.stderr.write('write /dev/stdout: broken pipe\n');
    process.exit(1);
  }
  // Node ignores SIGPIPE; a listener added and removed again restores the default action, which is to die of it.
  const ignore = (): void => {};
  process.on('SIGPIPE', ignore);
  process.off('SIGPIPE', ignore);
  process.kill(process.pid, 'SIGPIPE');
  setTimeout(() => process.exit(141), 100);
}
