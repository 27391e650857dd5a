/*
 * Starting the container monitor (build/Release/wharf-monitor) from src/runtime/monitor.ts.
 * Why native: node:child_process costs ~2.5 ms to load and libuv forks the whole Node process (~3 ms of page-table
 * copying here) where posix_spawn vforks; both were on the critical path of every `run`, and a `run` spawns nothing
 * else itself (the monitor spawns runc).
 *
 *   spawnMonitor(file, args)   posix_spawn `file args...` in a new session, cwd /, stdin, stdout and stderr
 *                              /dev/null, fd 3 the write end of a pipe (the monitor's state notifications, see
 *                              the config's notify_fd), default signal dispositions; returns [pid, fd of the
 *                              notification pipe's read end] (close-on-exec). Throws an Error with .code on failure.
 *   exited(pid)                true once that child has exited (it is reaped then) or is not a child of ours.
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "napi_errno.h"

extern char **environ;


static char *string_value(napi_env env, napi_value v) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
  char *s = malloc(len + 1);
  if (s) napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

static napi_value spawn_monitor(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  bool is_array = false;
  if (argc < 2 || napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array) {
    napi_throw_type_error(env, NULL, "spawnMonitor(file, args)");
    return NULL;
  }
  uint32_t n = 0;
  napi_get_array_length(env, argv[1], &n);
  char **args = calloc((size_t)n + 2, sizeof *args);
  char *file = string_value(env, argv[0]);
  napi_value result = NULL;
  int nfds[2] = {-1, -1};
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  if (!args || !file) {
    napi_throw_type_error(env, NULL, "spawnMonitor: file must be a string");
    goto out;
  }
  args[0] = file;
  for (uint32_t i = 0; i < n; i++) {
    napi_value el;
    napi_get_element(env, argv[1], i, &el);
    args[i + 1] = string_value(env, el);
    if (!args[i + 1]) {
      napi_throw_type_error(env, NULL, "spawnMonitor: args must be strings");
      goto out;
    }
  }
  if (pipe2(nfds, O_CLOEXEC) != 0) {
    throw_errno(env, "pipe2", errno);
    goto out;
  }
  int fa_err = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (!fa_err) fa_err = posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  if (!fa_err) fa_err = posix_spawn_file_actions_adddup2(&fa, 1, 2);
  if (!fa_err) fa_err = posix_spawn_file_actions_adddup2(&fa, nfds[1], 3);
#if defined(__GLIBC__) && __GLIBC_PREREQ(2, 29)
  if (!fa_err) fa_err = posix_spawn_file_actions_addchdir_np(&fa, "/"); /* not where the CLI runs: it keeps no mount busy */
#endif
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  if (!fa_err) fa_err = posix_spawnattr_setsigdefault(&attr, &all); /* Node ignores SIGPIPE: the child must not inherit that */
  if (!fa_err) fa_err = posix_spawnattr_setsigmask(&attr, &none);
  if (!fa_err) fa_err = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  pid_t pid;
  int e = fa_err ? fa_err : posix_spawn(&pid, file, &fa, &attr, args, environ);
  close(nfds[1]);
  if (e != 0) {
    close(nfds[0]);
    throw_errno(env, file, e);
    goto out;
  }
  napi_value jpid, jnfd;
  napi_create_array_with_length(env, 2, &result);
  napi_create_int32(env, pid, &jpid);
  napi_create_int32(env, nfds[0], &jnfd);
  napi_set_element(env, result, 0, jpid);
  napi_set_element(env, result, 1, jnfd);
out:
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (args)
    for (uint32_t i = 1; i <= n; i++) free(args[i]);
  free(args);
  free(file);
  return result;
}

static napi_value exited(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t pid = 0;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &pid) != napi_ok || pid <= 0) {
    napi_throw_type_error(env, NULL, "exited(pid)");
    return NULL;
  }
  int status;
  pid_t r = waitpid(pid, &status, WNOHANG);
  napi_value out;
  napi_get_boolean(env, r == pid || (r < 0 && errno == ECHILD), &out);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "spawnMonitor", NAPI_AUTO_LENGTH, spawn_monitor, NULL, &fn);
  napi_set_named_property(env, exports, "spawnMonitor", fn);
  napi_create_function(env, "exited", NAPI_AUTO_LENGTH, exited, NULL, &fn);
  napi_set_named_property(env, exports, "exited", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
