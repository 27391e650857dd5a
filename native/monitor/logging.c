/*
 * Docker's json-file log: one entry per line of output ({"log","stream","time"}), a line over 16 KiB split, each
 * stream's unfinished line kept until its end (or the container's). src/runtime/json-log.ts reads it.
 */
#include "monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int log_fd = -1;
static int log_failed; /* warned once about a failed write (a full disk) */
static buf_t partial[3]; /* by frame type: F_STDOUT, F_STDERR */

int log_open(void) {
  log_fd = open(cfg.log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  return log_fd < 0 ? -1 : 0;
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
  struct stat st;
  off_t before = fstat(log_fd, &st) == 0 ? st.st_size : -1;
  if (write_all(log_fd, out->p, out->len) == 0) return;
  int e = errno;
  if (!log_failed) {
    log_failed = 1;
    warn("cannot write the log %s: %s", cfg.log_path, strerror(e));
  }
  if (before < 0 || ftruncate(log_fd, before) != 0) log_torn = 1;
}

void log_write(int type, const char *data, size_t n) {
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
      s += k, len -= k;
    } else if (len >= MAX_LINE) {
      log_entry(&out, type, s, MAX_LINE);
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
    if (buf_pending(&partial[t])) log_entry(&out, t, (unsigned char *)partial[t].p + partial[t].off, buf_pending(&partial[t]));
    buf_free(&partial[t]);
  }
  log_append(&out);
  buf_free(&out);
  close_quietly(&log_fd);
}
