/* state.json (MonitorState in src/runtime/monitor-types.ts), the notification pipe, and the EXIT frame's payload. */
#include "monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct state st = {.status = "starting"};
char p_state[PATH_MAX], p_socket[PATH_MAX], p_console[PATH_MAX], p_pidfile[PATH_MAX], p_runclog[PATH_MAX],
    p_monlog[PATH_MAX];

static void path_in_state_dir(char *out, const char *name) {
  if (snprintf(out, PATH_MAX, "%s/%s", cfg.state_dir, name) >= PATH_MAX) die("state directory path too long");
}

void state_paths(void) {
  path_in_state_dir(p_state, "state.json");
  path_in_state_dir(p_socket, "attach.sock");
  path_in_state_dir(p_console, "pty.sock");
  path_in_state_dir(p_pidfile, "container.pid");
  path_in_state_dir(p_runclog, "runc.log");
  path_in_state_dir(p_monlog, "monitor.log");
}

static void notify(void) {
  if (cfg.notify_fd < 0) return;
  /* Non-blocking: a reader that stopped reading (or went away: EPIPE) just stops being told. */
  ssize_t w;
  do w = write(cfg.notify_fd, "s", 1);
  while (w < 0 && errno == EINTR);
  if (w < 0 && errno != EAGAIN) close_quietly(&cfg.notify_fd);
}

/* Temp file and rename, no fsync: run-time state, as replaceFileSync in src/util/fs.ts. 0, or -1 with errno. */
static int write_state_file(const buf_t *b) {
  char tmp[PATH_MAX + 32];
  snprintf(tmp, sizeof tmp, "%s.%d.tmp", p_state, (int)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int ok = fd >= 0 && write_all(fd, b->p, b->len) == 0;
  int e = errno;
  if (fd >= 0 && close(fd) != 0 && ok) ok = 0, e = errno;
  if (ok && rename(tmp, p_state) != 0) ok = 0, e = errno;
  if (ok) return 0;
  if (fd >= 0 && unlink(tmp) != 0 && errno != ENOENT) warn("unlink %s: %s", tmp, strerror(errno));
  errno = e;
  return -1;
}

int state_failed;

/*
 * The state is how everyone else learns of the container: a failed write (a full disk, a passing error) is retried a
 * few times, 10 to 160 ms apart; readers are told only of a state that was written. One that still fails is reported
 * and makes the monitor's own exit status 1 unless a later write succeeds.
 */
void save_state(void) {
  buf_t b = {0};
  buf_adds(&b, "{\"id\":");
  json_string(&b, cfg.id);
  buf_adds(&b, ",\"status\":");
  json_string(&b, st.restarting && !strcmp(st.status, "starting") ? "restarting" : st.status);
  buf_printf(&b, ",\"monitorPid\":%d", (int)getpid());
  buf_adds(&b, ",\"signalFrames\":true"); /* this monitor answers SIGNAL frames (attach.c) */
  if (st.attach_ready) buf_adds(&b, ",\"attachReady\":true");
  if (st.pid > 0) buf_printf(&b, ",\"pid\":%ld", st.pid);
  if (st.started_at[0]) buf_printf(&b, ",\"startedAt\":\"%s\"", st.started_at);
  if (st.finished_at[0]) buf_printf(&b, ",\"finishedAt\":\"%s\"", st.finished_at);
  if (st.has_exit) buf_printf(&b, ",\"exitCode\":%d", st.exit_code);
  else if (st.restart_count > 0) buf_printf(&b, ",\"lastExitCode\":%d", st.exit_code); /* the run before this */
  if (st.oom_killed) buf_adds(&b, ",\"oomKilled\":true");
  if (st.error) {
    buf_adds(&b, ",\"error\":");
    json_string(&b, st.error);
  }
  if (st.error_code) buf_printf(&b, ",\"errorCode\":\"%s\"", st.error_code);
  if (st.cleaned_up) buf_adds(&b, ",\"cleanedUp\":true");
  if (st.cleanup_error) {
    buf_adds(&b, ",\"cleanupError\":");
    json_string(&b, st.cleanup_error);
  }
  if (st.cleanup_by > 0) buf_printf(&b, ",\"cleanupBy\":%ld", st.cleanup_by);
  if (st.restart_count > 0) buf_printf(&b, ",\"restartCount\":%d", st.restart_count);
  buf_adds(&b, "}\n");
  int r = write_state_file(&b);
  for (int delay_ms = 10; r != 0 && delay_ms <= 160; delay_ms *= 2) {
    struct timespec ts = {.tv_sec = 0, .tv_nsec = delay_ms * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
    r = write_state_file(&b);
  }
  int e = errno;
  buf_free(&b);
  if (r != 0) {
    warn("cannot write %s (5 retries): %s", p_state, strerror(e));
    state_failed = 1;
    return;
  }
  state_failed = 0;
  notify();
}

/* JSON.stringify({exitCode, error, errorCode[, cleanupDelegated]}). */
void exit_info(buf_t *b, int delegated) {
  buf_addc(b, '{');
  const char *sep = "";
  if (st.has_exit) {
    buf_printf(b, "\"exitCode\":%d", st.exit_code);
    sep = ",";
  }
  if (st.error) {
    buf_printf(b, "%s\"error\":", sep);
    json_string(b, st.error);
    sep = ",";
  }
  if (st.error_code) {
    buf_printf(b, "%s\"errorCode\":\"%s\"", sep, st.error_code);
    sep = ",";
  }
  if (delegated) buf_printf(b, "%s\"cleanupDelegated\":true", sep);
  buf_addc(b, '}');
}
