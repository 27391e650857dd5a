/** run/create's health-check flags, as docker CLI 28 lists them, and their values as the docker CLI parses them. */
import type { Command } from 'commander';
import { WharfError } from '../../errors/index.js';
import { healthConfigFromFlags } from '../../container/index.js';
import type { HealthConfig } from '../../oci/index.js';
import { parseGoDuration } from '../../util/duration.js';

export interface HealthFlagValues {
  healthCmd?: string;
  healthInterval?: string;
  healthTimeout?: string;
  healthRetries?: string;
  healthStartPeriod?: string;
  healthStartInterval?: string;
  /** commander's `--no-healthcheck`: false when given. */
  healthcheck?: boolean;
}

export function healthFlags(cmd: Command): Command {
  return cmd
    .option('--health-cmd <string>', 'Command to run to check health')
    .option('--health-interval <duration>', 'Time between running the check (ms|s|m|h) (default 0s)')
    .option('--health-retries <int>', 'Consecutive failures needed to report unhealthy')
    .option(
      '--health-start-interval <duration>',
      'Time between running the check during the start period (ms|s|m|h) (default 0s)',
    )
    .option(
      '--health-start-period <duration>',
      'Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)',
    )
    .option('--health-timeout <duration>', 'Maximum time to allow one check to run (ms|s|m|h) (default 0s)')
    .option('--no-healthcheck', 'Disable any container-specified HEALTHCHECK');
}

/** pflag's message for a value its type does not parse. */
const badValue = (flag: string, value: string, why: string): WharfError =>
  new WharfError('INVALID_ARGUMENT', `invalid argument "${value}" for "--${flag}" flag: ${why}`);

function duration(flag: string, value: string | undefined): number {
  if (value === undefined) return 0;
  try {
    return parseGoDuration(value);
  } catch (err) {
    throw badValue(flag, value, (err as Error).message);
  }
}

function int(flag: string, value: string | undefined): number {
  if (value === undefined) return 0;
  if (!/^[+-]?\d+$/.test(value)) throw badValue(flag, value, `strconv.ParseInt: parsing "${value}": invalid syntax`);
  return Number(value);
}

/** The user's HealthConfig (undefined: none given, the image's applies). */
export function healthFromFlags(o: HealthFlagValues): HealthConfig | undefined {
  return healthConfigFromFlags({
    ...(o.healthCmd !== undefined ? { cmd: o.healthCmd } : {}),
    interval: duration('health-interval', o.healthInterval),
    timeout: duration('health-timeout', o.healthTimeout),
    retries: int('health-retries', o.healthRetries),
    startPeriod: duration('health-start-period', o.healthStartPeriod),
    startInterval: duration('health-start-interval', o.healthStartInterval),
    noHealthcheck: o.healthcheck === false,
  });
}
