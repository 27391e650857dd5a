/*
 * Where a restart policy (restart.c) and health checks plug in (health checks: not used yet, no HEALTHCHECK runs).
 *
 * Restart: main.c asks hook_restart_wanted() with the exit code once the container's exit is known and its output
 * drained, before the runtime is released; restart.c decides by the policy (config keys restart_policy and
 * restart_max), waits the back-off and readies the next run, which main.c then starts.
 *
 * Health: loop.c calls hook_health_tick() once per round (at least once a second while the container runs). With an
 * interval from the config it would run `runc exec <id> <the healthcheck command>` without blocking the loop (a
 * child reaped by reap(), its exit looked up by pid), count consecutive failures, and record "health" in
 * state.json for `ps` and `inspect`.
 */
#include "monitor.h"

int hook_restart_wanted(int exit_code) { return restart_after_exit(exit_code); }

void hook_health_tick(void) {}
