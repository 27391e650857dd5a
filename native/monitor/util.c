/* Buffers, time, tracing, whole-file reads, JSON output, and the small JSON field reader. */
#include "monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static void vwarn(const char *fmt, va_list ap) {
  fputs("monitor: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
}

void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vwarn(fmt, ap);
  va_end(ap);
  exit(1);
}

void warn(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vwarn(fmt, ap);
  va_end(ap);
}

void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) die("out of memory");
  return q;
}

char *xstrdup(const char *s) {
  char *d = strdup(s);
  if (!d) die("out of memory");
  return d;
}

int64_t now_ms(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) die("clock_gettime: %s", strerror(errno));
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* `new Date().toISOString()`: UTC with milliseconds. */
void iso_now(char out[64]) {
  struct timespec ts;
  struct tm tm;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || !gmtime_r(&ts.tv_sec, &tm)) die("cannot read the clock: %s", strerror(errno));
  snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
           tm.tm_min, tm.tm_sec, (long)(ts.tv_nsec / 1000000));
}

/* WHARF_TRACE: the timeline format of src/util/trace.ts. Best effort: a trace never fails the monitor. */
void trace(const char *label) {
  const char *file = getenv("WHARF_TRACE");
  if (!file || !*file) return;
  struct timespec ts;
  struct rusage ru;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || getrusage(RUSAGE_SELF, &ru) != 0) return;
  double cpu = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000.0 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000.0;
  int fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return;
  (void)dprintf(fd, "%.2f %d %s cpu=%.1f\n", ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6, (int)getpid(), label, cpu);
  (void)close(fd); /* a lost trace line is no error */
}

/* ---- a growable byte buffer with a read offset (a queue) ---- */

