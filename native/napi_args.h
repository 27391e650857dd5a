/* Checked N-API arguments for the netlink addon: each helper throws a TypeError (or the errno) and returns false/NULL,
 * so that a function returns at the first bad argument. Apart from netlink.c to keep that file to its one job. */
#ifndef WHARF_NAPI_ARGS_H
#define WHARF_NAPI_ARGS_H
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "napi_errno.h"

#define MAX_STR 4096

/* A string argument into buf; false with a pending TypeError otherwise. */
static bool str_arg(napi_env env, napi_value v, char *buf, size_t size, const char *what) {
  size_t len = 0;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_string ||
      napi_get_value_string_utf8(env, v, buf, size, &len) != napi_ok || len >= size - 1) {
    napi_throw_type_error(env, NULL, what);
    return false;
  }
  return true;
}

static bool int_arg(napi_env env, napi_value v, int32_t *out, const char *what) {
  if (napi_get_value_int32(env, v, out) != napi_ok) {
    napi_throw_type_error(env, NULL, what);
    return false;
  }
  return true;
}

static bool args(napi_env env, napi_callback_info info, size_t want, napi_value *argv, const char *usage) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    napi_throw_type_error(env, NULL, usage);
    return false;
  }
  return true;
}

static napi_value js_bool(napi_env env, bool b) {
  napi_value v;
  napi_get_boolean(env, b, &v);
  return v;
}

/* Throw "what NAME: strerror" with the errno's code; returns NULL for the caller to return. */
static napi_value fail(napi_env env, const char *what, const char *name, int neg_errno) {
  char text[300];
  snprintf(text, sizeof text, "%s %s", what, name);
  throw_errno(env, text, -neg_errno);
  return NULL;
}

#endif
