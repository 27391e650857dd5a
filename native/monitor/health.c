/*
 * Health checks (Docker's HEALTHCHECK, moby daemon/health.go), run by the monitor since there is no daemon.
 *
 * While the container runs, the probe (`runc exec` of the configured argv: the CLI resolved CMD-SHELL to the shell)
 * starts every interval, counted from the end of the previous one as Docker's timer is; during the start period,
 * while the status is still "starting", every start interval instead. It never blocks the loop: a child reaped by
 * reap() (its exit taken by pid), its stdout and stderr on one non-blocking pipe, of which the first 4096 bytes are
 * kept ("..." marks the rest, as Docker's limitedBuffer). At its timeout the probe's process in the container is
 * SIGKILLed (its host pid from runc's --pid-file) and the result is Docker's: exit code -1, "Health check exceeded
 * timeout (1s)". Consecutive failures, from `retries` on, make the status "unhealthy"; failures within the start
 * period count only once the container was healthy; a success makes it "healthy" and resets the streak. The last
 * five results, the status and the streak are in health.json (Docker's State.Health), replaced atomically after
 * every result. When the container is gone the probe is killed (its result dropped), and the status is "unhealthy"
 * as Docker 20.10 sets it when its monitor stops. When a restart policy runs the container again, no probe runs
 * between the runs, and the checks start afresh once the next run is up (Docker's initHealthMonitor at each start).
 */
#include "monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define HEALTH_MAX_OUTPUT 4096 /* Docker's maxOutputLen */
#define HEALTH_MAX_LOG 5       /* Docker's maxLogEntries */
#define HEALTH_KILL_GRACE_MS 2000 /* after killing the probe's process, how long runc exec gets before it is killed too */

struct health_result {
  char start[48], end[48];
  int exit_code;
  char *output;
};

static int started, stopped, paused;
static int64_t started_ms, next_ms;
static const char *status = "starting";
static int failing_streak;
static struct health_result results[HEALTH_MAX_LOG];
static int nresults;

/* The probe in flight. */
static pid_t probe_pid = -1;
static int probe_fd = -1;
static int64_t probe_deadline, probe_killed_at;
static int probe_timed_out;
static char probe_start[48];
static buf_t probe_out;
static int probe_truncated;
static char p_health[PATH_MAX], p_health_pid[PATH_MAX];

/* Go's time.Time in JSON (RFC 3339 with nanoseconds, trailing zeros dropped), in UTC as dockerd writes it. */
static void rfc3339_nano_now(char out[48]) {
  struct timespec ts;
  struct tm tm;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || !gmtime_r(&ts.tv_sec, &tm)) die("cannot read the clock: %s", strerror(errno));
  char frac[16] = "";
  if (ts.tv_nsec) {
    snprintf(frac, sizeof frac, ".%09ld", ts.tv_nsec);
    size_t k = strlen(frac);
    while (frac[k - 1] == '0') frac[--k] = '\0';
  }
  snprintf(out, 48, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
           tm.tm_min, tm.tm_sec, frac);
}

