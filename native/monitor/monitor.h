/*
 * wharf-monitor: the per-container monitor (shaped like podman's conmon). One file per job:
 *   main.c     start-up and the container's life: runc on pipes or on a pseudo-terminal, exit, hand-over, cleanup
 *   config.c   the key=value configuration file (src/runtime/monitor-config.ts writes it)
 *   util.c     buffers, time, JSON output and the small JSON field reader (runc's log, attach frames)
 *   state.c    state.json, the notification pipe, the EXIT frame's payload
 *   logging.c  the json-file log (src/runtime/json-log.ts reads it)
 *   attach.c   the attach socket: clients, frames, held output, bounded buffers
 *   pty.c      runc's --console-socket: receiving the terminal's master, resizing it
 *   oom.c      OOM-kill detection: cgroup v1 memory.oom_control (eventfd) and cgroup v2 memory.events (inotify)
 *   process.c  children: spawning, reaping, the cleanup command
 *   links.c    the container's host-side network links, deleted as soon as it is gone
 *   runc.c     runc's command lines, its log's error message and classification, releasing the container
 *   loop.c     the poll loop over everything above
 *   restart.c  restart policies: the decision after an exit, the back-off, the next run's reset
 *   health.c   health checks: the probe as `runc exec`, its results and status in health.json
 *   hooks.c    where a restart policy and health checks plug into the container's life
 *   events.c   the container's events (die, oom, ...) in the root's event log (docs/events.md)
 */
#ifndef WHARF_MONITOR_H
#define WHARF_MONITOR_H
#define _GNU_SOURCE
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ATTACH_WAIT_MS 30000       /* how long output (and a terminal's start) is kept for the first client */
#define HOLD_LIMIT (1 << 20)       /* output held for the first client before the container has to wait */
#define CLAIM_WAIT_MS 5000         /* how long an exit waits for the first client's cleanup claim */
#define MAX_FRAME (1 << 20)        /* the attach protocol's largest frame (src/runtime/attach-protocol.ts) */
#define MAX_LINE (16 * 1024)       /* Docker splits longer log lines */
#define CLIENT_OUT_LIMIT (1 << 20) /* queued output per client above which the container's output waits */
#define CLIENT_STALL_MS 5000       /* a client over that limit without taking a byte for this long is dropped */
#define STDIN_LIMIT (1 << 20)      /* queued stdin above which clients are not read */
#define MAX_CLIENTS 64             /* attach clients at a time; more are refused */
#define ACCEPT_PAUSE_MS 100        /* listeners are not polled this long after running out of descriptors */
#define DRAIN_MS 2000              /* how long the output's tail is read after the exit */

enum { F_STDIN = 0, F_STDOUT = 1, F_STDERR = 2, F_STDIN_EOF = 3, F_RESIZE = 4, F_EXIT = 5, F_CLAIM = 6, F_SIGNAL = 7 };

/* ---- util.c ---- */
typedef struct {
  char *p;
  size_t len, cap, off;
} buf_t;

void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
int64_t now_ms(void);
void iso_now(char out[64]);
void trace(const char *label);
void buf_add(buf_t *b, const void *d, size_t n);
void buf_addc(buf_t *b, char c);
void buf_adds(buf_t *b, const char *s);
void buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_clear(buf_t *b);
void buf_free(buf_t *b);
size_t buf_pending(const buf_t *b);
void buf_consume(buf_t *b, size_t n);
char *read_file(const char *path, size_t *len);
int write_all(int fd, const char *p, size_t n);
void json_string_from_bytes(buf_t *b, const unsigned char *s, size_t n);
void json_string(buf_t *b, const char *s);
/* A top-level field of a one-level JSON object: the decoded string (malloc'ed) or NULL. */
char *json_field_string(const char *text, size_t n, const char *key);
/* A top-level integer field; 0 and *ok=0 when missing or not an integer. */
long long json_field_int(const char *text, size_t n, const char *key, int *ok);
void close_quietly(int *fd);

/* ---- links.c ---- */
void release_links(void);

