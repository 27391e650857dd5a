/*
 * mount(2) and umount2(2) for overlay snapshots, called synchronously (each is a millisecond or two of kernel work).
 * Exec'ing mount(8)/umount(8) costs a fork and an exec per call instead; a container start mounts and unmounts its
 * rootfs several times, all on its critical path.
 *
 *   mount(source, target, fstype, flags, data)   throws an Error with .code = 'EINVAL' etc. and .errno
 *   umount(target, flags)                         flags: 2 = MNT_DETACH
 */
#define NAPI_VERSION 8
#include <node_api.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "napi_errno.h"


/* A string argument as a malloc'ed C string (NULL with a pending exception on a type error). */
static char* string_arg(napi_env env, napi_value v) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected a string");
    return NULL;
  }
  char* s = malloc(len + 1);
  if (!s) return NULL;
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

static napi_value do_mount(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 5) {
    napi_throw_type_error(env, NULL, "mount(source, target, fstype, flags, data)");
    return NULL;
  }
  char *source = NULL, *target = NULL, *fstype = NULL, *data = NULL;
  int64_t flags = 0;
  if (!(source = string_arg(env, argv[0])) || !(target = string_arg(env, argv[1])) || !(fstype = string_arg(env, argv[2])) ||
      napi_get_value_int64(env, argv[3], &flags) != napi_ok || !(data = string_arg(env, argv[4]))) {
    free(source); free(target); free(fstype); free(data);
    return NULL;
  }
  int rc = mount(source, target, fstype, (unsigned long)flags, data);
  int e = errno;
  free(source); free(target); free(fstype); free(data);
  if (rc != 0) throw_errno(env, "mount", e);
  return NULL;
}

static napi_value do_umount(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2) {
    napi_throw_type_error(env, NULL, "umount(target, flags)");
    return NULL;
  }
  char* target = string_arg(env, argv[0]);
  int32_t flags = 0;
  if (!target || napi_get_value_int32(env, argv[1], &flags) != napi_ok) {
    free(target);
    return NULL;
  }
  int rc = umount2(target, flags);
  int e = errno;
  free(target);
  if (rc != 0) throw_errno(env, "umount", e);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "mount", NAPI_AUTO_LENGTH, do_mount, NULL, &fn);
  napi_set_named_property(env, exports, "mount", fn);
  napi_create_function(env, "umount", NAPI_AUTO_LENGTH, do_umount, NULL, &fn);
  napi_set_named_property(env, exports, "umount", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
