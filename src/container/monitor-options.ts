import type { EventLog } from '../events/index.js';
import { hostLinkIndexes, type NetworkSetup } from '../network/index.js';
import type { AttachOptions, MonitorHealth, StartMonitorOptions } from '../runtime/index.js';
import { monitorEvents } from './events.js';
import type { ContainerPaths } from './paths.js';
import { wharfCommand } from './paths.js';
import { monitorRestartPolicy } from './restart-policy.js';
import { logPlan, type LogConfig } from './run-modes.js';
import type { ContainerRecord } from './types.js';

/** The monitor's log settings for a container's LogConfig: none writes nothing; json-file and local rotate. */
export function monitorLogOptions(lc: LogConfig | undefined): {
  logDisabled?: boolean;
  logMaxSize?: number;
  logMaxFiles?: number;
} {
  const plan = logPlan(lc);
  if (!plan.enabled) return { logDisabled: true };
  return plan.maxSize > 0 ? { logMaxSize: plan.maxSize, logMaxFiles: plan.maxFiles } : {};
}

export interface TaskMonitorInput {
  rec: ContainerRecord;
  paths: ContainerPaths;
  runcRoot: string;
  /** The engine's root, for the cleanup command (`wharf --root R container cleanup ID`). */
  storeRoot: string;
  events: EventLog | undefined;
  health: MonitorHealth | undefined;
  /** The network of this start (the record read before the start has none yet). */
  network?: NetworkSetup;
  consoleSize?: { cols: number; rows: number };
  attach?: AttachOptions;
}

/**
 * What a container's monitor is told for one start (src/runtime/monitor-config.ts writes it): everything follows from
 * the record, its paths and the engine; pure, so the mapping from Docker's settings is in one place.
 */
export function taskMonitorOptions(i: TaskMonitorInput): StartMonitorOptions {
  const { rec, paths: p } = i;
  const hc = rec.hostConfig;
  const releaseLinks = hostLinkIndexes(i.network ?? rec.network);
  return {
    id: rec.id,
    bundle: p.dir,
    runcRoot: i.runcRoot,
    stateDir: p.stateDir,
    logPath: p.log,
    tty: rec.config.Tty === true,
    openStdin: rec.config.OpenStdin === true,
    // Docker closes the stdin when the client that attached it goes, only when the container was made so.
    stdinOnce: rec.config.StdinOnce === true,
    ...(i.consoleSize ? { consoleSize: i.consoleSize } : {}),
    watchOom: hc.Memory > 0,
    restartPolicy: monitorRestartPolicy(hc.RestartPolicy) as NonNullable<StartMonitorOptions['restartPolicy']>,
    ...(i.health ? { health: i.health } : {}),
    ...(i.events ? { events: monitorEvents(i.events, rec) } : {}),
    ...monitorLogOptions(hc.LogConfig),
    cleanup: [...wharfCommand(), '--root', i.storeRoot, 'container', 'cleanup', rec.id],
    // Its veths, deleted by the monitor the moment it exits: the cleanup then need not wait for the kernel.
    ...(releaseLinks.length ? { releaseLinks } : {}),
    // The attached client is waiting anyway and has the engine loaded: it tears down after the exit.
    ...(i.attach ? { attach: { ...i.attach, claimCleanup: true } } : {}),
  };
}