/* health.json: temp file, fsync, rename (a reader sees the old or the new record, never a part). */
static void write_health(void) {
  buf_t b = {0};
  buf_adds(&b, "{\"Status\":");
  json_string(&b, status);
  buf_printf(&b, ",\"FailingStreak\":%d,\"Log\":[", failing_streak);
  for (int i = 0; i < nresults; i++) {
    const struct health_result *r = &results[i];
    buf_printf(&b, "%s{\"Start\":\"%s\",\"End\":\"%s\",\"ExitCode\":%d,\"Output\":", i ? "," : "", r->start, r->end,
               r->exit_code);
    json_string_from_bytes(&b, (const unsigned char *)r->output, strlen(r->output));
    buf_addc(&b, '}');
  }
  buf_adds(&b, "]}\n");
  char tmp[PATH_MAX + 32];
  snprintf(tmp, sizeof tmp, "%s.%d.tmp", p_health, (int)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int ok = fd >= 0 && write_all(fd, b.p, b.len) == 0 && fsync(fd) == 0;
  if (fd >= 0 && close(fd) != 0) ok = 0;
  if (ok && rename(tmp, p_health) != 0) ok = 0;
  if (!ok) {
    warn("cannot write %s: %s", p_health, strerror(errno));
    if (fd >= 0) unlink(tmp);
  }
  buf_free(&b);
}

/* Whether the container is paused: its cgroup frozen (cgroup v1 freezer.state, v2 cgroup.freeze). */
static int container_frozen(void) {
  if (!cfg.cgroups_path) return 0;
  char p[PATH_MAX * 2];
  snprintf(p, sizeof p, "%s/freezer%s/freezer.state", cfg.cgroup_root, cfg.cgroups_path);
  char *t = read_file(p, NULL);
  if (t) {
    int frozen = !strncmp(t, "FROZEN", 6) || !strncmp(t, "FREEZING", 8);
    free(t);
    return frozen;
  }
  snprintf(p, sizeof p, "%s%s/cgroup.freeze", cfg.cgroup_root, cfg.cgroups_path);
  t = read_file(p, NULL);
  int frozen = t && t[0] == '1';
  free(t);
  return frozen;
}

/* Docker's getInterval: the start interval while starting within the start period, else the interval. */
static long interval_ms(void) {
  if (now_ms() - started_ms >= cfg.health_start_period_ms) return cfg.health_interval_ms;
  return !strcmp(status, "starting") ? cfg.health_start_interval_ms : cfg.health_interval_ms;
}

/* A change of status is an event in Docker's log ("health_status: healthy", no attributes of its own). */
static void health_status_changed(const char *action) { event_emit(action, NULL); }

/* The probe's exec events as Docker's (exec_create/exec_start/exec_die, with a random execID). */
static char probe_exec_id[65];

static void new_exec_id(void) {
  unsigned char raw[32];
  size_t got = 0;
  while (got < sizeof raw) {
    ssize_t k = getrandom(raw + got, sizeof raw - got, 0);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;
    got += (size_t)k;
  }
  static unsigned calls; /* without getrandom (it does not fail on Linux 3.17+ in practice): time, pid and a count */
  calls++;
  for (size_t i = got; i < sizeof raw; i++)
    raw[i] = (unsigned char)(((uint64_t)now_ms() >> (8 * (i % 8))) ^ (unsigned)getpid() ^ (calls * 37u) ^ (unsigned)i);
  for (size_t i = 0; i < sizeof raw; i++) snprintf(probe_exec_id + 2 * i, 3, "%02x", raw[i]);
}

/* "exec_create: /bin/sh -c exit 1": moby names the exec by its entrypoint, a space and its arguments ("true " alone). */
static void probe_exec_event(const char *what) {
  buf_t a = {0};
  buf_printf(&a, "%s: %s ", what, cfg.health_cmd[0]);
  for (size_t i = 1; cfg.health_cmd[i]; i++) buf_printf(&a, "%s%s", i > 1 ? " " : "", cfg.health_cmd[i]);
  if (a.len > 1024) a.len = 1024; /* an event line stays under 4 KiB (docs/events.md) */
  buf_addc(&a, '\0');
  char attrs[96];
  snprintf(attrs, sizeof attrs, "\"execID\":\"%s\"", probe_exec_id);
  event_emit(a.p, attrs);
  buf_free(&a);
}

/* Docker's handleProbeResult. `start_ms`: when the probe started (monotonic), for the start period. */
static void record_result(const char *start, int64_t start_ms, int exit_code, char *output) {
  if (nresults == HEALTH_MAX_LOG) {
    free(results[0].output);
    memmove(results, results + 1, sizeof results[0] * (HEALTH_MAX_LOG - 1));
    nresults--;
  }
  struct health_result *r = &results[nresults++];
  snprintf(r->start, sizeof r->start, "%s", start);
  rfc3339_nano_now(r->end);
  r->exit_code = exit_code;
  r->output = output;
  const char *old = status;
  if (exit_code == 0) {
    failing_streak = 0;
    status = "healthy";
  } else if (strcmp(status, "starting") != 0 || start_ms - started_ms >= cfg.health_start_period_ms) {
    /* Within the start period a failure of a container never healthy yet does not count. */
    if (++failing_streak >= cfg.health_retries) status = "unhealthy";
  }
  write_health();
  if (strcmp(old, status) != 0) {
    buf_t a = {0};
    buf_printf(&a, "health_status: %s", status);
    buf_addc(&a, '\0');
    health_status_changed(a.p);
    buf_free(&a);
  }
}

static int64_t probe_start_ms;

static void read_probe_output(void) {
  char tmp[4096];
  ssize_t k;
  while (probe_fd >= 0 && (k = read(probe_fd, tmp, sizeof tmp)) != 0) {
    if (k < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) close_quietly(&probe_fd);
      return;
    }
    size_t room = HEALTH_MAX_OUTPUT - probe_out.len, keep = (size_t)k < room ? (size_t)k : room;
    buf_add(&probe_out, tmp, keep);
    if (keep < (size_t)k) probe_truncated = 1;
  }
  if (probe_fd >= 0) close_quietly(&probe_fd); /* k == 0: the end */
}

