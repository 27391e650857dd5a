/*
 * Children: runc, the cleanup command, `runc delete`, and (as the child subreaper) a detached container's init.
 * All are reaped here, with waitpid(-1): an exit is known by pid, also one reaped before its pid was known. And the
 * container's init held by a pidfd, for the signals clients ask for.
 */
#include "monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../errno_name.h"

pid_t runc_pid = -1, container_pid = -1;
int runc_gone, runc_status = -1;
int container_reaped;

static pid_t quiet_pid = -1;
static int quiet_status = -1, quiet_done;

/* Exits of children the monitor did not know by pid yet (runc's detached container before its pid file is read). */
#define ORPHANS 32
static struct {
  pid_t pid;
  int status;
} orphans[ORPHANS];
static int norphans;

const char *errno_name(int e) {
#if defined(__GLIBC__) && __GLIBC_PREREQ(2, 32)
  const char *n = strerrorname_np(e);
  if (n) return n;
#endif
  return errno_name_or(e, "EUNKNOWN");
}

/* fork and exec with stdio (fds; -1: /dev/null) and a working directory; errno of a failed exec through a pipe. */
pid_t spawn_child(char *const argv[], int in, int out, int err, const char *cwd, int *exec_errno) {
  int ep[2];
  if (pipe2(ep, O_CLOEXEC) < 0) {
    *exec_errno = errno;
    return -1;
  }
  pid_t pid = fork();
  if (pid < 0) {
    *exec_errno = errno;
    close_quietly(&ep[0]);
    close_quietly(&ep[1]);
    return -1;
  }
  if (pid == 0) {
    /* What the child inherits from us: no blocked and no ignored signals (as libuv leaves a child). */
    for (int sig = 1; sig < NSIG; sig++)
      if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL); /* EINVAL for the numbers glibc reserves */
    sigset_t none;
    sigemptyset(&none);
    int e = 0;
    if (sigprocmask(SIG_SETMASK, &none, NULL) != 0) e = errno;
    int devnull = (in < 0 || out < 0 || err < 0) ? open("/dev/null", O_RDWR | O_CLOEXEC) : -1;
    int fds[3] = {in < 0 ? devnull : in, out < 0 ? devnull : out, err < 0 ? devnull : err};
    /* dup first to fds above 2, so that one target does not overwrite another's source */
    int tmp[3];
    for (int i = 0; i < 3 && !e; i++)
      if ((tmp[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3)) < 0) e = errno;
    for (int i = 0; i < 3 && !e; i++)
      if (dup2(tmp[i], i) < 0) e = errno;
    if (!e && cwd && chdir(cwd) != 0) e = errno;
    if (!e) execvp(argv[0], argv);
    if (!e) e = errno;
    (void)!write(ep[1], &e, sizeof e);
    _exit(127);
  }
  close_quietly(&ep[1]);
  int e = 0;
  ssize_t r;
  do r = read(ep[0], &e, sizeof e);
  while (r < 0 && errno == EINTR);
  close_quietly(&ep[0]);
  if (r == sizeof e) {
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
    *exec_errno = e;
    return -1;
  }
  *exec_errno = 0;
  return pid;
}

