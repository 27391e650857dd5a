/*
 * wharf-monitor: the per-container monitor in C, for containers on pipes (no terminal, no OOM watch).
 *
 * Why C: a container start pays for its monitor twice when the monitor is a Node process: its start-up (~50 ms of
 * CPU) competes with the CLI for the machine's cores, and its own steps (config, socket, runc spawn, exit
 * bookkeeping) sit on the critical path of `wharf run`. This program does the same job in ~1 ms of CPU, as podman's
 * conmon does for podman. It is the exact counterpart of src/runtime/monitor-process.ts (same files, same attach
 * frames, same state.json fields, same json-file log lines); that file is the reference for behaviour. What it does
 * not do (a pseudo-terminal, cgroup v1 OOM detection) it hands to the Node monitor by exec'ing the config's
 * `fallback` command with the config's path.
 *
 * Usage: wharf-monitor <monitor.json> | wharf-monitor --standby (reads the config path as one line on stdin;
 * exits 0 when stdin closes first). See src/runtime/standby.ts for the standby protocol.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include "errno_name.h"

#define ATTACH_WAIT_MS 30000
#define HOLD_LIMIT (1 << 20)
#define CLAIM_WAIT_MS 5000
#define MAX_FRAME (1 << 20)
#define MAX_LINE (16 * 1024)

enum { F_STDIN = 0, F_STDOUT = 1, F_STDERR = 2, F_STDIN_EOF = 3, F_RESIZE = 4, F_EXIT = 5, F_CLAIM = 6 };

/* ---------- small helpers ---------- */

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("monitor: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

static void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) die("out of memory");
  return q;
}

static char *xstrdup(const char *s) {
  char *d = strdup(s);
  if (!d) die("out of memory");
  return d;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A growable byte buffer with a read offset (used as a queue for socket output). */
typedef struct {
  char *p;
  size_t len, cap, off;
} buf_t;

static void buf_reserve(buf_t *b, size_t extra) {
  if (b->len + extra <= b->cap) return;
  if (b->off > 0 && b->off >= b->len / 2) {
    memmove(b->p, b->p + b->off, b->len - b->off);
    b->len -= b->off;
    b->off = 0;
    if (b->len + extra <= b->cap) return;
  }
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + extra) cap *= 2;
  b->p = xrealloc(b->p, cap);
  b->cap = cap;
}
static void buf_add(buf_t *b, const void *d, size_t n) {
  if (n == 0) return;
  buf_reserve(b, n);
  memcpy(b->p + b->len, d, n);
  b->len += n;
}
static void buf_addc(buf_t *b, char c) { buf_add(b, &c, 1); }
static void buf_adds(buf_t *b, const char *s) { buf_add(b, s, strlen(s)); }
static void buf_printf(buf_t *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char tmp[256];
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n < sizeof tmp) {
    buf_add(b, tmp, (size_t)n);
    return;
  }
  buf_reserve(b, (size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}
static size_t buf_pending(const buf_t *b) { return b->len - b->off; }
static void buf_clear(buf_t *b) { b->len = b->off = 0; }

/* `new Date().toISOString()`: UTC with milliseconds. */
static void iso_now(char out[64]) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
           tm.tm_min, tm.tm_sec, (long)(ts.tv_nsec / 1000000));
}

/* WHARF_TRACE: the timeline format of src/util/trace.ts. */
static void trace(const char *label) {
  const char *file = getenv("WHARF_TRACE");
  if (!file || !*file) return;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double cpu = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000.0 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000.0;
  int fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return;
  dprintf(fd, "%.2f %d %s cpu=%.1f\n", ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6, (int)getpid(), label, cpu);
  close(fd);
}

/* ---------- JSON: a small reader for the config, claims, runc's log and the bundle's cgroupsPath ---------- */

typedef enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } jtype;
typedef struct jval {
  jtype t;
  int b;
  double num;
  char *str; /* NUL-terminated UTF-8 (J_STR) */
  size_t n;  /* children (J_ARR, J_OBJ) */
  struct jval **kids;
  char **keys; /* J_OBJ */
} jval;

typedef struct {
  const char *s, *end;
  int err;
} jparser;

static void jws(jparser *p) {
  while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r')) p->s++;
}

