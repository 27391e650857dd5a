/*
 * The configuration: a text file of `key=value` lines (src/runtime/monitor-config.ts writes it). A value runs to the
 * end of its line; a backslash escapes a newline (`\n`) or itself (`\\`). `cleanup` repeats, one line per argument.
 * Lines starting with '#' and unknown keys are ignored (an older monitor reads a newer config).
 */
#include "monitor.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct config cfg = {.runc_binary = "runc", .stdin_once = 1, .cleanup_timeout_ms = 60000, .notify_fd = -1,
                     .cgroup_root = "/sys/fs/cgroup", .health_interval_ms = 30000, .health_timeout_ms = 30000,
                     .health_start_interval_ms = 5000, .health_retries = 3, .health_timeout_text = "30s",
                     .log_max_files = 1};

static void unescape(char *s) {
  char *w = s;
  for (char *r = s; *r; r++) {
    if (*r == '\\' && r[1] == 'n') *w++ = '\n', r++;
    else if (*r == '\\' && r[1] == '\\') *w++ = '\\', r++;
    else *w++ = *r;
  }
  *w = '\0';
}

static int flag(const char *key, const char *v) {
  if (!strcmp(v, "1") || !strcmp(v, "true")) return 1;
  if (!strcmp(v, "0") || !strcmp(v, "false")) return 0;
  die("config: %s must be 0 or 1, not \"%s\"", key, v);
}

static long long number(const char *key, const char *v) {
  char *end;
  errno = 0;
  long long n = strtoll(v, &end, 10);
  if (errno || !*v || *end) die("config: %s must be an integer, not \"%s\"", key, v);
  return n;
}

void config_load(const char *path) {
  size_t len;
  char *text = read_file(path, &len); /* kept for the life of the process: cfg points into it */
  if (!text) die("cannot read %s: %s", path, strerror(errno));
  if (memchr(text, '\0', len)) die("%s is not a monitor config (a NUL byte)", path);
  size_t ncleanup = 0, nhealth = 0;
  for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    if (line[0] == '#') continue;
    char *eq = strchr(line, '=');
    if (!eq) die("%s: not key=value: %s", path, line);
    *eq = '\0';
    const char *k = line;
    char *v = eq + 1;
    unescape(v);
    if (!strcmp(k, "id")) cfg.id = v;
    else if (!strcmp(k, "bundle")) cfg.bundle = v;
    else if (!strcmp(k, "runc_root")) cfg.runc_root = v;
    else if (!strcmp(k, "runc_binary")) cfg.runc_binary = v;
    else if (!strcmp(k, "state_dir")) cfg.state_dir = v;
    else if (!strcmp(k, "log_path")) cfg.log_path = v;
    else if (!strcmp(k, "tty")) cfg.tty = flag(k, v);
    else if (!strcmp(k, "open_stdin")) cfg.open_stdin = flag(k, v);
    else if (!strcmp(k, "stdin_once")) cfg.stdin_once = flag(k, v);
    else if (!strcmp(k, "wait_for_attach")) cfg.wait_for_attach = flag(k, v);
    else if (!strcmp(k, "attach_claims_cleanup")) cfg.attach_claims_cleanup = flag(k, v);
    else if (!strcmp(k, "watch_oom")) cfg.watch_oom = flag(k, v);
    else if (!strcmp(k, "attach_client_pid")) cfg.attach_client_pid = (long)number(k, v);
    else if (!strcmp(k, "cleanup_timeout_ms")) cfg.cleanup_timeout_ms = (long)number(k, v);
    else if (!strcmp(k, "notify_fd")) cfg.notify_fd = (int)number(k, v);
    else if (!strcmp(k, "cgroups_path")) cfg.cgroups_path = v[0] == '/' ? v : NULL;
    else if (!strcmp(k, "memory_limit")) cfg.memory_limit = number(k, v);
    else if (!strcmp(k, "cgroup_root")) cfg.cgroup_root = v;
    else if (!strcmp(k, "restart_policy")) cfg.restart_policy = v;
    else if (!strcmp(k, "restart_max")) cfg.restart_max = (long)number(k, v);
    else if (!strcmp(k, "health_interval_ms")) cfg.health_interval_ms = (long)number(k, v);
    else if (!strcmp(k, "health_timeout_ms")) cfg.health_timeout_ms = (long)number(k, v);
    else if (!strcmp(k, "health_start_period_ms")) cfg.health_start_period_ms = (long)number(k, v);
    else if (!strcmp(k, "health_start_interval_ms")) cfg.health_start_interval_ms = (long)number(k, v);
    else if (!strcmp(k, "health_retries")) cfg.health_retries = (int)number(k, v);
    else if (!strcmp(k, "health_timeout_text")) cfg.health_timeout_text = v;
    else if (!strcmp(k, "health_cmd")) {
      cfg.health_cmd = xrealloc(cfg.health_cmd, (nhealth + 2) * sizeof *cfg.health_cmd);
      cfg.health_cmd[nhealth++] = v;
      cfg.health_cmd[nhealth] = NULL;
    } else if (!strcmp(k, "events_path")) cfg.events_path = v;
    else if (!strcmp(k, "event_name")) cfg.event_name = v;
    else if (!strcmp(k, "event_name_file")) cfg.event_name_file = v;
    else if (!strcmp(k, "event_image")) cfg.event_image = v;
    else if (!strcmp(k, "event_attrs")) cfg.event_attrs = v;
    /* the log driver (issue 12) */
    else if (!strcmp(k, "log_disabled")) cfg.log_disabled = flag(k, v);
    else if (!strcmp(k, "log_max_size")) cfg.log_max_size = number(k, v);
    else if (!strcmp(k, "log_max_files")) cfg.log_max_files = (long)number(k, v);
    else if (!strcmp(k, "release_link")) {
      cfg.release_links = xrealloc(cfg.release_links, (size_t)(cfg.nrelease_links + 1) * sizeof *cfg.release_links);
      cfg.release_links[cfg.nrelease_links++] = (int)number(k, v);
    } else if (!strcmp(k, "cleanup")) {
      cfg.cleanup = xrealloc(cfg.cleanup, (ncleanup + 2) * sizeof *cfg.cleanup);
      cfg.cleanup[ncleanup++] = v;
      cfg.cleanup[ncleanup] = NULL;
    }
  }
  if (!cfg.id || !cfg.bundle || !cfg.runc_root || !cfg.state_dir || !cfg.log_path) die("%s lacks a required key", path);
}
