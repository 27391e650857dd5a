/*
 * wharf-monitor <monitor.conf>: the per-container monitor, started detached by src/runtime/monitor.ts for every
 * container. It runs runc, writes the json-file log, serves the attach socket, records state.json atomically,
 * detects OOM kills, and runs the cleanup command when the container is gone (or leaves it to the attached client
 * that claimed it).
 *
 * On pipes, `runc run` in the foreground: runc, as the container's child subreaper, reports its exit status. On a
 * terminal, `runc run --detach --console-socket`: the monitor receives the pty's master (pty.c) and, as the child
 * subreaper itself, reaps the container's init. Why C: a container start pays for its monitor on its critical path;
 * this does the job in ~1 ms of CPU, as conmon does for podman.
 */
#include "monitor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

/*
 * Descriptors the monitor inherited (from the CLI, a shell, a service manager) must not reach runc, the container or
 * the cleanup command: all from 3 up are marked close-on-exec before anything else is opened. Those the monitor uses
 * (the notify descriptor) stay open here; its children get only their stdio.
 */
static void cloexec_inherited(void) {
#ifdef SYS_close_range
  if (syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC, Linux 5.11 */) == 0) return;
#endif
  DIR *d = opendir("/proc/self/fd");
  if (!d) die("cannot list /proc/self/fd: %s", strerror(errno));
  int self = dirfd(d);
  struct dirent *de;
  while ((de = readdir(d))) {
    char *end;
    long fd = strtol(de->d_name, &end, 10);
    if (*end || end == de->d_name || fd < 3 || fd == self) continue;
    int fl = fcntl((int)fd, F_GETFD);
    if (fl >= 0 && !(fl & FD_CLOEXEC) && fcntl((int)fd, F_SETFD, fl | FD_CLOEXEC) != 0)
      die("cannot mark descriptor %ld close-on-exec: %s", fd, strerror(errno));
  }
  if (closedir(d) != 0) die("closedir /proc/self/fd: %s", strerror(errno));
}

static char spawned_at[64];
static int64_t spawned_ms; /* for the die event's execDuration */
static int spawn_errno;

/* stdin from /dev/null, stdout and stderr (runc's and the cleanup command's output too) appended to monitor.log. */
static void redirect_stdio(void) {
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull < 0 || dup2(devnull, 0) < 0) die("cannot open /dev/null: %s", strerror(errno));
  close_quietly(&devnull);
  int lfd = open(p_monlog, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (lfd < 0) die("cannot open %s: %s", p_monlog, strerror(errno));
  if (dup2(lfd, 1) < 0 || dup2(lfd, 2) < 0) die("dup2: %s", strerror(errno));
  close_quietly(&lfd);
}

static void setup_signals(void) {
  /* The CLI that started us may be gone: a broken pipe or a hangup must not take the container's monitor along. */
  if (signal(SIGPIPE, SIG_IGN) == SIG_ERR || signal(SIGXFSZ, SIG_IGN) == SIG_ERR || /* a log past RLIMIT_FSIZE: EFBIG */
      signal(SIGCHLD, SIG_DFL) == SIG_ERR) /* inherited as ignored, the kernel would reap runc before we learn its status */
    die("signal: %s", strerror(errno));
  sigset_t handled;
  sigemptyset(&handled);
  int sigs[] = {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
  for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) sigaddset(&handled, sigs[i]);
  if (sigprocmask(SIG_BLOCK, &handled, NULL) != 0) die("sigprocmask: %s", strerror(errno));
  sig_fd = signalfd(-1, &handled, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sig_fd < 0) die("signalfd: %s", strerror(errno));
}

