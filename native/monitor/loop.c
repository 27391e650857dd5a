/* The poll loop: signals, runc's pid file, the container's output and input, the terminal, OOM events, clients. */
#include "monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <unistd.h>

int sig_fd = -1;
int out_fd[3] = {-1, -1, -1};
int stdin_fd = -1;
int pty_fd = -1;
int64_t attach_deadline;
int draining; /* the container is gone: read its output's tail whatever the clients' queues */

static buf_t stdin_q;
static int stdin_ending;
static int pid_ino_fd = -1;
static int pid_seen;
static void send_pending_signals(void);

void stdin_queue(const char *data, size_t n) {
  if (stdin_ending) return;
  /* A terminal's client may type before runc has sent the terminal: kept until it is there (STDIN_LIMIT applies). */
  int terminal_coming = cfg.tty && cfg.open_stdin && console_listen_fd >= 0;
  if (stdin_fd >= 0 || terminal_coming) buf_add(&stdin_q, data, n);
}

void stdin_end(void) {
  if (stdin_fd < 0) return;
  if (buf_pending(&stdin_q)) {
    stdin_ending = 1;
    return;
  }
  close_quietly(&stdin_fd);
}

/* ---- runc's pid file: the container runs ---- */

static void *close_in_background(void *fd) {
  int f = (int)(intptr_t)fd;
  close_quietly(&f);
  return NULL;
}

/*
 * Closing an inotify descriptor waits for an SRCU grace period (~5 ms here): done by a thread of its own, so that
 * the instance is freed (fs.inotify.max_user_instances is 128 per user by default, and a monitor lives as long as
 * its container) without stalling the container's start or exit.
 */
void pid_watch_stop(void) {
  if (pid_ino_fd < 0) return;
  int fd = pid_ino_fd;
  pid_ino_fd = -1;
  pthread_t t;
  pthread_attr_t a;
  int err = pthread_attr_init(&a);
  if (err) {
    close_quietly(&fd);
    return;
  }
  err = pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
  if (!err) err = pthread_create(&t, &a, close_in_background, (void *)(intptr_t)fd);
  if (err) close_quietly(&fd);
  (void)pthread_attr_destroy(&a); /* cannot fail for an initialised attribute */
}

