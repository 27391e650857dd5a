import { type Command, Option } from 'commander';
import type { CliContext } from '../context.js';
import { checkedBy } from '../flag-values.js';
import { goParseInt } from '../resource-flags.js';

export interface StopTimeoutFlags {
  timeout?: string;
  time?: string;
}

/**
 * `stop`/`restart`'s `-t, --timeout` (docker CLI 28), and the old `--time` it replaced: hidden, same value, with
 * pflag's deprecation line when used.
 */
export function stopTimeoutOptions(cmd: Command): Command {
  const int = checkedBy((s) => goParseInt(s));
  return cmd
    .option('-t, --timeout <int>', 'Seconds to wait before killing the container', int)
    .addOption(new Option('--time <int>', 'Seconds to wait before killing the container').argParser(int).hideHelp());
}

/** The seconds asked for (undefined: the container's --stop-timeout, else 10 s); warns about `--time` as pflag does. */
export function stopTimeoutOf(ctx: CliContext, o: StopTimeoutFlags): number | undefined {
  if (o.time !== undefined) ctx.stderr.write('Flag --time has been deprecated, use --timeout instead\n');
  const v = o.timeout ?? o.time;
  return v === undefined ? undefined : goParseInt(v);
}
