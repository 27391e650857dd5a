/*
 * Restart policies (Docker's no, on-failure[:N], always, unless-stopped), decided and carried out by the monitor,
 * since there is no daemon: main.c asks hook_restart_wanted() (hooks.c) after each exit, which asks
 * restart_after_exit() here. On "yes" the stopped container is released (`runc delete`), the monitor writes state
 * "restarting" with the restart count, waits the back-off while still serving its socket, and returns 1: main.c then
 * runs runc again on the same bundle, rootfs and network (the cleanup command runs only after the last exit), with
 * the same log and attach socket.
 *
 * The back-off is moby's restart manager's: 100 ms before the first restart, doubled before each next one up to a
 * minute, back to 100 ms when the container had run for 10 s. on-failure restarts a non-zero exit at most N times
 * (N = 0: without limit); always and unless-stopped restart any exit. A container that failed to start (runc's
 * error: a missing command) is not restarted, as Docker gives up when the restart's start fails.
 *
 * The CLI talks to a live monitor through two files in the state directory, not through the attach socket:
 *   no-restart      created by `stop` and `kill` before they signal the container (Docker's ExitOnNext);
 *   restart-policy  "NAME MAX", replaced atomically by `update --restart`, read at each exit over the config's.
 * A file is race-free where a frame is not: the CLI's open(2) returns before its kill(2) is sent, so the exit that
 * kill causes is observed after the file exists, whereas a frame could still sit unread in the socket when the
 * monitor decides (it reads clients only in its poll rounds). The back-off checks the file every 50 ms; a run that was
 * already on its way when the file appeared is stopped by the CLI, which watches until the monitor's last state.
 */
#include "monitor.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 60000
#define BACKOFF_RESET_RUN_MS 10000 /* a run at least this long resets the back-off */
#define STOP_CHECK_MS 50

static int64_t timeout_ms;  /* the restart manager's current timeout; 0 before the first restart */
static int failure_restarts; /* restarts counted against on-failure's maximum */

static void state_file(char *out, size_t n, const char *name) {
  if (snprintf(out, n, "%s/%s", cfg.state_dir, name) >= (int)n) die("state directory path too long");
}

int restart_stop_requested(void) {
  char p[4096];
  state_file(p, sizeof p, "no-restart");
  return access(p, F_OK) == 0;
}

/* The policy in force: restart-policy's "NAME MAX" when the CLI changed it since the start, else the config's. */
static void current_policy(char name[32], long *max) {
  snprintf(name, 32, "%s", cfg.restart_policy ? cfg.restart_policy : "no");
  *max = cfg.restart_max;
  char p[4096];
  state_file(p, sizeof p, "restart-policy");
  char *text = read_file(p, NULL);
  if (!text) return;
  char n[32];
  long m;
  if (sscanf(text, "%31s %ld", n, &m) == 2) {
    snprintf(name, 32, "%s", n);
    *max = m;
  } else {
    warn("ignoring %s: not \"NAME MAX\"", p);
  }
  free(text);
}

/* Milliseconds the run lasted, from state.json's startedAt (the wall clock, as Docker's time.Since(StartedAt)). */
static int64_t run_length_ms(void) {
  struct tm tm = {0};
  int ms = 0;
  if (sscanf(st.started_at, "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
             &tm.tm_sec, &ms) != 7)
    return 0;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  struct timespec now;
  if (clock_gettime(CLOCK_REALTIME, &now) != 0) return 0;
  int64_t began = (int64_t)timegm(&tm) * 1000 + ms;
  return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 - began;
}

/* Waits `ms` serving clients; 0 when a stop came meanwhile. */
static int backoff_wait(int64_t ms) {
  int64_t until = now_ms() + ms;
  while (now_ms() < until) {
    if (restart_stop_requested()) return 0;
    int64_t left = until - now_ms();
    loop_once(left > STOP_CHECK_MS ? STOP_CHECK_MS : (int)(left < 0 ? 0 : left));
  }
  return !restart_stop_requested();
}

/* What the last run left behind, so that the next one starts as the first did. */
static void reset_run(void) {
  for (int t = F_STDOUT; t <= F_STDERR; t++) close_quietly(&out_fd[t]);
  close_quietly(&stdin_fd);
  close_quietly(&pty_fd);
  console_stop();
  runc_release(); /* `runc delete` of the stopped container and its empty cgroup parents */
  oom_reset();
  loop_new_run();
  runc_pid = -1;
  runc_gone = 0;
  runc_status = -1;
  container_pid = -1;
  container_pidfd_close();
  container_reaped = 0;
  if (unlink(p_pidfile) != 0 && errno != ENOENT) warn("unlink %s: %s", p_pidfile, strerror(errno));
  if (unlink(p_runclog) != 0 && errno != ENOENT) warn("unlink %s: %s", p_runclog, strerror(errno));
}

int restart_after_exit(int exit_code) {
  char name[32];
  long max;
  current_policy(name, &max);
  if (!strcmp(name, "no") || st.error || restart_stop_requested()) return 0;
  if (run_length_ms() >= BACKOFF_RESET_RUN_MS) timeout_ms = 0;
  if (timeout_ms == 0) timeout_ms = BACKOFF_FIRST_MS;
  else if (timeout_ms < BACKOFF_MAX_MS) timeout_ms *= 2;
  if (timeout_ms > BACKOFF_MAX_MS) timeout_ms = BACKOFF_MAX_MS;
  int restart = 0;
  if (!strcmp(name, "always") || !strcmp(name, "unless-stopped")) restart = 1;
  else if (!strcmp(name, "on-failure") && (max <= 0 || failure_restarts < max)) restart = exit_code != 0;
  if (!restart) return 0;
  failure_restarts++;

  /* Docker ends attach sessions at every exit, with that exit's code; the socket stays for the next run. */
  attach_end_all(NULL);
  attach_reopen();
  reset_run();
  st.restart_count++;
  st.restarting = 1;
  st.status = "starting"; /* written as "restarting" until the next run is up (state.c) */
  st.pid = 0;
  iso_now(st.finished_at);
  save_state();
  trace("restarting");
  if (!backoff_wait(timeout_ms)) return 0;
  if (cfg.tty && console_listen() < 0) {
    warn("cannot listen on %s: %s", p_console, strerror(errno));
    return 0;
  }
  st.has_exit = 0;
  st.oom_killed = 0;
  pid_watch_start();
  return 1;
}
