/*
 * libFuzzer harness for the monitor's config reader (native/monitor/config.c), built with
 * -fsanitize=fuzzer,address,undefined by test/fuzz/monitor-config.test.ts (a bounded run in `npm test`) and
 * scripts/fuzz.sh (a long one). config.c is linked alone: this file supplies the three helpers it calls, with die()
 * returning here through longjmp instead of exiting (a refused config is an answer, not a finding), and read_file()
 * handing it the fuzzer's bytes. What counts is what the sanitizers see: an out-of-bounds read or write, undefined
 * behaviour, a leak of the parser's own.
 */
#include "monitor.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static jmp_buf refused;
static const uint8_t *input;
static size_t input_len;
static char *text; /* what config_load parses (it keeps pointers into it, as the monitor does for its life) */

void die(const char *fmt, ...) {
  (void)fmt;
  longjmp(refused, 1);
}

void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) abort();
  return q;
}

/* As util.c's: the whole file, NUL-terminated, its length without the NUL. */
char *read_file(const char *path, size_t *len) {
  (void)path;
  text = malloc(input_len + 1);
  if (!text) abort();
  memcpy(text, input, input_len);
  text[input_len] = '\0';
  *len = input_len;
  return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static struct config defaults;
  static int saved;
  if (!saved) defaults = cfg, saved = 1;
  input = data;
  input_len = size;
  text = NULL;
  if (setjmp(refused) == 0) config_load("fuzz-input");
  /* The next input starts from the defaults again, as a new monitor would. */
  free(cfg.health_cmd);
  free(cfg.cleanup);
  free(cfg.release_links);
  free(text);
  cfg = defaults;
  return 0;
}