static void start_probe(void) {
  int p[2];
  rfc3339_nano_now(probe_start);
  probe_start_ms = now_ms();
  probe_timed_out = 0, probe_killed_at = 0, probe_truncated = 0;
  buf_free(&probe_out);
  if (unlink(p_health_pid) != 0 && errno != ENOENT) warn("unlink %s: %s", p_health_pid, strerror(errno));
  if (pipe2(p, O_CLOEXEC) < 0) {
    record_result(probe_start, probe_start_ms, -1, xstrdup(strerror(errno)));
    next_ms = now_ms() + interval_ms();
    return;
  }
  size_t n = 0;
  while (cfg.health_cmd[n]) n++;
  char **argv = xrealloc(NULL, (n + 9) * sizeof *argv);
  size_t a = 0;
  argv[a++] = (char *)cfg.runc_binary;
  argv[a++] = "--root";
  argv[a++] = (char *)cfg.runc_root;
  argv[a++] = "exec";
  argv[a++] = "--pid-file";
  argv[a++] = p_health_pid;
  argv[a++] = (char *)cfg.id;
  for (size_t i = 0; i < n; i++) argv[a++] = cfg.health_cmd[i];
  argv[a] = NULL;
  int e;
  probe_pid = spawn_child(argv, -1, p[1], p[1], NULL, &e);
  free(argv);
  close_quietly(&p[1]);
  if (probe_pid < 0) {
    close_quietly(&p[0]);
    buf_t m = {0};
    buf_printf(&m, "cannot run %s: %s", cfg.runc_binary, strerror(e));
    buf_addc(&m, '\0');
    record_result(probe_start, probe_start_ms, -1, m.p);
    next_ms = now_ms() + interval_ms();
    return;
  }
  new_exec_id();
  probe_exec_event("exec_create");
  probe_exec_event("exec_start");
  probe_fd = p[0];
  if (fcntl(probe_fd, F_SETFL, O_NONBLOCK) < 0) warn("fcntl: %s", strerror(errno));
  probe_deadline = probe_start_ms + cfg.health_timeout_ms;
}

/*
 * SIGKILL to the probe's process in the container (while the container lives: after that its pid may be another
 * process's), and to runc exec itself (our child, not reaped yet, so its pid is still its own) once it had its grace.
 */
static void kill_probe(int container_alive) {
  long pid = 0;
  if (container_alive) {
    char *text = read_file(p_health_pid, NULL);
    pid = text ? strtol(text, NULL, 10) : 0;
    free(text);
  }
  if (!probe_killed_at) probe_killed_at = now_ms();
  if (pid > 0 && kill((pid_t)pid, SIGKILL) != 0 && errno != ESRCH) warn("kill %ld: %s", pid, strerror(errno));
  if ((pid <= 0 || now_ms() - probe_killed_at >= HEALTH_KILL_GRACE_MS) && kill(probe_pid, SIGKILL) != 0 &&
      errno != ESRCH)
    warn("kill %d: %s", (int)probe_pid, strerror(errno));
}

