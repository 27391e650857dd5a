/*
 * mount(2) and umount2(2) for overlay snapshots, called synchronously (each is a millisecond or two of kernel work).
 * Exec'ing mount(8)/umount(8) costs a fork and an exec per call instead; a container start mounts and unmounts its
 * rootfs several times, all on its critical path.
 *
 *   mount(source, target, fstype, flags, data)   throws an Error with .code = 'EINVAL' etc. and .errno
 *   umount(target, flags)                         flags: 2 = MNT_DETACH
 *   idmapBind(sources, targets, uidMap, gidMap)   an idmapped bind mount of each source on its target (user
 *                                                 namespaces: the image's layers shown shifted, never copied)
 *   holdUserns(uidMap, gidMap, target)            a new user namespace kept alive by a bind mount on `target`
 *   netnsInUserns(userns, target)                 a new network namespace owned by the user namespace at
 *                                                 `userns`, bind-mounted on `target` (replacing what is there)
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* Write all of `text` to the file `path` (a /proc/<pid>/{uid,gid}_map); 0 or an errno. */
static int write_file(const char* path, const char* text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  size_t len = strlen(text);
  ssize_t n = write(fd, text, len);
  int e = n == (ssize_t)len ? 0 : (n < 0 ? errno : EIO);
  close(fd);
  return e;
}

/*
 * A user namespace with the given maps, as an open fd: a child made with clone(CLONE_NEWUSER) that only waits on a
 * pipe (nothing but async-signal-safe calls in it: the Node process has threads), its maps written from here, its
 * namespace opened, then the child told to go and reaped. -errno on failure.
 */
/* The child of userns_fd_for: waits for the read end of its pipe to close. Shares our memory (CLONE_VM): only
 * async-signal-safe calls here. */
static int userns_child(void* arg) {
  const int* p = arg;
  char c;
  close(p[1]); /* its own copy of the write end: else it would never see EOF */
  while (read(p[0], &c, 1) < 0 && errno == EINTR) {}
  return 0;
}

static int userns_fd_for(const char* uid_map, const char* gid_map) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return -errno;
  /* CLONE_VM: no copy of this (large) process's page tables, which a fork would make; a small stack of its own. */
  size_t stack_size = 64 * 1024;
  char* stack = malloc(stack_size);
  if (!stack) {
    close(p[0]); close(p[1]);
    return -ENOMEM;
  }
  pid_t pid = clone(userns_child, stack + stack_size, CLONE_VM | CLONE_NEWUSER | SIGCHLD, p);
  if (pid < 0) {
    int e = errno;
    free(stack);
    close(p[0]); close(p[1]);
    return -e;
  }
  close(p[0]);
  char path[64];
  int e = 0, fd = -1;
  snprintf(path, sizeof path, "/proc/%d/uid_map", (int)pid);
  e = write_file(path, uid_map);
  if (!e) {
    snprintf(path, sizeof path, "/proc/%d/gid_map", (int)pid);
    e = write_file(path, gid_map);
  }
  if (!e) {
    snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) e = errno;
  }
  close(p[1]); /* the child reads EOF and exits */
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
  free(stack);
  return e ? -e : fd;
}

/* Bind-mount the namespace file `ns` (a /proc/self/fd/N or /proc/<pid>/ns/X path) on `target`; 0 or an errno. */
static int bind_ns(const char* ns, const char* target) {
  umount2(target, MNT_DETACH); /* a namespace already there (ip netns add's) is replaced */
  return mount(ns, target, NULL, MS_BIND, NULL) == 0 ? 0 : errno;
}

static napi_value do_hold_userns(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 3) {
    napi_throw_type_error(env, NULL, "holdUserns(uidMap, gidMap, target)");
    return NULL;
  }
  char *uid_map = string_arg(env, argv[0]), *gid_map = NULL, *target = NULL;
  if (!uid_map || !(gid_map = string_arg(env, argv[1])) || !(target = string_arg(env, argv[2]))) {
    free(uid_map); free(gid_map);
    return NULL;
  }
  int fd = userns_fd_for(uid_map, gid_map);
  free(uid_map); free(gid_map);
  if (fd < 0) {
    free(target);
    throw_errno(env, "user namespace", -fd);
    return NULL;
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  int e = bind_ns(path, target);
  close(fd);
  free(target);
  if (e) throw_errno(env, "mount of the user namespace", e);
  return NULL;
}

struct netns_child_args {
  int userns;
  int go[2];
  int done[2];
};

/* The child of netnsInUserns (CLONE_VM: async-signal-safe calls only): its own copies of the pipes' other ends closed,
 * into the user namespace, a new network namespace there, then it says so and waits to be let go. */
static int netns_child(void* arg) {
  const struct netns_child_args* a = arg;
  char c = 0;
  close(a->go[1]);
  close(a->done[0]);
  if (setns(a->userns, CLONE_NEWUSER) != 0 || unshare(CLONE_NEWNET) != 0) c = (char)errno;
  while (write(a->done[1], &c, 1) < 0 && errno == EINTR) {}
  while (read(a->go[0], &c, 1) < 0 && errno == EINTR) {}
  return 0;
}

