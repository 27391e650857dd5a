/* runc's side: its log's last error and its classification (as src/runtime/runc.ts), releasing the container. */
#include "monitor.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The message of the last error in runc's log (JSON lines, or the text format's level=error msg="..."). */
char *runc_error_message(char *log) {
  char **lines = NULL;
  size_t n = 0, cap = 0;
  for (char *save = NULL, *l = strtok_r(log, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    while (isspace((unsigned char)*l)) l++;
    size_t k = strlen(l);
    while (k && isspace((unsigned char)l[k - 1])) l[--k] = '\0';
    if (!*l) continue;
    if (n == cap) lines = xrealloc(lines, (cap = cap ? cap * 2 : 64) * sizeof *lines);
    lines[n++] = l;
  }
  char *found = NULL;
  for (size_t i = n; i-- > 0 && !found;) {
    if (lines[i][0] == '{') {
      size_t len = strlen(lines[i]);
      char *level = json_field_string(lines[i], len, "level");
      char *msg = level && !strcmp(level, "error") ? json_field_string(lines[i], len, "msg") : NULL;
      if (msg && *msg) found = msg;
      else free(msg);
      free(level);
      continue;
    }
    /* The text format: level=error msg="..." with the message quoted as a JSON string. */
    char *m = strstr(lines[i], "level=error msg=\"");
    if (!m) continue;
    char *q = m + 16, *p = q + 1;
    while (*p && *p != '"') p += (*p == '\\' && p[1]) ? 2 : 1;
    if (*p != '"') continue;
    /* As a one-field object, so that the field reader decodes the string. */
    buf_t obj = {0};
    buf_adds(&obj, "{\"m\":");
    buf_add(&obj, q, (size_t)(p - q) + 1);
    buf_addc(&obj, '}');
    found = json_field_string(obj.p, obj.len, "m");
    buf_free(&obj);
  }
  if (!found) found = xstrdup(n ? lines[n - 1] : "");
  free(lines);
  return found;
}

/* /A.*B/ */
static int has_seq(const char *s, const char *a, const char *b) {
  const char *p = strstr(s, a);
  return p && strstr(p + strlen(a), b);
}

void runc_classify(const char *m, const char **code, int *exit_code) {
  if (has_seq(m, "exec: ", ": executable file not found") || has_seq(m, "exec: ", "no such file or directory")) {
    *code = "COMMAND_NOT_FOUND", *exit_code = 127;
  } else if (has_seq(m, "exec: ", "permission denied") || strstr(m, "exec format error") || has_seq(m, "exec: ", "is a directory")) {
    *code = "COMMAND_NOT_EXECUTABLE", *exit_code = 126;
  } else if (strstr(m, "does not exist")) {
    *code = "NOT_FOUND", *exit_code = 125;
  } else if (strstr(m, "already exists")) {
    *code = "ALREADY_EXISTS", *exit_code = 125;
  } else if (strstr(m, "not running") || strstr(m, "is paused") || strstr(m, "is not paused") || has_seq(m, "cannot ", " stopped") ||
             has_seq(m, "cannot ", " paused") || has_seq(m, "container ", " is stopped")) {
    *code = "FAILED_PRECONDITION", *exit_code = 125;
  } else {
    *code = "INTERNAL", *exit_code = 128;
  }
}

/* runc's fatal error as it prints it on its stderr (the container's stderr on pipes); the line at d, n bytes. */
int is_runc_error_line(const char *d, size_t n) { return n >= 17 && !strncmp(d, "runc run failed: ", 17); }

/* runc removes the container's cgroup but not the parents it made; an empty parent is ours (cgroup-v1.ts). */
static void remove_empty_cgroup_parent(void) {
  if (!cfg.cgroups_path) return;
  char parent[PATH_MAX];
  if (snprintf(parent, sizeof parent, "%s", cfg.cgroups_path) >= (int)sizeof parent) return;
  char *slash = strrchr(parent, '/');
  if (!slash || slash == parent) return;
  *slash = '\0';
  DIR *d = opendir(cfg.cgroup_root);
  if (!d) return;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.') continue;
    char dir[PATH_MAX * 2];
    snprintf(dir, sizeof dir, "%s/%s%s", cfg.cgroup_root, de->d_name, parent);
    /* rmdir refuses a cgroup with children: a parent shared with running containers stays */
    if (rmdir(dir) != 0 && errno != ENOENT && errno != ENOTDIR && errno != EBUSY && errno != ENOTEMPTY)
      warn("rmdir %s: %s", dir, strerror(errno));
  }
  if (closedir(d) != 0) warn("closedir %s: %s", cfg.cgroup_root, strerror(errno));
}

/* runc run removes the container on exit; a failure half-way, or a detached run, leaves it: delete it. */
void runc_release(void) {
  char dir[PATH_MAX * 2];
  snprintf(dir, sizeof dir, "%s/%s", cfg.runc_root, cfg.id);
  if (access(dir, F_OK) == 0) {
    char *argv[] = {(char *)cfg.runc_binary, "--root", (char *)cfg.runc_root, "delete", "--force", (char *)cfg.id, NULL};
    run_quiet(argv, 10000);
  }
  remove_empty_cgroup_parent();
}
