/*
 * The container's events in the root's event log (docs/events.md): one JSON line per event, Docker's /events
 * message, appended with ONE write(2) on an O_APPEND descriptor opened for that event only, so that the lines of
 * concurrent writers (CLIs, other monitors) never interleave and a rotation (done by the Node writers, which rename
 * the file) never leaves this process writing to the old one. Best effort: a failed append costs the event only.
 */
#include "monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EVENT_LINE_MAX 4096 /* src/events/codec.ts MAX_EVENT_LINE: a longer line drops the container's labels */

static void event_line(buf_t *b, const char *action, const char *extra, int with_labels, const char *name,
                       const struct timespec *ts) {
  buf_clear(b);
  buf_adds(b, "{\"status\":");
  json_string(b, action);
  buf_adds(b, ",\"id\":");
  json_string(b, cfg.id);
  if (cfg.event_image && *cfg.event_image) {
    buf_adds(b, ",\"from\":");
    json_string(b, cfg.event_image);
  }
  buf_adds(b, ",\"Type\":\"container\",\"Action\":");
  json_string(b, action);
  buf_adds(b, ",\"Actor\":{\"ID\":");
  json_string(b, cfg.id);
  buf_adds(b, ",\"Attributes\":{");
  /* As moby: the action's attributes, then the labels, then image and name (a later key wins). */
  int first = 1;
  if (extra && *extra) buf_adds(b, extra), first = 0;
  if (with_labels && cfg.event_attrs && *cfg.event_attrs) {
    if (!first) buf_addc(b, ',');
    buf_adds(b, cfg.event_attrs);
    first = 0;
  }
  if (cfg.event_image && *cfg.event_image) {
    buf_adds(b, first ? "\"image\":" : ",\"image\":");
    json_string(b, cfg.event_image);
    first = 0;
  }
  if (name && *name) {
    buf_adds(b, first ? "\"name\":" : ",\"name\":");
    json_string(b, name);
  }
  buf_printf(b, "}},\"scope\":\"local\",\"time\":%lld,\"timeNano\":%lld}\n", (long long)ts->tv_sec,
             (long long)ts->tv_sec * 1000000000LL + ts->tv_nsec);
}

/*
 * `start` comes from here rather than from the process that asked for the start: only the monitor can put it
 * before the die of a container that exits at once (both are its own appends, in order).
 */
static int start_emitted;
void event_start(void) {
  if (start_emitted) return;
  start_emitted = 1;
  event_emit("start", NULL);
}

void event_emit(const char *action, const char *extra_attrs_json) {
  if (!cfg.events_path || !*cfg.events_path) return;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  /* The current name: a rename since the start replaced the file. */
  char *renamed = cfg.event_name_file ? read_file(cfg.event_name_file, NULL) : NULL;
  if (renamed && (!*renamed || strlen(renamed) > 512)) {
    free(renamed);
    renamed = NULL;
  }
  const char *name = renamed ? renamed : cfg.event_name;
  buf_t b = {0};
  event_line(&b, action, extra_attrs_json, 1, name, &ts);
  if (b.len >= EVENT_LINE_MAX) event_line(&b, action, extra_attrs_json, 0, name, &ts);
  free(renamed);
  int fd = open(cfg.events_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    warn("event %s: cannot open %s: %s", action, cfg.events_path, strerror(errno));
  } else {
    ssize_t n;
    do n = write(fd, b.p, b.len);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)b.len) warn("event %s: cannot append to %s", action, cfg.events_path);
    close(fd);
  }
  buf_free(&b);
}