/*
 * A child made here joins the user namespace and makes a network namespace there (so that namespace belongs to
 * the container's user namespace, and runc can join both, in its order, for `exec`); the parent bind-mounts it.
 */
static napi_value do_netns_in_userns(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2) {
    napi_throw_type_error(env, NULL, "netnsInUserns(userns, target)");
    return NULL;
  }
  char *userns = string_arg(env, argv[0]), *target = userns ? string_arg(env, argv[1]) : NULL;
  if (!userns || !target) {
    free(userns);
    return NULL;
  }
  int ufd = open(userns, O_RDONLY | O_CLOEXEC);
  int go[2] = {-1, -1}, done[2] = {-1, -1};
  int e = 0;
  if (ufd < 0 || pipe2(go, O_CLOEXEC) != 0 || pipe2(done, O_CLOEXEC) != 0) e = errno;
  size_t stack_size = 64 * 1024;
  char* stack = e ? NULL : malloc(stack_size);
  if (!e && !stack) e = ENOMEM;
  pid_t pid = -1;
  struct netns_child_args args = {ufd, {go[0], go[1]}, {done[0], done[1]}};
  if (!e) {
    pid = clone(netns_child, stack + stack_size, CLONE_VM | SIGCHLD, &args);
    if (pid < 0) e = errno;
  }
  if (pid > 0) {
    close(go[0]); go[0] = -1;
    close(done[1]); done[1] = -1;
    char c = 0;
    ssize_t n;
    while ((n = read(done[0], &c, 1)) < 0 && errno == EINTR) {}
    if (n != 1) e = EIO;
    else if (c) e = (unsigned char)c;
    else {
      char path[64];
      snprintf(path, sizeof path, "/proc/%d/ns/net", (int)pid);
      e = bind_ns(path, target);
    }
    close(go[1]); go[1] = -1; /* the child reads EOF and exits */
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
  }
  free(stack);
  for (int i = 0; i < 2; i++) {
    if (go[i] >= 0) close(go[i]);
    if (done[i] >= 0) close(done[i]);
  }
  if (ufd >= 0) close(ufd);
  free(userns); free(target);
  if (e) throw_errno(env, "network namespace in the user namespace", e);
  return NULL;
}

/* An idmapped clone of `source` attached at `target`; 0 or an errno (`*what` names the failing call). */
static int idmap_one(const char* source, const char* target, int userns, const char** what) {
  *what = "open_tree";
  int fd = (int)syscall(SYS_open_tree, AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (fd < 0) return errno;
  struct mount_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.attr_set = MOUNT_ATTR_IDMAP;
  attr.userns_fd = (unsigned long long)userns;
  int e = 0;
  *what = "mount_setattr";
  if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH, &attr, sizeof attr) != 0) e = errno;
  if (!e) {
    *what = "move_mount";
    if (syscall(SYS_move_mount, fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) != 0) e = errno;
  }
  close(fd);
  return e;
}

static napi_value do_idmap_bind(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  uint32_t n = 0, n2 = 0;
  if (argc < 4 || napi_get_array_length(env, argv[0], &n) != napi_ok ||
      napi_get_array_length(env, argv[1], &n2) != napi_ok || n != n2) {
    napi_throw_type_error(env, NULL, "idmapBind(sources[], targets[], uidMap, gidMap)");
    return NULL;
  }
  char *uid_map = string_arg(env, argv[2]), *gid_map = uid_map ? string_arg(env, argv[3]) : NULL;
  if (!uid_map || !gid_map) {
    free(uid_map);
    return NULL;
  }
  int userns = userns_fd_for(uid_map, gid_map);
  free(uid_map); free(gid_map);
  if (userns < 0) {
    throw_errno(env, "user namespace for an idmapped mount", -userns);
    return NULL;
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value sv, tv;
    napi_get_element(env, argv[0], i, &sv);
    napi_get_element(env, argv[1], i, &tv);
    char *source = string_arg(env, sv), *target = source ? string_arg(env, tv) : NULL;
    if (!source || !target) {
      free(source);
      close(userns);
      return NULL;
    }
    const char* what = "";
    int e = idmap_one(source, target, userns, &what);
    free(source); free(target);
    if (e) {
      close(userns);
      throw_errno(env, what, e);
      return NULL;
    }
  }
  close(userns);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "mount", NAPI_AUTO_LENGTH, do_mount, NULL, &fn);
  napi_set_named_property(env, exports, "mount", fn);
  napi_create_function(env, "umount", NAPI_AUTO_LENGTH, do_umount, NULL, &fn);
  napi_set_named_property(env, exports, "umount", fn);
  napi_create_function(env, "idmapBind", NAPI_AUTO_LENGTH, do_idmap_bind, NULL, &fn);
  napi_set_named_property(env, exports, "idmapBind", fn);
  napi_create_function(env, "holdUserns", NAPI_AUTO_LENGTH, do_hold_userns, NULL, &fn);
  napi_set_named_property(env, exports, "holdUserns", fn);
  napi_create_function(env, "netnsInUserns", NAPI_AUTO_LENGTH, do_netns_in_userns, NULL, &fn);
  napi_set_named_property(env, exports, "netnsInUserns", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