/* ---- config.c ---- */
struct config {
  const char *id, *bundle, *runc_root, *runc_binary, *state_dir, *log_path;
  int tty, open_stdin, stdin_once, wait_for_attach, attach_claims_cleanup, watch_oom;
  long attach_client_pid; /* 0: none */
  char **cleanup;         /* NULL-terminated argv, or NULL */
  long cleanup_timeout_ms;
  int notify_fd;            /* a byte after every state write; -1 for none */
  const char *cgroups_path; /* the spec's linux.cgroupsPath when absolute, else NULL */
  long long memory_limit;   /* the spec's memory limit, 0 for none */
  const char *cgroup_root;  /* /sys/fs/cgroup; another root only for tests */
  const char *restart_policy; /* no, on-failure, always, unless-stopped (restart.c); NULL: no */
  long restart_max;           /* on-failure's maximum restarts; 0: no limit */
  char **health_cmd;        /* the health probe's argv in the container (NULL-terminated), or NULL: no checks */
  long health_interval_ms, health_timeout_ms, health_start_period_ms, health_start_interval_ms;
  int health_retries;
  const char *health_timeout_text; /* the timeout as Go prints a duration ("1s"), for the timeout's message */
  const char *events_path;  /* the root's events.log; NULL: no events */
  const char *event_name, *event_image; /* the container's name and image, as its events name them */
  const char *event_name_file;          /* holds the current name (a rename replaces it); event_name without it */
  const char *event_attrs;  /* its labels as JSON object members ("k":"v",...), already escaped; or NULL */
  /* the log driver (issue 12) */
  int log_disabled;         /* --log-driver none: no file */
  long long log_max_size;   /* rotate at this size; 0: never */
  long log_max_files;       /* the live file and .1 ... .N-1 (1: cut back to empty) */
  int *release_links;       /* host-side interface indexes deleted once the container is gone (links.c) */
  int nrelease_links;
};
extern struct config cfg;
void config_load(const char *path);

/* ---- state.c ---- */
struct state {
  const char *status;
  int attach_ready;
  long pid;
  char started_at[64], finished_at[64];
  int has_exit, exit_code;
  int oom_killed;
  char *error;
  const char *error_code;
  int cleaned_up;
  char *cleanup_error;
  long cleanup_by;
  int restart_count; /* restarts by the policy since the monitor started */
  int restarting;    /* restarted at least once: "starting" is written as "restarting" */
};
extern struct state st;
extern char p_state[], p_socket[], p_console[], p_pidfile[], p_runclog[], p_monlog[];
void state_paths(void);
void save_state(void);
extern int state_failed; /* the last state write failed (after its retries) */
void exit_info(buf_t *b, int delegated);

/* ---- logging.c ---- */
int log_open(void);
void log_write(int type, const char *data, size_t n);
void log_close(void);

/* ---- attach.c ---- */
typedef struct client client_t;
extern int listen_fd;
extern int first_seen, first_claim_settled;
int attach_listen(void);
void attach_stop_listening(void);
void attach_accept(void);
void attach_terminal_ready(void);
/* The listeners wait while accept(2) runs out of descriptors (EMFILE and the like): 0, or until when (now_ms). */
extern int64_t accept_paused_until;
int accept_failed(const char *what, int e);
int attach_clients(void);
/* Output from the container: held for the first client, or sent to every client. */
void attach_output(int type, const char *data, size_t n);
void attach_release_held(void);
int attach_holding(void);
/* Whether the container's output must wait: held output or a client's queue over its limit. */
int attach_output_blocked(void);
/* poll(2) entries for the clients; returns how many were added. */
int attach_poll_fds(struct pollfd *pf, int reading);
void attach_poll_done(struct pollfd *pf, int n);
void attach_flush_all(void);
void attach_drop_stalled(void);
client_t *attach_live_claimant(void);
long attach_claim_pid(const client_t *c);
void attach_end_all(client_t *delegate_to);
/* After attach_end_all for a restart: clients that connect later get the next run's output, not that exit. */
void attach_reopen(void);