static void buf_reserve(buf_t *b, size_t extra) {
  if (b->len + extra <= b->cap) return;
  if (b->off > 0) {
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
void buf_add(buf_t *b, const void *d, size_t n) {
  if (n == 0) return;
  buf_reserve(b, n);
  memcpy(b->p + b->len, d, n);
  b->len += n;
}
void buf_addc(buf_t *b, char c) { buf_add(b, &c, 1); }
void buf_adds(buf_t *b, const char *s) { buf_add(b, s, strlen(s)); }
void buf_printf(buf_t *b, const char *fmt, ...) {
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
size_t buf_pending(const buf_t *b) { return b->len - b->off; }
void buf_clear(buf_t *b) { b->len = b->off = 0; }
void buf_free(buf_t *b) {
  free(b->p);
  b->p = NULL;
  b->len = b->cap = b->off = 0;
}
/* Drops n bytes from the front; a queue that empties, or one whose consumed part dwarfs the rest, gives memory back. */
void buf_consume(buf_t *b, size_t n) {
  b->off += n;
  if (b->off == b->len) {
    if (b->cap > (256u << 10)) buf_free(b);
    else buf_clear(b);
  }
}

char *read_file(const char *path, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  buf_t b = {0};
  for (;;) {
    buf_reserve(&b, 65536);
    ssize_t r = read(fd, b.p + b.len, b.cap - b.len);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      int e = errno;
      close_quietly(&fd);
      free(b.p);
      errno = e;
      return NULL;
    }
    if (r == 0) break;
    b.len += (size_t)r;
  }
  close_quietly(&fd);
  buf_addc(&b, '\0');
  if (len) *len = b.len - 1;
  return b.p;
}

/* 0, or -1 with errno (EAGAIN on a full non-blocking descriptor is an error here: callers use blocking files). */
int write_all(int fd, const char *p, size_t n) {
  for (size_t off = 0; off < n;) {
    ssize_t w = write(fd, p + off, n - off);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return -1;
    if (w == 0) {
      errno = EIO;
      return -1;
    }
    off += (size_t)w;
  }
  return 0;
}

void close_quietly(int *fd) {
  if (*fd < 0) return;
  if (close(*fd) != 0 && errno != EINTR) warn("close(%d): %s", *fd, strerror(errno));
  *fd = -1;
}

/* ---- JSON output ---- */

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
 * Bytes to a JSON string as JSON.stringify escapes it, in one pass. Invalid UTF-8 becomes one U+FFFD per byte that
 * does not start a valid sequence, as Go's utf8.DecodeRune reads it, so that the text is what Docker's json-file
 * driver logs (a truncated sequence: a U+FFFD for each of its bytes). This once followed Node's decoder (one U+FFFD
 * per maximal subpart, WHATWG) to match the Node monitor byte for byte; that monitor is gone, and `docker logs` is
 * what users compare with. JsonLogWriter (src/runtime/json-log.ts) decodes the same way.
 */
void json_string_from_bytes(buf_t *b, const unsigned char *s, size_t n) {
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
      for (int k = 0; k <= seen; k++) utf8_put(b, 0xFFFD); /* the lead byte and each continuation taken so far */
      cp = 0, needed = 0, seen = 0, lower = 0x80, upper = 0xBF;
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
  for (int k = 0; needed && k <= seen; k++) utf8_put(b, 0xFFFD);
  buf_addc(b, '"');
}

void json_string(buf_t *b, const char *s) { json_string_from_bytes(b, (const unsigned char *)s, strlen(s)); }

/* ---- reading one field of a flat JSON object (runc's log lines, the attach frames' payloads) ---- */

typedef struct {
  const char *s, *end;
} scan_t;

static void skip_ws(scan_t *p) {
  while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r')) p->s++;
}

static int hex4(scan_t *p, uint32_t *out) {
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

/* A JSON string at p->s, decoded into `out` (NULL: skipped); -1 when it is malformed. */
static int scan_string(scan_t *p, buf_t *out) {
  if (p->s >= p->end || *p->s != '"') return -1;
  p->s++;
  while (p->s < p->end && *p->s != '"') {
    char c = *p->s++;
    if (c != '\\') {
      if (out) buf_addc(out, c);
      continue;
    }
    if (p->s >= p->end) return -1;
    char e = *p->s++;
    uint32_t cp;
    switch (e) {
    case '"': cp = '"'; break;
    case '\\': cp = '\\'; break;
    case '/': cp = '/'; break;
    case 'b': cp = '\b'; break;
    case 'f': cp = '\f'; break;
    case 'n': cp = '\n'; break;
    case 'r': cp = '\r'; break;
    case 't': cp = '\t'; break;
    case 'u':
      if (hex4(p, &cp)) return -1;
      if (cp >= 0xD800 && cp <= 0xDBFF && p->end - p->s >= 6 && p->s[0] == '\\' && p->s[1] == 'u') {
        scan_t q = {p->s + 2, p->end};
        uint32_t lo;
        if (!hex4(&q, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          p->s = q.s;
        }
      }
      if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
      break;
    default: return -1;
    }
    if (out) utf8_put(out, cp);
  }
  if (p->s >= p->end) return -1;
  p->s++;
  return 0;
}

/* Skips one value (nested objects and arrays included); -1 when it is malformed. */
static int scan_skip_value(scan_t *p) {
  skip_ws(p);
  if (p->s >= p->end) return -1;
  if (*p->s == '"') return scan_string(p, NULL);
  if (*p->s == '{' || *p->s == '[') {
    int depth = 0;
    while (p->s < p->end) {
      char c = *p->s;
      if (c == '"') {
        if (scan_string(p, NULL)) return -1;
        continue;
      }
      if (c == '{' || c == '[') depth++;
      else if (c == '}' || c == ']') {
        if (--depth == 0) {
          p->s++;
          return 0;
        }
      }
      p->s++;
    }
    return -1;
  }
  while (p->s < p->end && *p->s != ',' && *p->s != '}' && *p->s != ']') p->s++;
  return 0;
}

/* Moves p to the value of the top-level `key`; -1 when the object has no such key or is malformed. */
static int scan_to_field(scan_t *p, const char *key) {
  skip_ws(p);
  if (p->s >= p->end || *p->s != '{') return -1;
  p->s++;
  for (;;) {
    skip_ws(p);
    if (p->s < p->end && *p->s == '}') return -1;
    buf_t k = {0};
    if (scan_string(p, &k)) {
      buf_free(&k);
      return -1;
    }
    buf_addc(&k, '\0');
    int match = !strcmp(k.p, key);
    buf_free(&k);
    skip_ws(p);
    if (p->s >= p->end || *p->s != ':') return -1;
    p->s++;
    skip_ws(p);
    if (match) return 0;
    if (scan_skip_value(p)) return -1;
    skip_ws(p);
    if (p->s < p->end && *p->s == ',') {
      p->s++;
      continue;
    }
    return -1;
  }
}

char *json_field_string(const char *text, size_t n, const char *key) {
  scan_t p = {text, text + n};
  if (scan_to_field(&p, key)) return NULL;
  buf_t v = {0};
  if (scan_string(&p, &v)) {
    buf_free(&v);
    return NULL;
  }
  buf_addc(&v, '\0');
  return v.p;
}

long long json_field_int(const char *text, size_t n, const char *key, int *ok) {
  *ok = 0;
  scan_t p = {text, text + n};
  if (scan_to_field(&p, key)) return 0;
  char tmp[32];
  size_t k = 0;
  while (p.s < p.end && k < sizeof tmp - 1 && (*p.s == '-' || (*p.s >= '0' && *p.s <= '9'))) tmp[k++] = *p.s++;
  tmp[k] = '\0';
  skip_ws(&p);
  if (k == 0 || (p.s < p.end && *p.s != ',' && *p.s != '}')) return 0;
  char *endp;
  errno = 0;
  long long v = strtoll(tmp, &endp, 10);
  if (errno || *endp) return 0;
  *ok = 1;
  return v;
}
