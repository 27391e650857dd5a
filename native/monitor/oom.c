/*
 * Whether the kernel OOM-killed the container (state.json's oomKilled), watched from the moment its cgroup exists
 * (runc's pid file) until its exit.
 *
 * cgroup v1: an eventfd registered for <memory>/<path>/memory.oom_control through cgroup.event_control. The kernel
 * signals it at every OOM in the cgroup, and once more when the cgroup is removed; a signal read while the cgroup
 * still exists is an OOM, and the oom_kill counter of memory.oom_control (kernel 4.13+) is read with it. A container
 * whose init was killed is removed by runc at once, so the exit also looks at the per-container parent cgroup
 * (`/wharf/<id>/ctr` has `/wharf/<id>`): its peak usage at the limit with a SIGKILL exit is an OOM kill too.
 *
 * cgroup v2: <root>/<path>/memory.events, watched with inotify (the kernel sends IN_MODIFY when a counter changes),
 * its `oom_kill` counter; the parent's memory.events counts its children's kills too, which covers a cgroup runc
 * removed before the last read.
 */
#include "monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#define OOM_SLACK (512 * 1024) /* charges are batched: a cgroup at its limit can show up to this much less */

static int started;
static int event_fd = -1; /* v1 */
static int ino_fd = -1;   /* v2 */
static char v1_dir[PATH_MAX], v1_parent[PATH_MAX], v2_events[PATH_MAX], v2_parent_events[PATH_MAX];
static long long kills;         /* the largest oom_kill counter seen */
static long long oom_events;    /* v1 events read while the cgroup existed */
static long long parent_before; /* v2: the parent's counter when the watch started */

/* The value of `key` in a "key value" per line file (memory.events, memory.oom_control); -1 when absent. */
static long long keyed_counter(const char *text, const char *key) {
  size_t k = strlen(key);
  for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
    if (!strncmp(l, key, k) && l[k] == ' ') {
      char *end;
      errno = 0;
      long long v = strtoll(l + k + 1, &end, 10);
      if (!errno && end != l + k + 1 && (*end == '\n' || *end == '\0')) return v;
    }
  }
  return -1;
}

static long long file_counter(const char *dir_file, const char *key) {
  char *text = read_file(dir_file, NULL);
  if (!text) return -1;
  long long v = key ? keyed_counter(text, key) : strtoll(text, NULL, 10);
  free(text);
  return v;
}

static void note_kills(long long n) {
  if (n > kills) kills = n;
}

static int join(char *out, const char *a, const char *b, const char *c) {
  return snprintf(out, PATH_MAX, "%s%s%s", a, b, c) < PATH_MAX ? 0 : -1;
}

static int start_v1(void) {
  char oom_control[PATH_MAX], event_control[PATH_MAX];
  if (join(v1_dir, cfg.cgroup_root, "/memory", cfg.cgroups_path) || join(oom_control, v1_dir, "/memory.oom_control", "") ||
      join(event_control, v1_dir, "/cgroup.event_control", ""))
    return -1;
  int ofd = open(oom_control, O_RDONLY | O_CLOEXEC);
  if (ofd < 0) return -1;
  event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  int cfd = event_fd < 0 ? -1 : open(event_control, O_WRONLY | O_CLOEXEC);
  char line[64];
  int n = snprintf(line, sizeof line, "%d %d", event_fd, ofd);
  int ok = cfd >= 0 && write_all(cfd, line, (size_t)n) == 0;
  if (!ok) warn("cannot watch %s for OOM events: %s", oom_control, strerror(errno));
  close_quietly(&cfd);
  close_quietly(&ofd); /* the registration holds its own reference */
  if (!ok) close_quietly(&event_fd);
  char *slash = strrchr(cfg.cgroups_path, '/');
  if (slash && slash != cfg.cgroups_path) {
    int plen = (int)(slash - cfg.cgroups_path);
    if (snprintf(v1_parent, sizeof v1_parent, "%s/memory%.*s/memory.max_usage_in_bytes", cfg.cgroup_root, plen, cfg.cgroups_path) >= PATH_MAX)
      v1_parent[0] = '\0';
  }
  note_kills(file_counter(oom_control, "oom_kill"));
  return 0;
}