/* The probe's end: its result, unless the container is gone (then Docker drops it too). */
static void probe_done(int code) {
  read_probe_output();
  close_quietly(&probe_fd);
  probe_pid = -1;
  char attrs[128];
  snprintf(attrs, sizeof attrs, "\"execID\":\"%s\",\"exitCode\":\"%d\"", probe_exec_id, code);
  event_emit("exec_die", attrs);
  if (stopped || paused) { /* cancelled, as Docker drops the result of a probe whose checks stopped */
    buf_free(&probe_out);
    next_ms = now_ms() + interval_ms();
    return;
  }
  buf_t out = {0};
  if (probe_timed_out) buf_printf(&out, "Health check exceeded timeout (%s)", cfg.health_timeout_text);
  else if (code == 255 && probe_out.len > 6 && !memcmp(probe_out.p, "time=\"", 6) &&
           memmem(probe_out.p, probe_out.len, "level=error msg=\"", 17)) {
    /* The probe never ran, and runc said why: Docker reports containerd's error for it, with exit code -1. */
    char *text = xrealloc(NULL, probe_out.len + 1);
    memcpy(text, probe_out.p, probe_out.len);
    text[probe_out.len] = '\0';
    char *msg = runc_error_message(text);
    buf_printf(&out, "OCI runtime exec failed: %s: unknown", msg);
    free(msg);
    free(text);
    code = -1;
  } else {
    buf_add(&out, probe_out.p ? probe_out.p : "", probe_out.len);
    if (probe_truncated) buf_adds(&out, "...");
  }
  buf_addc(&out, '\0');
  buf_free(&probe_out);
  record_result(probe_start, probe_start_ms, probe_timed_out ? -1 : code, out.p);
  next_ms = now_ms() + interval_ms();
}

int health_poll_fd(void) { return probe_fd; }

int health_clamp_wait(int timeout_ms) {
  if (!started || stopped || (paused && probe_pid < 0)) return timeout_ms;
  int64_t until = probe_pid > 0 ? (probe_timed_out ? probe_killed_at + HEALTH_KILL_GRACE_MS : probe_deadline) : next_ms;
  int64_t d = until - now_ms();
  if (d < 0) d = probe_pid > 0 ? 100 : 0; /* a probe past its kill's grace is killed again now and then, not in a spin */
  if (timeout_ms < 0 || d < timeout_ms) return (int)(d > 1000 ? 1000 : d);
  return timeout_ms;
}

void health_tick(void) {
  if (!cfg.health_cmd || !cfg.health_cmd[0]) return;
  int gone = st.has_exit || (cfg.tty ? container_reaped : runc_gone);
  if (stopped && !gone && probe_pid < 0 && !strcmp(st.status, "running")) {
    /* The monitor runs the container again (a restart policy): as Docker's initHealthMonitor, starting afresh with
       the streak at 0 and the results kept. The last run's probe was killed at its exit and reaped (probe_pid < 0:
       its result was dropped, not taken for this run's); a pause seen while runc tore the last run down (its
       freezer) is no pause of this one. */
    started = stopped = paused = 0;
    status = "starting";
    failing_streak = 0;
  }
  if (!started) {
    if (gone || strcmp(st.status, "running") != 0) return;
    if (snprintf(p_health, sizeof p_health, "%s/health.json", cfg.state_dir) >= (int)sizeof p_health ||
        snprintf(p_health_pid, sizeof p_health_pid, "%s/health.pid", cfg.state_dir) >= (int)sizeof p_health_pid)
      die("state directory path too long");
    started = 1;
    started_ms = now_ms();
    next_ms = started_ms + interval_ms();
    write_health();
  }
  if (probe_pid > 0) {
    read_probe_output();
    int code = reaped_take(probe_pid);
    if (code >= 0) probe_done(code);
    else if (gone || now_ms() >= probe_deadline) {
      if (!gone) probe_timed_out = 1;
      /* Once the container is gone, runc exec is killed at once, also within the grace of a timeout's kill: the
         next run's checks start only after this probe is reaped. */
      if (gone || !probe_killed_at || now_ms() - probe_killed_at >= HEALTH_KILL_GRACE_MS) kill_probe(!gone);
    }
  }
  if (gone) {
    if (!stopped) {
      stopped = 1;
      status = "unhealthy"; /* Docker 20.10's CloseMonitorChannel */
      write_health();
    }
    return;
  }
  /* Between a restart's runs: the last run has gone (has_exit and runc_gone are reset for the next one) but the next
     is not running yet. No probe then: one started here ran `runc exec` on a container being deleted or created,
     its result was dropped (stopped), and while it lasted (up to its timeout) the next run's checks could not begin
     (probe_pid < 0 above), so a short run got no probe at all. The checks start afresh once the run is "running". */
  if (stopped) return;
  int frozen = container_frozen();
  if (frozen != paused) {
    /* Docker stops the checks of a paused container (status unhealthy) and starts them afresh on unpause. */
    paused = frozen;
    status = paused ? "unhealthy" : "starting";
    if (!paused) failing_streak = 0, next_ms = now_ms() + interval_ms();
    write_health();
  }
  if (!paused && probe_pid < 0 && now_ms() >= next_ms) start_probe();
}
