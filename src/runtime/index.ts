/**
 * Running containers: the OCI spec from an image config (`buildSpec`), the runc wrapper (`Runc`), and the
 * per-container monitor that outlives the CLI (`startMonitor`, `attach`, `readState`, `waitExit`, `readLogs`,
 * `stopContainer`, `execInContainer`).
 *
 * The usual flow for `run`: mount the rootfs, `setupNetwork` (network/), write hosts/resolv.conf/hostname, write
 * `buildSpec(...)` as `<bundle>/config.json`, then `startMonitor({ ..., cleanup: [node, wharf, 'container',
 * 'cleanup', id] })`, with `attach` streams unless detached; the monitor records the exit and runs the cleanup
 * (or leaves it to the attached client that claimed it). The monitor is the native program built from native/monitor/.
 */
export * from './oci-spec.js';
export * from './resources-spec.js';
export * from './cgroup-stats.js';
export * from './user.js';
export * from './capabilities.js';
export * from './spec.js';
export * from './process-env.js';
export * from './seccomp.js';
export * from './host-masked-paths.js';
export * from './runc.js';
export * from './json-log.js';
export * from './monitor.js';
export * from './monitor-signal.js';
export * from './exec.js';
export * from './init-binary.js';
export * from './stop.js';