static int start_v2(void) {
  if (join(v2_events, cfg.cgroup_root, cfg.cgroups_path, "/memory.events")) return -1;
  if (access(v2_events, R_OK) != 0) return -1;
  ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (ino_fd < 0 || inotify_add_watch(ino_fd, v2_events, IN_MODIFY) < 0) {
    warn("cannot watch %s: %s", v2_events, strerror(errno));
    close_quietly(&ino_fd);
  }
  char *slash = strrchr(cfg.cgroups_path, '/');
  if (slash && slash != cfg.cgroups_path) {
    int plen = (int)(slash - cfg.cgroups_path);
    if (snprintf(v2_parent_events, sizeof v2_parent_events, "%s%.*s/memory.events", cfg.cgroup_root, plen, cfg.cgroups_path) >= PATH_MAX)
      v2_parent_events[0] = '\0';
    else parent_before = file_counter(v2_parent_events, "oom_kill");
  }
  note_kills(file_counter(v2_events, "oom_kill"));
  return 0;
}

void oom_start(void) {
  if (started || !cfg.watch_oom || !cfg.cgroups_path) return;
  started = 1;
  if (start_v1() == 0) {
    trace(event_fd >= 0 ? "oom watch v1" : "oom watch v1 (counter only)");
    return;
  }
  v1_dir[0] = '\0';
  if (start_v2() == 0) trace("oom watch v2");
  else warn("no memory cgroup for %s under %s: OOM kills go unnoticed", cfg.cgroups_path, cfg.cgroup_root);
}

int oom_poll_fd(void) { return event_fd >= 0 ? event_fd : ino_fd; }

static void read_v1_counter(void) {
  char oom_control[PATH_MAX];
  if (join(oom_control, v1_dir, "/memory.oom_control", "")) return;
  note_kills(file_counter(oom_control, "oom_kill"));
}

void oom_on_event(void) {
  if (event_fd >= 0) {
    uint64_t n;
    ssize_t r = read(event_fd, &n, sizeof n);
    if (r != sizeof n) {
      if (r < 0 && errno != EAGAIN && errno != EINTR) warn("reading the OOM eventfd: %s", strerror(errno));
      return;
    }
    char oom_control[PATH_MAX];
    if (join(oom_control, v1_dir, "/memory.oom_control", "") == 0 && access(oom_control, F_OK) == 0) {
      trace("oom event");
      oom_events += (long long)n;
      read_v1_counter();
    } else {
      close_quietly(&event_fd); /* the cgroup is gone: this was its removal */
    }
    return;
  }
  if (ino_fd >= 0) {
    char evbuf[4096];
    ssize_t len;
    int gone = 0;
    while ((len = read(ino_fd, evbuf, sizeof evbuf)) > 0) {
      for (char *p = evbuf; p < evbuf + len;) {
        struct inotify_event *ev = (struct inotify_event *)p;
        if (ev->mask & IN_IGNORED) gone = 1;
        p += sizeof *ev + ev->len;
      }
    }
    if (len < 0 && errno != EAGAIN && errno != EINTR) warn("reading inotify: %s", strerror(errno));
    note_kills(file_counter(v2_events, "oom_kill"));
    trace("oom event");
    if (gone) close_quietly(&ino_fd);
  }
}

int oom_killed(int exit_code) {
  if (!started) return 0;
  if (v1_dir[0]) {
    read_v1_counter();
    if (kills > 0 || oom_events > 0) return 1;
    if (exit_code != 137 || !v1_parent[0] || cfg.memory_limit <= 0) return 0;
    long long peak = file_counter(v1_parent, NULL);
    return peak >= cfg.memory_limit - OOM_SLACK;
  }
  if (v2_events[0]) {
    note_kills(file_counter(v2_events, "oom_kill"));
    if (kills > 0) return 1;
    if (v2_parent_events[0]) {
      long long after = file_counter(v2_parent_events, "oom_kill");
      if (after > 0 && after > parent_before) return 1;
    }
  }
  return 0;
}

void oom_stop(void) {
  close_quietly(&event_fd);
  close_quietly(&ino_fd);
}

void oom_reset(void) {
  oom_stop();
  started = 0;
  kills = oom_events = parent_before = 0;
  v1_dir[0] = v1_parent[0] = v2_events[0] = v2_parent_events[0] = '\0';
}