static int exit_code_of(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

void reap(void) {
  for (;;) {
    int status;
    pid_t p = waitpid(-1, &status, WNOHANG);
    if (p < 0 && errno == EINTR) continue;
    if (p <= 0) return; /* none exited, or no children (ECHILD) */
    int code = exit_code_of(status);
    if (p == container_pid) container_reaped = 1; /* also recorded below, for wait_for_exit */
    if (p == runc_pid) runc_gone = 1, runc_status = code;
    else if (p == quiet_pid) quiet_done = 1, quiet_status = code;
    else {
      if (norphans == ORPHANS) memmove(orphans, orphans + 1, sizeof orphans[0] * (ORPHANS - 1)), norphans--;
      orphans[norphans].pid = p;
      orphans[norphans++].status = code;
    }
  }
}

int reaped_status(pid_t pid) {
  for (int i = 0; i < norphans; i++)
    if (orphans[i].pid == pid) return orphans[i].status;
  return -1;
}

int reaped_take(pid_t pid) {
  for (int i = 0; i < norphans; i++) {
    if (orphans[i].pid != pid) continue;
    int status = orphans[i].status;
    memmove(orphans + i, orphans + i + 1, sizeof orphans[0] * (size_t)(norphans - i - 1));
    norphans--;
    return status;
  }
  return -1;
}

/* A command with stdio on the monitor's stderr (monitor.log) and a time limit; its exit code, -1 if it cannot run. */
int run_quiet(char *const argv[], long timeout_ms) {
  int e;
  quiet_done = 0;
  quiet_pid = spawn_child(argv, -1, 2, 2, NULL, &e);
  if (quiet_pid < 0) {
    warn("cannot run %s: %s", argv[0], strerror(e));
    return -1;
  }
  int64_t until = now_ms() + timeout_ms;
  int killed = 0;
  while (!quiet_done) {
    if (!killed && now_ms() >= until) {
      if (kill(quiet_pid, SIGKILL) != 0 && errno != ESRCH) warn("kill %d: %s", (int)quiet_pid, strerror(errno));
      killed = 1;
    }
    loop_once(killed ? 100 : clamp_wait(until));
  }
  quiet_pid = -1;
  return quiet_status;
}

int pid_alive(long pid) { return kill((pid_t)pid, 0) == 0 || errno == EPERM; }

/* ---- the container's init by pidfd ---- */

static int container_pidfd = -1;

/* By syscall number: glibc has wrappers only from 2.36 on. */
static int sys_pidfd_open(pid_t pid) {
#ifdef SYS_pidfd_open
  return (int)syscall(SYS_pidfd_open, pid, 0);
#else
  errno = ENOSYS;
  return -1;
#endif
}

static int sys_pidfd_send_signal(int fd, int sig) {
#ifdef SYS_pidfd_send_signal
  return (int)syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0);
#else
  errno = ENOSYS;
  return -1;
#endif
}

/* The parent pid in /proc/<pid>/stat (after the command name, which may hold spaces and parentheses), or -1. */
static pid_t parent_of(pid_t pid) {
  char path[64];
  int len = snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  if (len < 0 || (size_t)len >= sizeof path) return -1;
  char *text = read_file(path, NULL);
  if (!text) return -1;
  const char *end = strrchr(text, ')');
  char state;
  int ppid = -1;
  if (!end || sscanf(end + 1, " %c %d", &state, &ppid) != 2) ppid = -1;
  free(text);
  return (pid_t)ppid;
}

/*
 * The pid comes from runc's pid file. It is taken as the container's init only if that process is runc's child (on
 * pipes, and on a terminal until runc has gone) or ours (on a terminal, reparented to us as the subreaper), checked
 * after the pidfd pins it and confirmed alive through the pidfd after the check: the pid was not reused meanwhile.
 * Anything else leaves no pidfd, and clients fall back to `runc kill`.
 */
void container_pidfd_open(pid_t pid) {
  container_pidfd_close();
  int fd = sys_pidfd_open(pid);
  if (fd < 0) {
    if (errno != ESRCH) warn("pidfd_open %d: %s", (int)pid, strerror(errno));
    return;
  }
  pid_t parent = parent_of(pid);
  int ours = parent > 0 && (parent == runc_pid || parent == getpid());
  if (ours && sys_pidfd_send_signal(fd, 0) == 0) {
    container_pidfd = fd; /* pidfd_open sets close-on-exec itself */
    return;
  }
  close_quietly(&fd);
}

void container_pidfd_close(void) { close_quietly(&container_pidfd); }

int container_signal(int sig) {
  if (container_pidfd < 0) return ENOENT;
  if (sys_pidfd_send_signal(container_pidfd, sig) == 0) return 0;
  return errno;
}