static void utf8_put(buf_t *b, uint32_t cp) {
  if (cp < 0x80) buf_addc(b, (char)cp);
  else if (cp < 0x800) {
    buf_addc(b, (char)(0xC0 | (cp >> 6)));
    buf_addc(b, (char)(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    buf_addc(b, (char)(0xE0 | (cp >> 12)));
    buf_addc(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
    buf_addc(b, (char)(0x80 | (cp & 0x3F)));
  } else {
    buf_addc(b, (char)(0xF0 | (cp >> 18)));
    buf_addc(b, (char)(0x80 | ((cp >> 12) & 0x3F)));
    buf_addc(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
    buf_addc(b, (char)(0x80 | (cp & 0x3F)));
  }
}

static int jhex4(jparser *p, uint32_t *out) {
  if (p->end - p->s < 4) return -1;
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p->s[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
    else return -1;
  }
  p->s += 4;
  *out = v;
  return 0;
}

static char *jstring(jparser *p) {
  if (p->s >= p->end || *p->s != '"') {
    p->err = 1;
    return NULL;
  }
  p->s++;
  buf_t b = {0};
  while (p->s < p->end && *p->s != '"') {
    char c = *p->s++;
    if (c != '\\') {
      buf_addc(&b, c);
      continue;
    }
    if (p->s >= p->end) break;
    char e = *p->s++;
    switch (e) {
    case '"': buf_addc(&b, '"'); break;
    case '\\': buf_addc(&b, '\\'); break;
    case '/': buf_addc(&b, '/'); break;
    case 'b': buf_addc(&b, '\b'); break;
    case 'f': buf_addc(&b, '\f'); break;
    case 'n': buf_addc(&b, '\n'); break;
    case 'r': buf_addc(&b, '\r'); break;
    case 't': buf_addc(&b, '\t'); break;
    case 'u': {
      uint32_t cp;
      if (jhex4(p, &cp)) {
        p->err = 1;
        free(b.p);
        return NULL;
      }
      if (cp >= 0xD800 && cp <= 0xDBFF && p->end - p->s >= 6 && p->s[0] == '\\' && p->s[1] == 'u') {
        jparser q = *p;
        q.s += 2;
        uint32_t lo;
        if (!jhex4(&q, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          p->s = q.s;
        }
      }
      if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
      utf8_put(&b, cp);
      break;
    }
    default: p->err = 1; free(b.p); return NULL;
    }
  }
  if (p->s >= p->end) {
    p->err = 1;
    free(b.p);
    return NULL;
  }
  p->s++; /* closing quote */
  buf_addc(&b, '\0');
  return b.p;
}

static jval *jnew(jtype t) {
  jval *v = calloc(1, sizeof *v);
  if (!v) die("out of memory");
  v->t = t;
  return v;
}

static jval *jparse_value(jparser *p, int depth) {
  jws(p);
  if (p->s >= p->end || depth > 64) {
    p->err = 1;
    return NULL;
  }
  char c = *p->s;
  if (c == '{' || c == '[') {
    int obj = c == '{';
    jval *v = jnew(obj ? J_OBJ : J_ARR);
    p->s++;
    jws(p);
    if (p->s < p->end && *p->s == (obj ? '}' : ']')) {
      p->s++;
      return v;
    }
    for (;;) {
      char *key = NULL;
      if (obj) {
        jws(p);
        key = jstring(p);
        if (p->err) return NULL;
        jws(p);
        if (p->s >= p->end || *p->s != ':') {
          p->err = 1;
          return NULL;
        }
        p->s++;
      }
      jval *kid = jparse_value(p, depth + 1);
      if (p->err) return NULL;
      v->kids = xrealloc(v->kids, (v->n + 1) * sizeof *v->kids);
      v->kids[v->n] = kid;
      if (obj) {
        v->keys = xrealloc(v->keys, (v->n + 1) * sizeof *v->keys);
        v->keys[v->n] = key;
      }
      v->n++;
      jws(p);
      if (p->s < p->end && *p->s == ',') {
        p->s++;
        continue;
      }
      if (p->s < p->end && *p->s == (obj ? '}' : ']')) {
        p->s++;
        return v;
      }
      p->err = 1;
      return NULL;
    }
  }
  if (c == '"') {
    jval *v = jnew(J_STR);
    v->str = jstring(p);
    return p->err ? NULL : v;
  }
  if (p->end - p->s >= 4 && !strncmp(p->s, "true", 4)) {
    jval *v = jnew(J_BOOL);
    v->b = 1;
    p->s += 4;
    return v;
  }
  if (p->end - p->s >= 5 && !strncmp(p->s, "false", 5)) {
    p->s += 5;
    return jnew(J_BOOL);
  }
  if (p->end - p->s >= 4 && !strncmp(p->s, "null", 4)) {
    p->s += 4;
    return jnew(J_NULL);
  }
  if (c == '-' || (c >= '0' && c <= '9')) {
    char tmp[64];
    size_t n = 0;
    while (p->s < p->end && n < sizeof tmp - 1 && strchr("+-0123456789.eE", *p->s)) tmp[n++] = *p->s++;
    tmp[n] = '\0';
    jval *v = jnew(J_NUM);
    char *endp;
    v->num = strtod(tmp, &endp);
    if (*endp) p->err = 1;
    return p->err ? NULL : v;
  }
  p->err = 1;
  return NULL;
}

/* The whole text must be one JSON value; NULL when it is not. */
static jval *jparse(const char *s, size_t len) {
  jparser p = {s, s + len, 0};
  jval *v = jparse_value(&p, 0);
  if (p.err) return NULL;
  jws(&p);
  return p.s == p.end ? v : NULL;
}

static void jfree(jval *v) {
  if (!v) return;
  for (size_t i = 0; i < v->n; i++) {
    jfree(v->kids[i]);
    if (v->keys) free(v->keys[i]);
  }
  free(v->kids);
  free(v->keys);
  free(v->str);
  free(v);
}

static jval *jget(const jval *o, const char *key) {
  if (!o || o->t != J_OBJ) return NULL;
  for (size_t i = 0; i < o->n; i++)
    if (!strcmp(o->keys[i], key)) return o->kids[i];
  return NULL;
}
static const char *jstr(const jval *o, const char *key) {
  jval *v = jget(o, key);
  return v && v->t == J_STR ? v->str : NULL;
}
static int jbool(const jval *o, const char *key, int dflt) {
  jval *v = jget(o, key);
  return v && v->t == J_BOOL ? v->b : dflt;
}
static double jnum(const jval *o, const char *key, double dflt) {
  jval *v = jget(o, key);
  return v && v->t == J_NUM ? v->num : dflt;
}

/* JSON.stringify of a string: '"', '\\' and control characters escaped as V8 does; the rest verbatim. */
static void json_escape_cp(buf_t *b, uint32_t cp) {
  switch (cp) {
  case '"': buf_adds(b, "\\\""); return;
  case '\\': buf_adds(b, "\\\\"); return;
  case '\b': buf_adds(b, "\\b"); return;
  case '\f': buf_adds(b, "\\f"); return;
  case '\n': buf_adds(b, "\\n"); return;
  case '\r': buf_adds(b, "\\r"); return;
  case '\t': buf_adds(b, "\\t"); return;
  }
  if (cp < 0x20) buf_printf(b, "\\u%04x", cp);
  else utf8_put(b, cp);
}

/*
 * `buffer.toString('utf8')` then JSON.stringify, in one pass: invalid UTF-8 becomes U+FFFD per maximal subpart (the
 * WHATWG decoder, which V8 implements), so the log line is byte for byte what the Node monitor writes.
 */
static void json_string_from_bytes(buf_t *b, const unsigned char *s, size_t n) {
  buf_addc(b, '"');
  uint32_t cp = 0;
  int needed = 0, seen = 0;
  unsigned lower = 0x80, upper = 0xBF;
  for (size_t i = 0; i < n; i++) {
    unsigned c = s[i];
    if (needed == 0) {
      if (c <= 0x7F) json_escape_cp(b, c);
      else if (c >= 0xC2 && c <= 0xDF) needed = 1, cp = c & 0x1F;
      else if (c >= 0xE0 && c <= 0xEF) {
        if (c == 0xE0) lower = 0xA0;
        if (c == 0xED) upper = 0x9F;
        needed = 2, cp = c & 0x0F;
      } else if (c >= 0xF0 && c <= 0xF4) {
        if (c == 0xF0) lower = 0x90;
        if (c == 0xF4) upper = 0x8F;
        needed = 3, cp = c & 0x07;
      } else utf8_put(b, 0xFFFD);
      continue;
    }
    if (c < lower || c > upper) {
      cp = 0, needed = 0, seen = 0, lower = 0x80, upper = 0xBF;
      utf8_put(b, 0xFFFD);
      i--; /* the byte starts over */
      continue;
    }
    lower = 0x80, upper = 0xBF;
    cp = (cp << 6) | (c & 0x3F);
    if (++seen == needed) {
      json_escape_cp(b, cp);
      cp = 0, needed = 0, seen = 0;
    }
  }
  if (needed) utf8_put(b, 0xFFFD);
  buf_addc(b, '"');
}

static void json_string(buf_t *b, const char *s) { json_string_from_bytes(b, (const unsigned char *)s, strlen(s)); }

static char *read_file(const char *path, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  buf_t b = {0};
  for (;;) {
    buf_reserve(&b, 65536);
    ssize_t r = read(fd, b.p + b.len, b.cap - b.len);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    b.len += (size_t)r;
  }
  close(fd);
  buf_addc(&b, '\0');
  if (len) *len = b.len - 1;
  return b.p;
}

/* ---------- the monitor's state ---------- */

static struct {
  const char *id, *bundle, *runc_root, *runc_binary, *state_dir, *log_path;
  int open_stdin, stdin_once, wait_for_attach, attach_claims_cleanup;
  long attach_client_pid; /* 0: none */
  char **cleanup;         /* NULL-terminated argv, or NULL */
  int notify_fd;          /* MonitorConfig.notifyFd: a byte after every state write; -1 for none */
  long cleanup_timeout_ms;
} cfg;

static char p_state[PATH_MAX], p_socket[PATH_MAX], p_pidfile[PATH_MAX], p_runclog[PATH_MAX], p_monlog[PATH_MAX];

static struct {
  const char *status;
  int attach_ready;
  long pid;
  char started_at[64], finished_at[64];
  int has_exit;
  int exit_code;
  char *error;
  const char *error_code;
  int cleaned_up;
  char *cleanup_error;
  long cleanup_by;
} st = {.status = "starting"};

/* Temp file and rename, no fsync: run-time state, as replaceFileSync in src/util/fs.ts. */
static void save_state(void) {
  buf_t b = {0};
  buf_adds(&b, "{\"id\":");
  json_string(&b, cfg.id);
  buf_adds(&b, ",\"status\":");
  json_string(&b, st.status);
  buf_printf(&b, ",\"monitorPid\":%d", (int)getpid());
  if (st.attach_ready) buf_adds(&b, ",\"attachReady\":true");
  if (st.pid > 0) buf_printf(&b, ",\"pid\":%ld", st.pid);
  if (st.started_at[0]) buf_printf(&b, ",\"startedAt\":\"%s\"", st.started_at);
  if (st.finished_at[0]) buf_printf(&b, ",\"finishedAt\":\"%s\"", st.finished_at);
  if (st.has_exit) buf_printf(&b, ",\"exitCode\":%d", st.exit_code);
  if (st.error) {
    buf_adds(&b, ",\"error\":");
    json_string(&b, st.error);
  }
  if (st.error_code) buf_printf(&b, ",\"errorCode\":\"%s\"", st.error_code);
  if (st.cleaned_up) buf_adds(&b, ",\"cleanedUp\":true");
  if (st.cleanup_error) {
    buf_adds(&b, ",\"cleanupError\":");
    json_string(&b, st.cleanup_error);
  }
  if (st.cleanup_by > 0) buf_printf(&b, ",\"cleanupBy\":%ld", st.cleanup_by);
  buf_adds(&b, "}\n");
  char tmp[PATH_MAX + 32];
  snprintf(tmp, sizeof tmp, "%s.%d.tmp", p_state, (int)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int ok = fd >= 0;
  for (size_t off = 0; ok && off < b.len;) {
    ssize_t w = write(fd, b.p + off, b.len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) ok = 0;
    else off += (size_t)w;
  }
  if (fd >= 0) close(fd);
  if (!ok || rename(tmp, p_state) != 0) {
    fprintf(stderr, "monitor: cannot write %s: %s\n", p_state, strerror(errno));
    unlink(tmp);
  }
  free(b.p);
  if (cfg.notify_fd >= 0) {
    /* Non-blocking: a reader that stopped reading (or went away: EPIPE) just stops being told. */
    ssize_t w;
    do w = write(cfg.notify_fd, "s", 1);
    while (w < 0 && errno == EINTR);
    if (w < 0 && errno != EAGAIN) {
      close(cfg.notify_fd);
      cfg.notify_fd = -1;
    }
  }
}

/* The EXIT frame's payload: JSON.stringify({exitCode, error, errorCode[, cleanupDelegated]}). */
static void exit_info(buf_t *b, int delegated) {
  buf_addc(b, '{');
  int first = 1;
  if (st.has_exit) {
    buf_printf(b, "\"exitCode\":%d", st.exit_code);
    first = 0;
  }
  if (st.error) {
    buf_adds(b, first ? "\"error\":" : ",\"error\":");
    json_string(b, st.error);
    first = 0;
  }
  if (st.error_code) {
    buf_printf(b, first ? "\"errorCode\":\"%s\"" : ",\"errorCode\":\"%s\"", st.error_code);
    first = 0;
  }
  if (delegated) buf_adds(b, first ? "\"cleanupDelegated\":true" : ",\"cleanupDelegated\":true");
  buf_addc(b, '}');
}

static void frame_add(buf_t *b, int type, const void *data, size_t n) {
  unsigned char head[5] = {(unsigned char)type, (unsigned char)(n >> 24), (unsigned char)(n >> 16), (unsigned char)(n >> 8),
                           (unsigned char)n};
  buf_add(b, head, 5);
  buf_add(b, data, n);
}

/* ---------- the json-file log (src/runtime/json-log.ts) ---------- */

static int log_fd = -1;
static buf_t partial[3]; /* by frame type: F_STDOUT, F_STDERR */

static void log_entry(buf_t *out, int type, const unsigned char *line, size_t n) {
  char ts[64];
  iso_now(ts);
  buf_adds(out, "{\"log\":");
  json_string_from_bytes(out, line, n);
  buf_printf(out, ",\"stream\":\"%s\",\"time\":\"%s\"}\n", type == F_STDOUT ? "stdout" : "stderr", ts);
}

static void log_append(buf_t *out) {
  if (log_fd < 0 || out->len == 0) return;
  for (size_t off = 0; off < out->len;) {
    ssize_t w = write(log_fd, out->p + off, out->len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break; /* a full disk must not kill the monitor */
    off += (size_t)w;
  }
}

static void log_write(int type, const char *data, size_t n) {
  buf_t *pb = &partial[type];
  buf_add(pb, data, n);
  buf_t out = {0};
  const unsigned char *s = (const unsigned char *)pb->p + pb->off;
  size_t len = pb->len - pb->off;
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
  pb->off = pb->len - len;
  if (pb->off == pb->len) buf_clear(pb);
  log_append(&out);
  free(out.p);
}

static void log_close(void) {
  buf_t out = {0};
  for (int t = F_STDOUT; t <= F_STDERR; t++) {
    if (buf_pending(&partial[t])) log_entry(&out, t, (unsigned char *)partial[t].p + partial[t].off, buf_pending(&partial[t]));
    buf_clear(&partial[t]);
  }
  log_append(&out);
  free(out.p);
  if (log_fd >= 0) close(log_fd);
  log_fd = -1;
}

/* ---------- attach clients ---------- */

typedef struct {
  int fd;
  buf_t in, out;
  int closing;  /* end after the queued output */
  int shut;     /* write side shut down */
  int eof;      /* the client closed its side: flush what is queued, then drop it (Node's allowHalfOpen false) */
  long claim;   /* CLAIM_CLEANUP pid */
  int first;
} client_t;

static client_t **clients;
static int nclients, clients_cap;
static int listen_fd = -1;
static int first_seen, first_gone, first_claim_settled;
static buf_t held;
static int holding;
static size_t held_bytes;
static buf_t exit_frame;
static int have_exit_frame;

/* runc's process and pipes */
static pid_t runc_pid = -1;
static int out_fd[3] = {-1, -1, -1}; /* F_STDOUT, F_STDERR read ends */
static int stdin_fd = -1;
static buf_t stdin_q;
static int stdin_ending;
static int runc_gone, runc_status = -1;
static int sig_fd = -1, ino_fd = -1;

static void stdin_end(void) {
  if (stdin_fd < 0) return;
  if (buf_pending(&stdin_q)) {
    stdin_ending = 1;
    return;
  }
  close(stdin_fd);
  stdin_fd = -1;
}

static void client_drop(int i) {
  client_t *c = clients[i];
  if (c->first) {
    first_gone = 1;
    first_claim_settled = 1;
  }
  close(c->fd);
  free(c->in.p);
  free(c->out.p);
  free(c);
  clients[i] = clients[--nclients];
}

static void broadcast(int type, const char *data, size_t n) {
  for (int i = 0; i < nclients; i++)
    if (!clients[i]->closing) frame_add(&clients[i]->out, type, data, n);
}

static void release_held(client_t *to) {
  if (!holding) return;
  if (to) buf_add(&to->out, held.p, held.len);
  free(held.p);
  memset(&held, 0, sizeof held);
  holding = 0;
  held_bytes = 0;
}

/* runc prints its fatal error on its stderr too; it is in runc's log, where it is read: drop it from the output. */
static size_t filter_runc_lines(char *d, size_t n) {
  if (!memmem(d, n, "runc run failed: ", 17) && !memmem(d, n, "runc exec failed: ", 18)) return n;
  size_t w = 0;
  for (size_t i = 0; i < n;) {
    char *nl = memchr(d + i, '\n', n - i);
    size_t k = nl ? (size_t)(nl - (d + i)) + 1 : n - i;
    int drop = (k >= 17 && !strncmp(d + i, "runc run failed: ", 17)) || (k >= 18 && !strncmp(d + i, "runc exec failed: ", 18));
    if (!drop) memmove(d + w, d + i, k), w += k;
    i += k;
  }
  return w;
}

static void on_output(int type, char *data, size_t n) {
  if (type == F_STDERR) n = filter_runc_lines(data, n);
  if (n == 0) return;
  log_write(type, data, n);
  if (holding) {
    frame_add(&held, type, data, n);
    held_bytes += n;
    return;
  }
  broadcast(type, data, n);
}

static void handle_frame(client_t *c, int type, const char *payload, size_t n) {
  if (type == F_STDIN && cfg.open_stdin) {
    if (stdin_fd >= 0 && !stdin_ending) buf_add(&stdin_q, payload, n);
  } else if (type == F_STDIN_EOF && cfg.open_stdin && cfg.stdin_once) {
    stdin_end();
  } else if (type == F_CLAIM) {
    jval *v = jparse(payload, n);
    double pid = jnum(v, "pid", 0);
    jfree(v);
    if (pid > 0 && pid == (double)(long)pid) c->claim = (long)pid;
    if (c->first) first_claim_settled = 1;
  }
  /* RESIZE: no terminal here */
}

/* Reads what a client sent; returns -1 when the connection failed, 1 at its end, else 0. */
static int client_read(client_t *c) {
  char tmp[65536];
  for (;;) {
    ssize_t r = read(c->fd, tmp, sizeof tmp);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    if (r == 0) return 1;
    if (r < 0) return -1;
    if (c->shut) continue; /* only waiting for the client to close */
    buf_add(&c->in, tmp, (size_t)r);
    for (;;) {
      size_t avail = buf_pending(&c->in);
      const unsigned char *h = (const unsigned char *)c->in.p + c->in.off;
      if (avail < 5) break;
      uint32_t len = ((uint32_t)h[1] << 24) | ((uint32_t)h[2] << 16) | ((uint32_t)h[3] << 8) | h[4];
      if (len > MAX_FRAME) return -1;
      if (avail < 5 + (size_t)len) break;
      handle_frame(c, h[0], (const char *)h + 5, len);
      c->in.off += 5 + len;
    }
    if (c->in.off == c->in.len) buf_clear(&c->in);
  }
}

static int client_flush(client_t *c) {
  while (buf_pending(&c->out)) {
    ssize_t w = write(c->fd, c->out.p + c->out.off, buf_pending(&c->out));
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    if (w <= 0) return -1;
    c->out.off += (size_t)w;
  }
  buf_clear(&c->out);
  if (c->closing && !c->shut) {
    shutdown(c->fd, SHUT_WR);
    c->shut = 1;
  }
  return 0;
}

static void accept_clients(void) {
  for (;;) {
    int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    if (nclients == clients_cap) {
      clients_cap = clients_cap ? clients_cap * 2 : 8;
      clients = xrealloc(clients, (size_t)clients_cap * sizeof *clients);
    }
    client_t *c = calloc(1, sizeof *c);
    if (!c) die("out of memory");
    c->fd = fd;
    clients[nclients++] = c;
    if (have_exit_frame) {
      buf_add(&c->out, exit_frame.p, exit_frame.len);
      c->closing = 1;
      continue;
    }
    if (!first_seen) {
      first_seen = 1;
      c->first = 1;
      release_held(c);
    }
  }
}

/* ---------- children ---------- */

static sigset_t handled;

/* fork and exec with stdio (fds; -1: /dev/null) and a working directory; errno of a failed exec through a pipe. */
static pid_t spawn_child(char *const argv[], int in, int out, int err, const char *cwd, int *exec_errno) {
  int ep[2];
  if (pipe2(ep, O_CLOEXEC) < 0) {
    *exec_errno = errno;
    return -1;
  }
  pid_t pid = fork();
  if (pid < 0) {
    *exec_errno = errno;
    close(ep[0]);
    close(ep[1]);
    return -1;
  }
  if (pid == 0) {
    /* What the child inherits from us: no blocked and no ignored signals (as libuv leaves a child). */
    for (int sig = 1; sig < NSIG; sig++)
      if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int devnull = (in < 0 || out < 0 || err < 0) ? open("/dev/null", O_RDWR | O_CLOEXEC) : -1;
    int fds[3] = {in < 0 ? devnull : in, out < 0 ? devnull : out, err < 0 ? devnull : err};
    /* dup first to fds above 2, so that one target does not overwrite another's source */
    int tmp[3];
    for (int i = 0; i < 3; i++) tmp[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
    for (int i = 0; i < 3; i++) dup2(tmp[i], i);
    if (cwd && chdir(cwd) != 0) {
      int e = errno;
      (void)!write(ep[1], &e, sizeof e);
      _exit(127);
    }
    execvp(argv[0], argv);
    int e = errno;
    (void)!write(ep[1], &e, sizeof e);
    _exit(127);
  }
  close(ep[1]);
  int e = 0;
  ssize_t r;
  do r = read(ep[0], &e, sizeof e);
  while (r < 0 && errno == EINTR);
  close(ep[0]);
  if (r == sizeof e) {
    waitpid(pid, NULL, 0);
    *exec_errno = e;
    return -1;
  }
  *exec_errno = 0;
  return pid;
}

static const char *errno_name(int e) {
#if defined(__GLIBC__) && __GLIBC_PREREQ(2, 32)
  const char *n = strerrorname_np(e);
  if (n) return n;
#endif
  return errno_name_or(e, "EUNKNOWN");
}

/* Run a command with stdio on the monitor's stderr (monitor.log) and a time limit; its exit code, -1 if it cannot run. */
static int run_quiet(char *const argv[], long timeout_ms);

/* ---------- the event loop ---------- */

static int64_t attach_deadline;
static int pid_seen_done;

static void *close_in_background(void *fd) {
  close((int)(intptr_t)fd);
  return NULL;
}

/*
 * Closing an inotify descriptor waits for an SRCU grace period (~5 ms here): done by a thread of its own, so that
 * the instance is freed (fs.inotify.max_user_instances is 128 per user by default, and a monitor lives as long as
 * its container) without stalling the container's start or exit.
 */
static void close_inotify(void) {
  if (ino_fd < 0) return;
  int fd = ino_fd;
  ino_fd = -1;
  pthread_t t;
  pthread_attr_t a;
  pthread_attr_init(&a);
  pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
  if (pthread_create(&t, &a, close_in_background, (void *)(intptr_t)fd) != 0) close(fd);
  pthread_attr_destroy(&a);
}

static void check_pid_file(void) {
  if (pid_seen_done || runc_gone) return; /* after the exit, the exit's own bookkeeping reads it */
  char *text = read_file(p_pidfile, NULL);
  long pid = text ? strtol(text, NULL, 10) : 0;
  free(text);
  if (pid <= 0) return;
  pid_seen_done = 1;
  trace("pid file");
  close_inotify();
  if (!strcmp(st.status, "starting")) {
    st.pid = pid;
    iso_now(st.started_at);
    st.status = "running";
    save_state();
  }
}

/* Another child's exit that run_quiet waits for (reaped by on_child_exit otherwise). */
static pid_t quiet_pid = -1;
static int quiet_status = -1, quiet_done;

static void reap(void) {
  for (;;) {
    int status;
    pid_t p = waitpid(-1, &status, WNOHANG);
    if (p <= 0) return;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (p == runc_pid) runc_gone = 1, runc_status = code;
    else if (p == quiet_pid) quiet_done = 1, quiet_status = code;
  }
}

/* One round of poll over everything; waits at most `timeout_ms`. */
static void loop_once(int timeout_ms) {
  static struct pollfd *pf;
  static size_t pf_cap;
  if (pf_cap < (size_t)nclients + 8) {
    pf_cap = (size_t)nclients + 8;
    pf = xrealloc(pf, pf_cap * sizeof *pf);
  }
  int n = 0;
  int i_sig = -1, i_ino = -1, i_listen = -1, i_out[3] = {-1, -1, -1}, i_in = -1, i_cl = 0;
  if (sig_fd >= 0) pf[i_sig = n++] = (struct pollfd){sig_fd, POLLIN, 0};
  if (ino_fd >= 0 && !pid_seen_done) pf[i_ino = n++] = (struct pollfd){ino_fd, POLLIN, 0};
  if (listen_fd >= 0) pf[i_listen = n++] = (struct pollfd){listen_fd, POLLIN, 0};
  int paused = holding && held_bytes > HOLD_LIMIT && !runc_gone;
  for (int t = F_STDOUT; t <= F_STDERR; t++)
    if (out_fd[t] >= 0 && !paused) pf[i_out[t] = n++] = (struct pollfd){out_fd[t], POLLIN, 0};
  if (stdin_fd >= 0 && buf_pending(&stdin_q)) pf[i_in = n++] = (struct pollfd){stdin_fd, POLLOUT, 0};
  i_cl = n;
  for (int i = 0; i < nclients; i++) {
    short ev = (short)((clients[i]->eof ? 0 : POLLIN) | (buf_pending(&clients[i]->out) ? POLLOUT : 0));
    pf[n++] = (struct pollfd){clients[i]->fd, ev, 0};
  }
  /* Without inotify (none left for this user), runc's pid file is looked for every 10 ms, as the Node monitor does. */
  int poll_pid = !pid_seen_done && !runc_gone && ino_fd < 0;
  if (poll_pid && (timeout_ms < 0 || timeout_ms > 10)) timeout_ms = 10;
  int r = poll(pf, (nfds_t)n, timeout_ms);
  if (poll_pid) check_pid_file();
  if (r < 0) return;
  if (i_sig >= 0 && pf[i_sig].revents) {
    struct signalfd_siginfo si;
    while (read(sig_fd, &si, sizeof si) == sizeof si) {
      if (si.ssi_signo == SIGCHLD) reap();
      else if (runc_pid > 0 && !runc_gone) kill(runc_pid, (int)si.ssi_signo);
    }
  }
  if (i_ino >= 0 && pf[i_ino].revents) {
    char evbuf[4096];
    int hit = 0;
    ssize_t len;
    while ((len = read(ino_fd, evbuf, sizeof evbuf)) > 0) {
      for (char *p = evbuf; p < evbuf + len;) {
        struct inotify_event *ev = (struct inotify_event *)p;
        if ((ev->mask & IN_Q_OVERFLOW) || (ev->len && !strcmp(ev->name, "container.pid"))) hit = 1;
        p += sizeof *ev + ev->len;
      }
    }
    if (hit) check_pid_file();
  }
  for (int t = F_STDOUT; t <= F_STDERR; t++) {
    if (i_out[t] < 0 || !pf[i_out[t]].revents) continue;
    char tmp[65536];
    ssize_t k = read(out_fd[t], tmp, sizeof tmp);
    if (k > 0) on_output(t, tmp, (size_t)k);
    else if (k == 0 || (errno != EAGAIN && errno != EINTR)) {
      close(out_fd[t]);
      out_fd[t] = -1;
    }
  }
  if (i_in >= 0 && pf[i_in].revents) {
    ssize_t w = write(stdin_fd, stdin_q.p + stdin_q.off, buf_pending(&stdin_q));
    if (w > 0) stdin_q.off += (size_t)w;
    else if (w < 0 && errno != EAGAIN && errno != EINTR) buf_clear(&stdin_q), stdin_ending = 1; /* the reader is gone */
    if (!buf_pending(&stdin_q)) {
      buf_clear(&stdin_q);
      if (stdin_ending) {
        close(stdin_fd);
        stdin_fd = -1;
      }
    }
  }
  /* Clients: by fd, since a drop reorders the array. */
  for (int j = i_cl; j < n; j++) {
    if (!pf[j].revents) continue;
    int idx = -1;
    for (int i = 0; i < nclients; i++)
      if (clients[i]->fd == pf[j].fd) idx = i;
    if (idx < 0) continue;
    client_t *c = clients[idx];
    int gone = 0;
    if (!c->eof && (pf[j].revents & (POLLIN | POLLHUP | POLLERR))) {
      int r = client_read(c);
      if (r < 0) gone = 1;
      else if (r > 0) c->eof = 1, c->closing = 1;
    }
    if (!gone && (pf[j].revents & (POLLOUT | POLLERR))) gone = client_flush(c) < 0;
    if (!gone && c->eof && !buf_pending(&c->out)) gone = 1;
    if (gone) client_drop(idx);
  }
  if (i_listen >= 0 && pf[i_listen].revents) accept_clients();
  /* Output queued by this round (broadcast, held output, exit frames) goes out at once where the socket takes it. */
  for (int i = 0; i < nclients; i++) {
    client_t *c = clients[i];
    if ((buf_pending(&c->out) || (c->closing && !c->shut)) && client_flush(c) < 0) client_drop(i--);
    else if (c->eof && !buf_pending(&c->out)) client_drop(i--);
  }
  if (holding && attach_deadline && now_ms() >= attach_deadline) release_held(NULL);
  reap(); /* also without a signalfd */
}

static int clamp_wait(int64_t until) {
  int64_t d = until - now_ms();
  if (d < 0) return 0;
  return d > 1000 ? 1000 : (int)d;
}

static int run_quiet(char *const argv[], long timeout_ms) {
  int e;
  quiet_done = 0;
  quiet_pid = spawn_child(argv, -1, 2, 2, NULL, &e);
  if (quiet_pid < 0) return -1;
  int64_t until = now_ms() + timeout_ms;
  int killed = 0;
  while (!quiet_done) {
    if (!killed && now_ms() >= until) {
      kill(quiet_pid, SIGKILL);
      killed = 1;
    }
    loop_once(killed ? 100 : clamp_wait(until));
  }
  quiet_pid = -1;
  return quiet_status;
}

static int pid_alive(long pid) { return kill((pid_t)pid, 0) == 0 || errno == EPERM; }

/* ---------- runc's log: the message of its last error, classified as src/runtime/runc.ts does ---------- */

static char *runc_error_message(char *log) {
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
      jval *v = jparse(lines[i], strlen(lines[i]));
      const char *level = jstr(v, "level"), *msg = jstr(v, "msg");
      if (level && !strcmp(level, "error") && msg && *msg) found = xstrdup(msg);
      jfree(v);
      continue;
    }
    /* The text format: level=error msg="..." with the message quoted as a JSON string. */
    char *m = strstr(lines[i], "level=error msg=\"");
    if (!m) continue;
    char *q = m + 16, *p = q + 1;
    while (*p && *p != '"') p += (*p == '\\' && p[1]) ? 2 : 1;
    if (*p != '"') continue;
    jval *v = jparse(q, (size_t)(p - q) + 1);
    if (v && v->t == J_STR) found = xstrdup(v->str);
    jfree(v);
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

static void classify(const char *m, const char **code, int *exit_code) {
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

/* runc removes the container's cgroup but not the parents it made; an empty parent is ours (cgroup-v1.ts). */
static void remove_empty_cgroup_parent(void) {
  char file[PATH_MAX];
  snprintf(file, sizeof file, "%s/config.json", cfg.bundle);
  size_t len;
  char *text = read_file(file, &len);
  if (!text) return;
  jval *spec = jparse(text, len);
  const char *leaf = jstr(jget(spec, "linux"), "cgroupsPath");
  if (!leaf || leaf[0] != '/') return;
  char parent[PATH_MAX];
  snprintf(parent, sizeof parent, "%s", leaf);
  char *slash = strrchr(parent, '/');
  if (!slash || slash == parent) return;
  *slash = '\0';
  DIR *d = opendir("/sys/fs/cgroup");
  if (!d) return;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.') continue;
    char dir[PATH_MAX * 2];
    snprintf(dir, sizeof dir, "/sys/fs/cgroup/%s%s", de->d_name, parent);
    rmdir(dir);
  }
  closedir(d);
}

static void release_runtime(void) {
  char dir[PATH_MAX * 2];
  snprintf(dir, sizeof dir, "%s/%s", cfg.runc_root, cfg.id);
  if (access(dir, F_OK) == 0) {
    char *argv[] = {(char *)cfg.runc_binary, "--root", (char *)cfg.runc_root, "delete", "--force", (char *)cfg.id, NULL};
    run_quiet(argv, 10000);
  }
  remove_empty_cgroup_parent();
}

static client_t *live_claimant(void) {
  for (int i = 0; i < nclients; i++)
    if (clients[i]->claim > 0 && !clients[i]->closing) return clients[i];
  return NULL;
}

/* Waits (still serving clients) until every client has closed, at most `ms`. */
static void drain_clients(int ms) {
  int64_t until = now_ms() + ms;
  while (nclients > 0 && now_ms() < until) loop_once(clamp_wait(until));
}

static void end_all_clients(client_t *delegate_to) {
  buf_clear(&exit_frame);
  buf_t info = {0};
  exit_info(&info, 0);
  frame_add(&exit_frame, F_EXIT, info.p, info.len);
  buf_clear(&info);
  exit_info(&info, 1);
  for (int i = 0; i < nclients; i++) {
    client_t *c = clients[i];
    if (c->closing) continue;
    if (c == delegate_to) frame_add(&c->out, F_EXIT, info.p, info.len);
    else buf_add(&c->out, exit_frame.p, exit_frame.len);
    c->closing = 1;
  }
  free(info.p);
  have_exit_frame = 1;
}

static void finish(void) {
  client_t *claimant = NULL;
  if (st.cleanup_by > 0) {
    claimant = live_claimant();
    if (!claimant) {
      st.cleanup_by = 0; /* the client went away since: the monitor cleans up after all */
      save_state();
    }
  }
  if (claimant) {
    /* The attached client cleans up: everything is written before the exit frame, since it may remove the whole
       state directory as soon as it has read it. */
    close(listen_fd);
    listen_fd = -1;
    unlink(p_socket);
    end_all_clients(claimant);
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
  end_all_clients(NULL);
  /* Stop accepting before the final state, so that whoever waits for it finds no socket. */
  close(listen_fd);
  listen_fd = -1;
  unlink(p_socket);
  st.cleaned_up = 1;
  save_state();
  drain_clients(2000);
}

/* ---------- start-up ---------- */

static char *config_path_from_stdin(void) {
  buf_t b = {0};
  char c;
  for (;;) {
    ssize_t r = read(0, &c, 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0 || c == '\n') break;
    buf_addc(&b, c);
  }
  buf_addc(&b, '\0');
  char *s = b.p;
  while (*s == ' ' || *s == '\t' || *s == '\r') s++;
  size_t k = strlen(s);
  while (k && (s[k - 1] == ' ' || s[k - 1] == '\t' || s[k - 1] == '\r')) s[--k] = '\0';
  return s;
}

static char **str_array(const jval *v) {
  if (!v || v->t != J_ARR) return NULL;
  char **a = xrealloc(NULL, (v->n + 1) * sizeof *a);
  for (size_t i = 0; i < v->n; i++) {
    if (v->kids[i]->t != J_STR) return NULL;
    a[i] = v->kids[i]->str;
  }
  a[v->n] = NULL;
  return a;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: wharf-monitor <monitor.json> | --standby\n");
    return 2;
  }
  int standby = !strcmp(argv[1], "--standby");
  trace("monitor main");
  char *config_path = standby ? config_path_from_stdin() : argv[1];
  if (!*config_path) {
    if (standby) return 0; /* the CLI that started this standby never needed it */
    fprintf(stderr, "usage: wharf-monitor <monitor.json>\n");
    return 2;
  }
  trace("monitor config");
  size_t clen;
  char *ctext = read_file(config_path, &clen);
  if (!ctext) die("cannot read %s: %s", config_path, strerror(errno));
  jval *c = jparse(ctext, clen);
  if (!c || c->t != J_OBJ) die("%s is not a monitor config", config_path);
  cfg.id = jstr(c, "id");
  cfg.bundle = jstr(c, "bundle");
  cfg.runc_root = jstr(c, "runcRoot");
  cfg.runc_binary = jstr(c, "runcBinary");
  if (!cfg.runc_binary) cfg.runc_binary = "runc";
  cfg.state_dir = jstr(c, "stateDir");
  cfg.log_path = jstr(c, "logPath");
  if (!cfg.id || !cfg.bundle || !cfg.runc_root || !cfg.state_dir || !cfg.log_path) die("%s lacks a required field", config_path);

  if (standby) {
    /* Started before the state dir existed: stdio goes nowhere, so log to its monitor.log from now on, and work
       from the state dir, which is how isMonitorAlive recognises a standby monitor. */
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull >= 0) dup2(devnull, 0);
    if (chdir(cfg.state_dir) != 0) die("cannot enter %s: %s", cfg.state_dir, strerror(errno));
    int lfd = open("monitor.log", O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (lfd >= 0) {
      dup2(lfd, 1);
      dup2(lfd, 2);
      close(lfd);
    }
  }

  /* What only the Node monitor does (a terminal, the OOM watch): hand over to it, config path as its argument. */
  if (jbool(c, "tty", 0) || jbool(c, "watchOom", 0) || jget(c, "consoleSize")) {
    char **fb = str_array(jget(c, "fallback"));
    if (!fb || !fb[0]) die("container %s needs the Node monitor and the config names none (fallback)", cfg.id);
    size_t n = 0;
    while (fb[n]) n++;
    char **args = xrealloc(NULL, (n + 2) * sizeof *args);
    memcpy(args, fb, n * sizeof *args);
    args[n] = config_path;
    args[n + 1] = NULL;
    execvp(args[0], args);
    die("cannot run the Node monitor %s: %s", args[0], strerror(errno));
  }

  cfg.open_stdin = jbool(c, "openStdin", 0);
  cfg.stdin_once = jbool(c, "stdinOnce", 1);
  cfg.wait_for_attach = jbool(c, "waitForAttach", 0);
  cfg.attach_claims_cleanup = jbool(c, "attachClaimsCleanup", 0);
  cfg.attach_client_pid = (long)jnum(c, "attachClientPid", 0);
  cfg.cleanup = str_array(jget(c, "cleanup"));
  cfg.cleanup_timeout_ms = (long)jnum(c, "cleanupTimeoutMs", 60000);
  cfg.notify_fd = (int)jnum(c, "notifyFd", -1);
  if (cfg.notify_fd >= 0) {
    if (fcntl(cfg.notify_fd, F_SETFL, O_NONBLOCK) < 0) cfg.notify_fd = -1; /* not open here: no notifications */
    else fcntl(cfg.notify_fd, F_SETFD, FD_CLOEXEC);                        /* for us only, not runc */
  }

  snprintf(p_state, sizeof p_state, "%s/state.json", cfg.state_dir);
  snprintf(p_socket, sizeof p_socket, "%s/attach.sock", cfg.state_dir);
  snprintf(p_pidfile, sizeof p_pidfile, "%s/container.pid", cfg.state_dir);
  snprintf(p_runclog, sizeof p_runclog, "%s/runc.log", cfg.state_dir);
  snprintf(p_monlog, sizeof p_monlog, "%s/monitor.log", cfg.state_dir);

  /* The CLI that started us may be gone: a broken pipe or a hangup must not take the container's monitor along. */
  signal(SIGPIPE, SIG_IGN);
  signal(SIGXFSZ, SIG_IGN); /* a log past RLIMIT_FSIZE fails its writes (EFBIG), it must not kill the monitor */
  signal(SIGCHLD, SIG_DFL); /* inherited as ignored, the kernel would reap runc before we learn its status */
  sigemptyset(&handled);
  int sigs[] = {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
  for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) sigaddset(&handled, sigs[i]);
  sigprocmask(SIG_BLOCK, &handled, NULL);
  sig_fd = signalfd(-1, &handled, SFD_NONBLOCK | SFD_CLOEXEC);

  log_fd = open(cfg.log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (log_fd < 0) die("cannot open the log %s: %s", cfg.log_path, strerror(errno));
  holding = cfg.wait_for_attach;
  attach_deadline = now_ms() + ATTACH_WAIT_MS;

  /* Watch for runc's pid file before runc can write it. */
  ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (ino_fd >= 0 && inotify_add_watch(ino_fd, cfg.state_dir, IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
    close(ino_fd);
    ino_fd = -1;
  }

  /* runc first: it takes tens of milliseconds, and the socket is set up meanwhile (output is held for the client). */
  unlink(p_pidfile);
  unlink(p_runclog);
  char spawned_at[64];
  iso_now(spawned_at);
  trace("runc spawn");
  int pin[2] = {-1, -1}, pout[2], perr[2];
  if ((cfg.open_stdin && pipe2(pin, O_CLOEXEC) < 0) || pipe2(pout, O_CLOEXEC) < 0 || pipe2(perr, O_CLOEXEC) < 0)
    die("cannot make pipes: %s", strerror(errno));
  char *rargv[] = {(char *)cfg.runc_binary, "--root", (char *)cfg.runc_root, "--log", p_runclog, "--log-format", "json",
                   "run", "--bundle", (char *)cfg.bundle, "--pid-file", p_pidfile, (char *)cfg.id, NULL};
  int spawn_errno = 0;
  runc_pid = spawn_child(rargv, pin[0], pout[1], perr[1], cfg.bundle, &spawn_errno);
  if (pin[0] >= 0) close(pin[0]);
  close(pout[1]);
  close(perr[1]);
  out_fd[F_STDOUT] = pout[0];
  out_fd[F_STDERR] = perr[0];
  fcntl(pout[0], F_SETFL, O_NONBLOCK);
  fcntl(perr[0], F_SETFL, O_NONBLOCK);
  if (runc_pid > 0 && cfg.open_stdin) {
    stdin_fd = pin[1];
    fcntl(stdin_fd, F_SETFL, O_NONBLOCK);
  } else if (pin[1] >= 0) {
    close(pin[1]);
  }

  unlink(p_socket);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  int listen_ok = strlen(p_socket) < sizeof sa.sun_path;
  if (listen_ok) {
    strcpy(sa.sun_path, p_socket);
    listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    listen_ok = listen_fd >= 0 && bind(listen_fd, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(listen_fd, 64) == 0;
  }
  if (!listen_ok) {
    /* No socket, so no one can attach or learn of the exit: take the container that is already starting down. */
    int e = errno;
    if (listen_fd >= 0) close(listen_fd), listen_fd = -1; /* an unconnected socket polls as hung up: no busy loop */
    pid_seen_done = 1;                                      /* and no "running" state for a container going down */
    char *dargv[] = {(char *)cfg.runc_binary, "--root", (char *)cfg.runc_root, "delete", "--force", (char *)cfg.id, NULL};
    run_quiet(dargv, 10000);
    if (runc_pid > 0) kill(runc_pid, SIGKILL);
    die("cannot listen on %s: %s", p_socket, strerror(e));
  }
  /* Before any "running" state: a client that reads running also reads attachReady. */
  st.attach_ready = 1;
  save_state();
  trace("monitor listening");

  if (runc_pid < 0) {
    /* Node reports a binary that cannot be spawned the same way: exit 127 and UNAVAILABLE. */
    buf_t b = {0};
    buf_printf(&b, "cannot run %s: spawn %s %s", cfg.runc_binary, cfg.runc_binary, errno_name(spawn_errno));
    buf_addc(&b, '\0');
    st.error = b.p;
    st.error_code = "UNAVAILABLE";
    st.has_exit = 1;
    st.exit_code = 127;
    runc_gone = 1;
  } else {
    check_pid_file();
    while (!runc_gone) loop_once(holding ? clamp_wait(attach_deadline) : 1000);
    trace("runc exited");
    /* The tail of the output must reach the log, held for a client or not (at most 2 s). */
    int64_t until = now_ms() + 2000;
    while ((out_fd[F_STDOUT] >= 0 || out_fd[F_STDERR] >= 0) && now_ms() < until) loop_once(clamp_wait(until));
    char *runc_log = read_file(p_runclog, NULL);
    char *failure = NULL;
    if (runc_log && (strstr(runc_log, "\"level\":\"error\"") || strstr(runc_log, "\"level\":\"fatal\"")))
      failure = runc_error_message(runc_log);
    if (failure && *failure && (strcmp(st.status, "running") != 0 || strstr(failure, "unable to start container process"))) {
      /* The pid file can exist before exec fails (e.g. permission denied): still a start failure. */
      classify(failure, &st.error_code, &st.exit_code);
      st.has_exit = 1;
      st.error = failure;
    } else {
      st.has_exit = 1;
      st.exit_code = runc_status;
      if (!strcmp(st.status, "starting")) {
        /* Exited before the pid file was seen: a fast command. */
        char *text = read_file(p_pidfile, NULL);
        long pid = text ? strtol(text, NULL, 10) : 0;
        if (pid > 0) st.pid = pid;
        memcpy(st.started_at, spawned_at, sizeof spawned_at);
      }
    }
  }
  iso_now(st.finished_at);
  st.status = "exited";
  log_close();
  pid_seen_done = 1;
  close_inotify();
  release_runtime();
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
  client_t *claimant = live_claimant();
  if (claimant) st.cleanup_by = claimant->claim;
  save_state();
  trace("exit state saved");
  finish();
  return 0;
}
