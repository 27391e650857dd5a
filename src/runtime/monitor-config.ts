import { WharfError } from '../errors/index.js';
import type { MonitorConfig } from './monitor-types.js';

/** Where the monitor finds its notification pipe: src/runtime/monitor.ts starts it with the write end as fd 3. */
export const MONITOR_NOTIFY_FD = 3;

/** What the monitor needs from the bundle's config.json, read once by the process that starts it. */
export interface BundleFacts {
  /** linux.cgroupsPath when absolute (the monitor removes its empty parents and watches it for OOM kills). */
  cgroupsPath?: string;
  /** linux.resources.memory.limit, for the OOM check of a container whose cgroup runc already removed. */
  memoryLimit?: number;
}

const escapeValue = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

/**
 * The native monitor's configuration file (native/monitor/config.c): `key=value` lines, a newline in a value
 * escaped as `\n` and a backslash as `\\`; `cleanup` once per argument. Pure: the caller writes it.
 */
export function encodeMonitorConfig(cfg: MonitorConfig, facts: BundleFacts = {}): string {
  const lines: string[] = ['# wharf-monitor configuration (src/runtime/monitor-config.ts)'];
  const put = (key: string, value: string | number | boolean | undefined): void => {
    if (value === undefined) return;
    const text = typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
    if (text.includes('\0'))
      throw new WharfError('INVALID_ARGUMENT', `monitor configuration ${key} contains a NUL byte`);
    lines.push(`${key}=${escapeValue(text)}`);
  };
  put('id', cfg.id);
  put('bundle', cfg.bundle);
  put('runc_root', cfg.runcRoot);
  put('runc_binary', cfg.runcBinary);
  put('state_dir', cfg.stateDir);
  put('log_path', cfg.logPath);
  put('tty', cfg.tty);
  put('open_stdin', cfg.openStdin);
  put('stdin_once', cfg.stdinOnce);
  put('wait_for_attach', cfg.waitForAttach);
  put('attach_claims_cleanup', cfg.attachClaimsCleanup);
  put('attach_client_pid', cfg.attachClientPid);
  put('watch_oom', cfg.watchOom);
  put('cgroups_path', facts.cgroupsPath?.startsWith('/') ? facts.cgroupsPath : undefined);
  put('memory_limit', facts.memoryLimit && facts.memoryLimit > 0 ? Math.floor(facts.memoryLimit) : undefined);
  put('cgroup_root', cfg.cgroupRoot);
  for (const arg of cfg.cleanup ?? []) put('cleanup', arg);
  put('cleanup_timeout_ms', cfg.cleanupTimeoutMs);
  for (const index of cfg.releaseLinks ?? []) put('release_link', Math.floor(index));
  put('notify_fd', cfg.notifyFd);
  if (cfg.restartPolicy && cfg.restartPolicy.name !== 'no') {
    put('restart_policy', cfg.restartPolicy.name);
    put('restart_max', cfg.restartPolicy.max);
  }
  if (cfg.health) {
    for (const arg of cfg.health.cmd) put('health_cmd', arg);
    put('health_interval_ms', cfg.health.intervalMs);
    put('health_timeout_ms', cfg.health.timeoutMs);
    put('health_start_period_ms', cfg.health.startPeriodMs);
    put('health_start_interval_ms', cfg.health.startIntervalMs);
    put('health_retries', cfg.health.retries);
    put('health_timeout_text', cfg.health.timeoutText);
  }
  if (cfg.events) {
    put('events_path', cfg.events.path);
    put('event_name', cfg.events.name);
    put('event_name_file', cfg.events.nameFile);
    put('event_image', cfg.events.image);
    const labels = Object.entries(cfg.events.labels ?? {});
    // JSON object members, escaped once here: the monitor copies them into every event's Attributes.
    if (labels.length > 0)
      put('event_attrs', JSON.stringify(Object.fromEntries(labels.map(([k, v]) => [k, v.slice(0, 512)]))).slice(1, -1));
  }
  // the log driver (issue 12)
  put('log_disabled', cfg.logDisabled || undefined);
  put('log_max_size', cfg.logMaxSize && cfg.logMaxSize > 0 ? Math.floor(cfg.logMaxSize) : undefined);
  put('log_max_files', cfg.logMaxSize && cfg.logMaxFiles ? Math.floor(cfg.logMaxFiles) : undefined);
  return lines.join('\n') + '\n';
}
