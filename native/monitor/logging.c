/*
 * Docker's json-file log: one entry per line of output ({"log","stream","time"}), a line over 16 KiB split, each
 * stream's unfinished line kept until its end (or the container's). src/runtime/json-log.ts reads it.
 * With max-size, rotation as Docker's loggerutils.LogFile does it: before an entry is written, a file that has
 * reached max-size is renamed to `.1` (`.1` to `.2`, …, the oldest beyond max-file removed) and a new one started;
 * with max-file 1 the file is cut back to empty instead. `--log-driver none` writes nothing.
 */
#include "monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int log_fd = -1;
static long long log_size; /* bytes in the live file, for rotation */
static int log_failed; /* warned once about a failed write (a full disk) */
static buf_t partial[3]; /* by frame type: F_STDOUT, F_STDERR */

int log_open(void) {
  if (cfg.log_disabled) return 0;
  log_fd = open(cfg.log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (log_fd < 0) return -1;
  struct stat sb;
  log_size = fstat(log_fd, &sb) == 0 ? (long long)sb.st_size : 0;
  return 0;
}

/* Docker's rotate(): name.(N-2) -> name.(N-1), ..., name -> name.1; then a fresh, empty live file. */
static void log_rotate(void) {
  char from[PATH_MAX], to[PATH_MAX];
  if (cfg.log_max_files >= 2) {
    snprintf(to, sizeof to, "%s.%ld", cfg.log_path, cfg.log_max_files - 1);
    if (unlink(to) != 0 && errno != ENOENT) warn("log rotation: cannot remove %s: %s", to, strerror(errno));
    for (long i = cfg.log_max_files - 1; i > 1; i--) {
      snprintf(to, sizeof to, "%s.%ld", cfg.log_path, i);
      snprintf(from, sizeof from, "%s.%ld", cfg.log_path, i - 1);
      if (rename(from, to) != 0 && errno != ENOENT) warn("log rotation: %s: %s", from, strerror(errno));
    }
    snprintf(to, sizeof to, "%s.1", cfg.log_path);
    if (rename(cfg.log_path, to) != 0) {
      warn("log rotation: %s: %s", cfg.log_path, strerror(errno));
      return; /* keep appending to the file we have */
    }
  }
  int fd = open(cfg.log_path, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) {
    warn("log rotation: cannot open %s: %s", cfg.log_path, strerror(errno));
    return;
  }
  close_quietly(&log_fd);
  log_fd = fd;
  log_size = 0;
}

static void log_entry(buf_t *out, int type, const unsigned char *line, size_t n) {
  char ts[64];
  iso_now(ts);
  buf_adds(out, "{\"log\":");
  json_string_from_bytes(out, line, n);
  buf_printf(out, ",\"stream\":\"%s\",\"time\":\"%s\"}\n", type == F_STDOUT ? "stdout" : "stderr", ts);
}

/*
 * A full disk must not kill the monitor: the container keeps running, the write is lost (and said once). Nor may it
 * leave half an entry behind, which the next entry would continue on the same line: the file is cut back to where
 * the append started; if even that fails, the next entry that gets written starts on a line of its own.
 */
static int log_torn; /* the file may end in a partial entry */
static void log_append(const buf_t *out) {
  if (log_fd < 0 || out->len == 0) return;
  if (log_torn) {
    if (write_all(log_fd, "\n", 1) != 0) return;
    log_torn = 0;
  }
  if (cfg.log_max_size > 0 && log_size >= cfg.log_max_size) log_rotate();
  struct stat st;
  off_t before = fstat(log_fd, &st) == 0 ? st.st_size : -1;
  if (write_all(log_fd, out->p, out->len) == 0) {
    log_size += (long long)out->len;
    return;
  }
  int e = errno;
  if (!log_failed) {
    log_failed = 1;
    warn("cannot write the log %s: %s", cfg.log_path, strerror(e));
  }
  if (before < 0 || ftruncate(log_fd, before) != 0) log_torn = 1;
}

/* With rotation every entry is its own append, so that a file is checked before each entry, as Docker does. */
static void log_entry_out(buf_t *out) {
  if (cfg.log_max_size <= 0) return;
  log_append(out);
  buf_clear(out);
}

void log_write(int type, const char *data, size_t n) {
  if (cfg.log_disabled) return;
  buf_t *pb = &partial[type];
  buf_add(pb, data, n);
  buf_t out = {0};
  const unsigned char *s = (const unsigned char *)pb->p + pb->off;
  size_t len = buf_pending(pb);
  for (;;) {
    const unsigned char *nl = memchr(s, '\n', len < MAX_LINE ? len : MAX_LINE);
    if (nl) {
      size_t k = (size_t)(nl - s) + 1;
      log_entry(&out, type, s, k);
      log_entry_out(&out);
      s += k, len -= k;
    } else if (len >= MAX_LINE) {
      log_entry(&out, type, s, MAX_LINE);
      log_entry_out(&out);
      s += MAX_LINE, len -= MAX_LINE;
    } else break;
  }
  buf_consume(pb, buf_pending(pb) - len);
  log_append(&out);
  buf_free(&out);
}

void log_close(void) {
  buf_t out = {0};
  for (int t = F_STDOUT; t <= F_STDERR; t++) {
    if (buf_pending(&partial[t])) {
      log_entry(&out, t, (unsigned char *)partial[t].p + partial[t].off, buf_pending(&partial[t]));
      log_entry_out(&out);
    }
    buf_free(&partial[t]);
  }
  log_append(&out);
  buf_free(&out);
  close_quietly(&log_fd);
}
