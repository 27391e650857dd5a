import { WharfError } from '../errors/index.js';

/** Docker's HostConfig.RestartPolicy, as `inspect` shows it. `Name` '' is what Docker stores for `--restart ''`. */
export interface RestartPolicy {
  Name: RestartPolicyName;
  MaximumRetryCount: number;
}

export type RestartPolicyName = '' | 'no' | 'on-failure' | 'always' | 'unless-stopped';

export const NO_RESTART: RestartPolicy = Object.freeze({ Name: 'no', MaximumRetryCount: 0 }) as RestartPolicy;

/**
 * The docker CLI's opts.ParseRestartPolicy: `NAME[:COUNT]`, split at the first colon; an empty count is 0, a count
 * is Go's strconv.Atoi (an optional sign, decimal digits). The name is not checked here: the daemon does that
 * (`validateRestartPolicy`), with its own messages. Throws INVALID_ARGUMENT with the CLI's messages.
 */
export function parseRestartPolicy(text: string): RestartPolicy {
  const colon = text.indexOf(':');
  const name = colon < 0 ? text : text.slice(0, colon);
  const count = colon < 0 ? '' : text.slice(colon + 1);
  if (colon >= 0 && name === '') {
    throw new WharfError('INVALID_ARGUMENT', 'invalid restart policy format: no policy provided before colon');
  }
  let max = 0;
  if (count !== '') {
    // Atoi's range is int64; a count beyond what a double holds exactly is no use anyway.
    if (!/^[+-]?\d+$/.test(count) || !Number.isSafeInteger(Number(count))) {
      throw new WharfError('INVALID_ARGUMENT', 'invalid restart policy format: maximum retry count must be an integer');
    }
    max = Number(count);
  }
  return { Name: name as RestartPolicyName, MaximumRetryCount: max };
}

/**
 * The daemon's check of a policy (dockerd 20.10's validateRestartPolicy, whose messages the tests compare): the
 * known names, a count only with on-failure and never negative. Returns the policy, typed.
 */
export function validateRestartPolicy(p: { Name: string; MaximumRetryCount: number }): RestartPolicy {
  switch (p.Name) {
    case 'always':
    case 'unless-stopped':
    case 'no':
      if (p.MaximumRetryCount !== 0) {
        throw new WharfError('INVALID_ARGUMENT', `maximum retry count cannot be used with restart policy '${p.Name}'`);
      }
      break;
    case 'on-failure':
      if (p.MaximumRetryCount < 0) throw new WharfError('INVALID_ARGUMENT', 'maximum retry count cannot be negative');
      break;
    case '':
      break;
    default:
      throw new WharfError('INVALID_ARGUMENT', `invalid restart policy '${p.Name}'`);
  }
  return { Name: p.Name, MaximumRetryCount: p.MaximumRetryCount };
}

/** Docker's RestartPolicy.IsNone: no restarts at all ('' is the pre-25 default name). */
export const restartsNever = (p: RestartPolicy | undefined): boolean => !p || p.Name === 'no' || p.Name === '';

/** The docker CLI's check before anything is sent: `--rm` with a restart policy. */
export function checkRestartWithAutoRemove(p: RestartPolicy, autoRemove: boolean): void {
  if (autoRemove && !restartsNever(p)) {
    throw new WharfError('INVALID_ARGUMENT', 'conflicting options: cannot specify both --restart and --rm');
  }
}

const SIGNAL_NUMBERS: Record<string, string> = { SIGKILL: '9', SIGTERM: '15', SIGINT: '2', SIGHUP: '1', SIGQUIT: '3' };

/** Whether two normalized signals (normalizeSignal: `SIGKILL`, `9`) are the same. */
const sameSignal = (a: string, b: string): boolean => a === b || SIGNAL_NUMBERS[a] === b || SIGNAL_NUMBERS[b] === a;

/**
 * Whether `kill` with this signal ends the restart loop (dockerd's killWithSignal and its ExitOnNext): SIGKILL, the
 * container's StopSignal, or any signal when it has none. Both signals normalized.
 */
export function killEndsRestartLoop(signal: string, stopSignal: string | undefined): boolean {
  return !stopSignal || sameSignal(signal, 'SIGKILL') || sameSignal(signal, stopSignal);
}

/** The policy as the monitor's config spells it (`restart_policy`, `restart_max`): '' and 'no' are both 'no'. */
export function monitorRestartPolicy(p: RestartPolicy | undefined): { name: string; max: number } {
  return restartsNever(p) ? { name: 'no', max: 0 } : { name: p!.Name, max: p!.MaximumRetryCount };
}

/**
 * `system restore`'s choice (Docker's restart of containers when its daemon starts, which Wharf has not): a
 * container comes back when its policy is `always`, or `unless-stopped` and it was not stopped by hand, it has run
 * before, and its run-time state was lost (the run directory is gone, as after a reboot, or its record says it runs
 * while no monitor and no runc container is there). Pure, over what the caller observed.
 */
export function wantsRestore(c: {
  policy: RestartPolicy | undefined;
  manuallyStopped: boolean;
  recordStatus: 'created' | 'running' | 'exited';
  runStateLost: boolean;
  running: boolean;
}): boolean {
  if (c.running || c.recordStatus === 'created' || !c.runStateLost) return false;
  if (c.policy?.Name === 'always') return true;
  return c.policy?.Name === 'unless-stopped' && !c.manuallyStopped;
}
