/*
 * Where a restart policy and health checks plug into the container's life.
 *
 * Restart: main.c asks hook_restart_wanted() with the exit code once the container's exit is known and its output
 * drained, before the runtime is released. A policy (Docker's no, on-failure[:N], always, unless-stopped) would be
 * a config key; on "yes" the monitor would `runc delete` the stopped container, wait the back-off (Docker doubles it
 * from 100 ms), write state "restarting" and run runc again, keeping its socket, clients and log, instead of exiting.
 *
 * Health: loop.c calls hook_health_tick() once per round (at least once a second while the container runs, sooner
 * when a probe is due: health_clamp_wait). health.c runs the configured probe as `runc exec` without blocking the
 * loop, counts consecutive failures and records the status and the last results in health.json.
 */
#include "monitor.h"

int hook_restart_wanted(int exit_code) {
  (void)exit_code;
  return 0;
}

void hook_health_tick(void) { health_tick(); }