/* ---- pty.c ---- */
int console_listen(void);
extern int console_listen_fd;
/* Accepts runc's connection and takes the master it sends; returns the master or -1. */
int console_receive(void);
void pty_resize(int fd, int cols, int rows);
void console_stop(void);

/* ---- oom.c ---- */
void oom_start(void);
int oom_poll_fd(void);
void oom_on_event(void);
/* Whether the kernel OOM-killed the container (at its exit, before its cgroup parent is removed). */
int oom_killed(int exit_code);
void oom_stop(void);
/* Forgets the last run's watch and counts: the next run has a cgroup of its own. */
void oom_reset(void);

/* ---- process.c ---- */
extern pid_t runc_pid, container_pid;
extern int runc_gone, runc_status;
extern int container_reaped; /* the detached container's init was reaped: its pid may be another process's now */
pid_t spawn_child(char *const argv[], int in, int out, int err, const char *cwd, int *exec_errno);
void reap(void);
/* The exit status of a child reaped before its pid was known (runc's detached container), or -1. */
int reaped_status(pid_t pid);
/* The same, and forgotten: for children whose pid this monitor spawned itself (health probes). */
int reaped_take(pid_t pid);
int run_quiet(char *const argv[], long timeout_ms);
int pid_alive(long pid);
/*
 * The running container's init held by a pidfd (from its pid file until its exit), so that a SIGNAL frame reaches
 * exactly that process, never a later one with its pid: what `runc kill` does without the Go binary's exec.
 */
void container_pidfd_open(pid_t pid);
void container_pidfd_close(void);
/* Sends `sig` to the container's init: 0 when sent, ESRCH when it has exited, ENOENT when it is not held, or errno. */
int container_signal(int sig);
const char *errno_name(int e);

/* ---- runc.c ---- */
char *runc_error_message(char *log);
void runc_classify(const char *msg, const char **code, int *exit_code);
void runc_release(void);
int is_runc_error_line(const char *d, size_t n);
void runc_error_line_settle(int runc_failed);

/* ---- loop.c ---- */
extern int sig_fd;
extern int out_fd[3]; /* F_STDOUT, F_STDERR read ends (a terminal: its master on F_STDOUT) */
extern int stdin_fd;  /* the container's stdin: a pipe's write end, or the terminal's master */
extern int pty_fd;    /* the terminal's master for resizing, -1 on pipes */
extern int64_t attach_deadline;
extern int draining;
void stdin_queue(const char *data, size_t n);
void stdin_end(void);
void check_pid_file(void);
void pid_watch_start(void);
void pid_watch_stop(void);
int pid_watch_done(void);
void loop_once(int timeout_ms);
int clamp_wait(int64_t until);
/* The loop's per-run state (the pid file seen, queued stdin, held signals) back to a fresh run's, for a restart. */
void loop_new_run(void);

/* ---- health.c ---- */
void health_tick(void);
/* The running probe's output pipe for poll(2), or -1. */
int health_poll_fd(void);
/* `timeout_ms` shortened to the next probe's start or the running one's deadline. */
int health_clamp_wait(int timeout_ms);

/* ---- events.c ---- */
/* Appends a Type=container event for this container; extra_attrs_json: members such as "\"exitCode\":\"137\"" or NULL. */
void event_emit(const char *action, const char *extra_attrs_json);
/*
 * The container's `start` event, once per monitor: when it is seen running, or just before its die when it exited
 * first. A restart by policy (hooks.c) emits the next run's with event_emit("start", NULL) after the die.
 */
void event_start(void);

/* ---- hooks.c ---- */
int hook_restart_wanted(int exit_code);
void hook_health_tick(void);

/* ---- restart.c ---- */
/* After an exit: 1 when the policy restarts the container (the back-off waited, the last run released), else 0. */
int restart_after_exit(int exit_code);
/* `stop` or `kill` asked for no more restarts (the no-restart file in the state directory). */
int restart_stop_requested(void);

#endif