/* Watch for runc's pid file before runc can write it; without inotify (none left), it is looked for every 10 ms. */
void pid_watch_start(void) {
  pid_ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (pid_ino_fd >= 0 && inotify_add_watch(pid_ino_fd, cfg.state_dir, IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
    warn("inotify on %s: %s", cfg.state_dir, strerror(errno));
    close_quietly(&pid_ino_fd);
  }
}

int pid_watch_done(void) { return pid_seen; }

void check_pid_file(void) {
  if (pid_seen || (runc_gone && !cfg.tty)) return; /* after the exit, the exit's own bookkeeping reads it */
  char *text = read_file(p_pidfile, NULL);
  long pid = text ? strtol(text, NULL, 10) : 0;
  free(text);
  if (pid <= 0) return;
  pid_seen = 1;
  trace("pid file");
  pid_watch_stop();
  container_pid = (pid_t)pid;
  if (reaped_status(container_pid) >= 0) container_reaped = 1; /* exited before its pid file was read */
  else container_pidfd_open(container_pid);
  send_pending_signals();
  oom_start(); /* the cgroup exists from here on */
  if (!strcmp(st.status, "starting")) {
    st.pid = pid;
    iso_now(st.started_at);
    st.status = "running";
    event_start(); /* before the state says running: whoever reads that finds the event in the log */
    save_state();
  }
}

static void read_pid_events(void) {
  char evbuf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
  int hit = 0;
  ssize_t len;
  while ((len = read(pid_ino_fd, evbuf, sizeof evbuf)) > 0) {
    for (char *p = evbuf; p < evbuf + len;) {
      struct inotify_event *ev = (struct inotify_event *)p;
      if ((ev->mask & IN_Q_OVERFLOW) || (ev->len && !strcmp(ev->name, "container.pid"))) hit = 1;
      p += sizeof *ev + ev->len;
    }
  }
  if (len < 0 && errno != EAGAIN && errno != EINTR) warn("reading inotify: %s", strerror(errno));
  if (hit) check_pid_file();
}

/* ---- the rest of one round ---- */

/* Signals for a detached container's init that came before its pid was known: sent once it is. */
static uint64_t pending_signals;

static void forward_signal(pid_t to, int sig) {
  if (kill(to, sig) != 0 && errno != ESRCH) warn("kill %d: %s", (int)to, strerror(errno));
}

static void send_pending_signals(void) {
  if (!pending_signals || container_pid <= 0 || container_reaped) return;
  for (int sig = 1; sig <= 64; sig++)
    if (pending_signals & (1ULL << (sig - 1))) forward_signal(container_pid, sig);
  pending_signals = 0;
}

static void read_signals(void) {
  struct signalfd_siginfo si;
  ssize_t r;
  while ((r = read(sig_fd, &si, sizeof si)) == sizeof si) {
    if (si.ssi_signo == SIGCHLD) {
      reap();
      continue;
    }
    /*
     * Forwarded: to runc in the foreground (which passes it on), or to a detached container's init, never to its pid
     * once reaped (a pid that may be another process's now), and kept while that pid is not known yet.
     */
    if (!cfg.tty) {
      if (!runc_gone && runc_pid > 0) forward_signal(runc_pid, (int)si.ssi_signo);
    } else if (container_pid > 0) {
      if (!container_reaped) forward_signal(container_pid, (int)si.ssi_signo);
    } else if (si.ssi_signo >= 1 && si.ssi_signo <= 64 && !(runc_gone && runc_status != 0)) {
      pending_signals |= 1ULL << (si.ssi_signo - 1);
    }
  }
  if (r < 0 && errno != EAGAIN && errno != EINTR) warn("reading signals: %s", strerror(errno));
}

static void emit_output(int t, const char *d, size_t n) {
  if (n == 0) return;
  log_write(t, d, n);
  attach_output(t, d, n);
}

/*
 * runc prints its fatal error on its stderr too, as the last thing before it exits; the error is in runc's log, where
 * it is read, and is not the container's output. A stderr line that looks like it is kept back while it is the last
 * output: more output shows it was the container's own (it goes out first); at the end it is dropped only if runc
 * failed. Whole lines: whether a read starts a line is known from the one before.
 */
static buf_t suspect;
static int stderr_mid_line;

static void release_suspect(void) {
  emit_output(F_STDERR, suspect.p + suspect.off, buf_pending(&suspect));
  buf_free(&suspect);
}

void runc_error_line_settle(int runc_failed) {
  if (runc_failed) buf_free(&suspect);
  else release_suspect();
}

static void read_output(int t) {
  char tmp[65536];
  ssize_t k = read(out_fd[t], tmp, sizeof tmp);
  if (k > 0) {
    const char *d = tmp;
    size_t n = (size_t)k;
    if (buf_pending(&suspect)) {
      if (t == F_STDERR && !memchr(suspect.p + suspect.off, '\n', buf_pending(&suspect))) {
        const char *nl = memchr(d, '\n', n); /* the held line goes on to its end */
        size_t take = nl ? (size_t)(nl - d) + 1 : n;
        buf_add(&suspect, d, take);
        d += take, n -= take;
        stderr_mid_line = !nl;
        if (n == 0) return;
      }
      release_suspect();
    }
    if (t == F_STDERR) {
      size_t end = d[n - 1] == '\n' ? n - 1 : n;
      const char *nl = memrchr(d, '\n', end);
      size_t start = nl ? (size_t)(nl - d) + 1 : 0; /* the last line's */
      int line_start = start > 0 || !stderr_mid_line;
      stderr_mid_line = d[n - 1] != '\n';
      if (line_start && is_runc_error_line(d + start, n - start)) {
        emit_output(t, d, start);
        buf_add(&suspect, d + start, n - start);
        return;
      }
    }
    emit_output(t, d, n);
  } else if (k == 0 || (errno != EAGAIN && errno != EINTR)) {
    /* the end, or EIO from a terminal whose last process is gone */
    close_quietly(&out_fd[t]);
  }
}

static void write_stdin(void) {
  ssize_t w = write(stdin_fd, stdin_q.p + stdin_q.off, buf_pending(&stdin_q));
  if (w > 0) buf_consume(&stdin_q, (size_t)w);
  else if (w < 0 && errno != EAGAIN && errno != EINTR) buf_clear(&stdin_q), stdin_ending = 1; /* the reader is gone */
  if (!buf_pending(&stdin_q)) {
    buf_free(&stdin_q);
    if (stdin_ending) close_quietly(&stdin_fd);
  }
}

static void take_terminal(void) {
  int master = console_receive();
  if (master < 0) return;
  trace("terminal received");
  out_fd[F_STDOUT] = master;
  pty_fd = fcntl(master, F_DUPFD_CLOEXEC, 3);
  if (pty_fd < 0) warn("dup of the terminal: %s", strerror(errno));
  else if (cfg.open_stdin) {
    stdin_fd = fcntl(master, F_DUPFD_CLOEXEC, 3);
    if (stdin_fd < 0) warn("dup of the terminal: %s", strerror(errno));
  }
  attach_terminal_ready();
}

void loop_once(int timeout_ms) {
  static struct pollfd *pf;
  static size_t pf_cap;
  size_t need = (size_t)attach_clients() + 12;
  if (pf_cap < need) {
    pf_cap = need;
    pf = xrealloc(pf, pf_cap * sizeof *pf);
  }
  int n = 0;
  int i_sig = -1, i_ino = -1, i_listen = -1, i_console = -1, i_oom = -1, i_out[3] = {-1, -1, -1}, i_in = -1;
  if (sig_fd >= 0) pf[i_sig = n++] = (struct pollfd){sig_fd, POLLIN, 0};
  if (pid_ino_fd >= 0) pf[i_ino = n++] = (struct pollfd){pid_ino_fd, POLLIN, 0};
  int64_t accept_wait = accept_paused_until - now_ms();
  if (accept_wait <= 0) {
    if (listen_fd >= 0) pf[i_listen = n++] = (struct pollfd){listen_fd, POLLIN, 0};
    if (console_listen_fd >= 0) pf[i_console = n++] = (struct pollfd){console_listen_fd, POLLIN, 0};
  } else if (timeout_ms < 0 || timeout_ms > accept_wait) {
    timeout_ms = (int)accept_wait;
  }
  if (oom_poll_fd() >= 0) pf[i_oom = n++] = (struct pollfd){oom_poll_fd(), POLLIN, 0};
  int blocked = !draining && attach_output_blocked();
  for (int t = F_STDOUT; t <= F_STDERR; t++)
    if (out_fd[t] >= 0 && !blocked) pf[i_out[t] = n++] = (struct pollfd){out_fd[t], POLLIN, 0};
  if (stdin_fd >= 0 && buf_pending(&stdin_q)) pf[i_in = n++] = (struct pollfd){stdin_fd, POLLOUT, 0};
  if (health_poll_fd() >= 0) pf[n++] = (struct pollfd){health_poll_fd(), POLLIN, 0}; /* read by hook_health_tick */
  timeout_ms = health_clamp_wait(timeout_ms);
  int i_cl = n;
  n += attach_poll_fds(pf + n, buf_pending(&stdin_q) <= STDIN_LIMIT);
  int poll_pid = !pid_seen && pid_ino_fd < 0 && !(runc_gone && !cfg.tty);
  if (poll_pid && (timeout_ms < 0 || timeout_ms > 10)) timeout_ms = 10;
  if (blocked && (timeout_ms < 0 || timeout_ms > 500)) timeout_ms = 500; /* to drop a stalled client in time */
  int r = poll(pf, (nfds_t)n, timeout_ms);
  if (r < 0 && errno != EINTR) die("poll: %s", strerror(errno));
  if (poll_pid) check_pid_file();
  if (r > 0) {
    if (i_sig >= 0 && pf[i_sig].revents) read_signals();
    if (i_ino >= 0 && pf[i_ino].revents) read_pid_events();
    if (i_oom >= 0 && pf[i_oom].revents) oom_on_event();
    if (i_console >= 0 && pf[i_console].revents) take_terminal();
    for (int t = F_STDOUT; t <= F_STDERR; t++)
      if (i_out[t] >= 0 && pf[i_out[t]].revents && out_fd[t] >= 0) read_output(t);
    if (i_in >= 0 && pf[i_in].revents && stdin_fd >= 0) write_stdin();
    attach_poll_done(pf + i_cl, n - i_cl);
    if (i_listen >= 0 && pf[i_listen].revents) attach_accept();
  }
  attach_flush_all();
  attach_drop_stalled();
  if (attach_holding() && attach_deadline && now_ms() >= attach_deadline) attach_release_held();
  reap(); /* also without a signalfd */
  hook_health_tick(); /* see hooks.c */
}

void loop_new_run(void) {
  pid_seen = 0;
  draining = 0;
  stdin_ending = 0;
  buf_free(&stdin_q);
  pending_signals = 0;
}

int clamp_wait(int64_t until) {
  int64_t d = until - now_ms();
  if (d < 0) return 0;
  return d > 1000 ? 1000 : (int)d;
}