static void setup_notify_fd(void) {
  if (cfg.notify_fd < 0) return;
  int fl = fcntl(cfg.notify_fd, F_GETFL);
  if (fl < 0 || fcntl(cfg.notify_fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(cfg.notify_fd, F_SETFD, FD_CLOEXEC) < 0)
    cfg.notify_fd = -1; /* not open here: no notifications */
}

static void unlink_if_there(const char *p) {
  if (unlink(p) != 0 && errno != ENOENT) die("cannot remove %s: %s", p, strerror(errno));
}

/* runc in the foreground on pipes; the container's output is held for the first client meanwhile. */
static void start_on_pipes(void) {
  int pin[2] = {-1, -1}, pout[2], perr[2];
  if ((cfg.open_stdin && pipe2(pin, O_CLOEXEC) < 0) || pipe2(pout, O_CLOEXEC) < 0 || pipe2(perr, O_CLOEXEC) < 0)
    die("cannot make pipes: %s", strerror(errno));
  char *argv[] = {(char *)cfg.runc_binary, "--root", (char *)cfg.runc_root, "--log", p_runclog, "--log-format", "json",
                  "run", "--bundle", (char *)cfg.bundle, "--pid-file", p_pidfile, (char *)cfg.id, NULL};
  iso_now(spawned_at);
  spawned_ms = now_ms();
  trace("runc spawn");
  runc_pid = spawn_child(argv, pin[0], pout[1], perr[1], cfg.bundle, &spawn_errno);
  close_quietly(&pin[0]);
  close_quietly(&pout[1]);
  close_quietly(&perr[1]);
  out_fd[F_STDOUT] = pout[0];
  out_fd[F_STDERR] = perr[0];
  if (fcntl(pout[0], F_SETFL, O_NONBLOCK) < 0 || fcntl(perr[0], F_SETFL, O_NONBLOCK) < 0) die("fcntl: %s", strerror(errno));
  if (runc_pid > 0 && cfg.open_stdin) {
    stdin_fd = pin[1];
    if (fcntl(stdin_fd, F_SETFL, O_NONBLOCK) < 0) die("fcntl: %s", strerror(errno));
  } else {
    close_quietly(&pin[1]);
  }
}

/* runc detached, the terminal's master sent to pty.sock (received by the loop). */
static void start_on_terminal(void) {
  char *argv[] = {(char *)cfg.runc_binary, "--root", (char *)cfg.runc_root, "--log", p_runclog, "--log-format", "json",
                  "run", "--detach", "--console-socket", p_console, "--bundle", (char *)cfg.bundle, "--pid-file", p_pidfile,
                  (char *)cfg.id, NULL};
  iso_now(spawned_at);
  spawned_ms = now_ms();
  trace("runc spawn");
  runc_pid = spawn_child(argv, -1, 2, 2, cfg.bundle, &spawn_errno);
}

/* Waits for the container's exit; its exit code (as a shell reports it: 128 + signal). */
static int wait_for_exit(void) {
  while (!runc_gone) loop_once(attach_holding() ? clamp_wait(attach_deadline) : 1000);
  if (!cfg.tty) return runc_status;
  trace("runc detached");
  if (runc_status != 0) return runc_status;
  check_pid_file();
  if (container_pid <= 0) {
    warn("runc started container %s but its pid file %s is unreadable", cfg.id, p_pidfile);
    return runc_status;
  }
  int code;
  while ((code = reaped_status(container_pid)) < 0) {
    /* Not our child after all (runc's layout changed?): poll for the process instead of waiting forever. */
    if (!pid_alive(container_pid) && reaped_status(container_pid) < 0) {
      reap();
      if ((code = reaped_status(container_pid)) < 0) code = 137;
      break;
    }
    loop_once(1000);
  }
  return code;
}

/* The output's tail reaches the log, held for a client or not (at most DRAIN_MS). */
static void drain_output(void) {
  draining = 1;
  int64_t until = now_ms() + DRAIN_MS;
  while ((out_fd[F_STDOUT] >= 0 || out_fd[F_STDERR] >= 0) && now_ms() < until) loop_once(clamp_wait(until));
}

static void record_exit(int status) {
  size_t len = 0;
  char *runc_log = read_file(p_runclog, &len);
  char *failure = NULL;
  if (runc_log && (strstr(runc_log, "\"level\":\"error\"") || strstr(runc_log, "\"level\":\"fatal\"")))
    failure = runc_error_message(runc_log);
  free(runc_log);
  st.has_exit = 1;
  if (failure && *failure && (strcmp(st.status, "running") != 0 || strstr(failure, "unable to start container process"))) {
    /* The pid file can exist before exec fails (e.g. permission denied): still a start failure. */
    runc_classify(failure, &st.error_code, &st.exit_code);
    st.error = failure;
    return;
  }
  free(failure);
  st.exit_code = status;
  if (!strcmp(st.status, "starting")) {
    /* Exited before the pid file was seen: a fast command. */
    char *text = read_file(p_pidfile, NULL);
    long pid = text ? strtol(text, NULL, 10) : 0;
    free(text);
    if (pid > 0) st.pid = pid;
    memcpy(st.started_at, spawned_at, sizeof spawned_at);
  }
}

/*
 * Docker's events for the exit (after the `start` of one that exited before it was seen running): `oom` first when the kernel killed it so, then `die` with the exit code and how long
 * it ran in whole seconds. A process that never started (runc's error) has no die: Docker reports that as the
 * start's error.
 */
static void emit_exit_events(void) {
  if (st.error) return;
  event_start(); /* a container that exited before its pid file was read */
  if (st.oom_killed) event_emit("oom", NULL);
  buf_t b = {0};
  buf_printf(&b, "\"execDuration\":\"%lld\",\"exitCode\":\"%d\"", (long long)((now_ms() - spawned_ms) / 1000),
             st.exit_code);
  buf_addc(&b, '\0');
  event_emit("die", b.p);
  buf_free(&b);
}

/* Waits (still serving clients) until every client has closed, at most `ms`. */
static void drain_clients(int ms) {
  int64_t until = now_ms() + ms;
  while (attach_clients() > 0 && now_ms() < until) loop_once(clamp_wait(until));
}

static void finish(void) {
  client_t *claimant = NULL;
  if (st.cleanup_by > 0) {
    claimant = attach_live_claimant();
    if (!claimant) {
      st.cleanup_by = 0; /* the client went away since: the monitor cleans up after all */
      save_state();
    }
  }
  if (claimant) {
    /* The attached client cleans up: everything is written before the exit frame, since it may remove the whole
       state directory as soon as it has read it. */
    attach_stop_listening();
    attach_end_all(claimant);
    drain_clients(2000);
    return;
  }
  if (cfg.cleanup && cfg.cleanup[0]) {
    int res = run_quiet(cfg.cleanup, cfg.cleanup_timeout_ms);
    if (res != 0) {
      buf_t b = {0};
      buf_printf(&b, "cleanup command exited with %d", res);
      buf_addc(&b, '\0');
      st.cleanup_error = b.p;
    }
  }
  attach_end_all(NULL);
  attach_stop_listening(); /* before the final state, so that whoever waits for it finds no socket */
  st.cleaned_up = 1;
  save_state();
  drain_clients(2000);
}

int main(int argc, char **argv) {
  if (argc != 2 || argv[1][0] == '-') {
    fprintf(stderr, "usage: wharf-monitor <monitor.conf>\n");
    return 2;
  }
  trace("monitor main");
  cloexec_inherited();
  config_load(argv[1]);
  state_paths();
  redirect_stdio();
  /* Orphans below us are ours to reap: a detached container's init once runc has gone. */
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) die("PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
  setup_notify_fd();
  setup_signals();
  if (log_open() < 0) die("cannot open the log %s: %s", cfg.log_path, strerror(errno));
  attach_deadline = now_ms() + ATTACH_WAIT_MS;
  pid_watch_start();
  unlink_if_there(p_pidfile);
  unlink_if_there(p_runclog);

  /* On pipes runc first: it takes tens of milliseconds, and the socket is set up meanwhile. */
  if (!cfg.tty) start_on_pipes();
  if (attach_listen() < 0 || (cfg.tty && console_listen() < 0)) {
    /* No socket, so no one can attach or learn of the exit: take the container that is already starting down. */
    int e = errno;
    if (runc_pid > 0) {
      char *dargv[] = {(char *)cfg.runc_binary, "--root", (char *)cfg.runc_root, "delete", "--force", (char *)cfg.id, NULL};
      run_quiet(dargv, 10000);
      if (!runc_gone && kill(runc_pid, SIGKILL) != 0 && errno != ESRCH) warn("kill: %s", strerror(errno));
    }
    die("cannot listen on %s: %s", listen_fd < 0 ? p_socket : p_console, strerror(e));
  }
  /* Before any "running" state: a client that reads running also reads attachReady. */
  st.attach_ready = 1;
  save_state();
  trace("monitor listening");
  if (cfg.tty) {
    /* A terminal's client must be there first: what the container writes first is for it. */
    while (cfg.wait_for_attach && !first_seen && now_ms() < attach_deadline) loop_once(clamp_wait(attach_deadline));
    start_on_terminal();
  }

  int status = -1;
  if (runc_pid < 0) {
    /* As Node reports a binary that cannot be spawned: exit 127 and UNAVAILABLE. */
    buf_t b = {0};
    buf_printf(&b, "cannot run %s: spawn %s %s", cfg.runc_binary, cfg.runc_binary, errno_name(spawn_errno));
    buf_addc(&b, '\0');
    st.error = b.p;
    st.error_code = "UNAVAILABLE";
    st.has_exit = 1;
    st.exit_code = 127;
    runc_gone = 1;
  } else {
    for (;;) {
      check_pid_file();
      status = wait_for_exit();
      container_pidfd_close(); /* exited: a SIGNAL frame now falls back to runc, which says so */
      trace("container exited");
      drain_output();
      if (oom_killed(status)) st.oom_killed = 1;
      oom_stop();
      record_exit(status);
      runc_error_line_settle(st.error != NULL);
      emit_exit_events();
      if (!hook_restart_wanted(st.exit_code)) break; /* see hooks.c: on yes, the next run is ready to start */
      if (cfg.tty) start_on_terminal();
      else start_on_pipes();
      if (runc_pid < 0) {
        warn("cannot run %s again: %s", cfg.runc_binary, errno_name(spawn_errno));
        runc_gone = 1;
        break;
      }
      event_emit("start", NULL); /* a restart's start (the first run's is event_start()'s) */
    }
  }
  release_links(); /* gone for good: its veths go now, while the exit is recorded and handed over (links.c) */
  iso_now(st.finished_at);
  st.status = "exited";
  log_close();
  pid_watch_stop();
  console_stop();
  close_quietly(&stdin_fd);
  close_quietly(&pty_fd);
  for (int t = F_STDOUT; t <= F_STDERR; t++) close_quietly(&out_fd[t]);
  runc_release();
  /* A container that exited before its client attached: the client is on its way, give it the time it was promised,
     unless its process is gone (a CLI killed during the start). */
  while (cfg.wait_for_attach && !first_seen && now_ms() < attach_deadline &&
         (cfg.attach_client_pid <= 0 || pid_alive(cfg.attach_client_pid)))
    loop_once(100);
  if (cfg.attach_claims_cleanup && first_seen) {
    int64_t until = now_ms() + CLAIM_WAIT_MS;
    while (!first_claim_settled && now_ms() < until) loop_once(clamp_wait(until));
  }
  /* One state write for the exit and the hand-over: the attached client's claim is recorded with the exit. */
  client_t *claimant = attach_live_claimant();
  if (claimant) st.cleanup_by = attach_claim_pid(claimant);
  save_state();
  trace("exit state saved");
  finish();
  return state_failed ? 1 : 0;
}
