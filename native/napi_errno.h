/* Throwing an errno as a Node-style Error (.code "ENOENT", .errno -2) from an addon. */
#ifndef WHARF_NAPI_ERRNO_H
#define WHARF_NAPI_ERRNO_H
#include <node_api.h>
#include <stdio.h>
#include <string.h>
#include "errno_name.h"

static void throw_errno(napi_env env, const char *what, int e) {
  napi_value msg, code, err, num;
  char text[256];
  snprintf(text, sizeof text, "%s: %s", what, strerror(e));
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
  napi_create_string_utf8(env, errno_name_or(e, "EIO"), NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, msg, &err);
  napi_create_int32(env, -e, &num);
  napi_set_named_property(env, err, "errno", num);
  napi_throw(env, err);
}
#endif
