/*
 * Where a restart policy and health checks plug into the container's life.
 *
 * Restart: main.c asks hook_restart_wanted() with the exit code once the container's exit is known and its output
 * drained, before the runtime is released; restart.c decides by the policy (config keys restart_policy and
 * restart_max), waits the back-off and readies the next run, which main.c then starts.
 *
 * Health: loop.c calls hook_health_tick() once per round (at least once a second while the container runs, sooner
 * when a probe is due: health_clamp_wait). health.c runs the configured probe as `runc exec` without blocking the
 * loop, counts consecutive failures and records the status and the last results in health.json.
 */
#include "monitor.h"

int hook_restart_wanted(int exit_code) { return restart_after_exit(exit_code); }

void hook_health_tick(void) { health_tick(); }
