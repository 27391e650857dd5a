/*
 * Attack probe for the security battery (test/security/): the system calls of the attacks that busybox has no applet
 * for, made from inside a container. `attack-probe NAME [ARG]` makes one attempt and prints "NAME=RESULT", RESULT "0"
 * when the kernel let it through or the errno's name. Built static by the test (cc -static), so it runs on busybox.
 * Every attempt is chosen so that it would be harmless had it worked: the time is set to the time it already is, the
 * reboot command only turns Ctrl-Alt-Del off, the module image is empty.
 * `swap` is the container side of the `cp` race (see swap_loop).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/reboot.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int report(const char *name, long rc) {
  const char *e = "0";
  if (rc < 0) {
    switch (errno) {
    case EPERM: e = "EPERM"; break;
    case EACCES: e = "EACCES"; break;
    case ENOSYS: e = "ENOSYS"; break;
    case EINVAL: e = "EINVAL"; break;
    case ESRCH: e = "ESRCH"; break;
    case EROFS: e = "EROFS"; break;
    case EBADF: e = "EBADF"; break;
    case EFAULT: e = "EFAULT"; break;
    case ENOENT: e = "ENOENT"; break;
    case ESTALE: e = "ESTALE"; break;
    default: e = strerror(errno);
    }
  }
  printf("%s=%s\n", name, e);
  return 0;
}

/* After unshare(CLONE_NEWUSER) a process holds every capability inside the new namespace: try to use them. */
static long userns_then_mount(void) {
  if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) return -1;
  return mount("none", "/tmp", "tmpfs", 0, NULL);
}

/* "Shocker" (2014): open a host inode by a forged file handle; needs CAP_DAC_READ_SEARCH, which no container has. */
static long open_by_forged_handle(void) {
  struct {
    struct file_handle h;
    unsigned char bytes[8];
  } fh = {.h = {.handle_bytes = 8, .handle_type = 1}};
  unsigned int root_inode = 2; /* the root directory of an ext4 file system */
  memcpy(fh.h.f_handle, &root_inode, sizeof root_inode);
  int mount_fd = open("/", O_RDONLY | O_DIRECTORY);
  return syscall(SYS_open_by_handle_at, mount_fd, &fh.h, O_RDONLY);
}

/*
 * The CVE-2018-15664 attacker: exchanges a directory and a symlink to a host path (renameat2 RENAME_EXCHANGE, atomic)
 * as fast as it can, `rounds` times (bounded) or until /tmp/stop-swapping appears, so that an engine that resolves a
 * path in the container and then uses it by name meets the symlink in between.
 */
static int swap_loop(const char *a, const char *b, long rounds) {
  long i = 0;
  for (; i < rounds; i++) {
    if (syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, 2 /* RENAME_EXCHANGE */) < 0) return report("swap", -1);
    if (i % 1024 == 0 && access("/tmp/stop-swapping", F_OK) == 0) break;
  }
  printf("swapped=%ld\n", i);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  const char *what = argv[1];
  const char *arg = argc > 2 ? argv[2] : "";
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  if (!strcmp(what, "mount")) return report(what, mount("none", "/tmp", "tmpfs", 0, NULL));
  if (!strcmp(what, "userns_mount")) return report(what, userns_then_mount());
  if (!strcmp(what, "keyctl")) return report(what, syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -3, 1 /* create */));
  if (!strcmp(what, "ptrace_attach")) return report(what, ptrace(PTRACE_ATTACH, (pid_t)atoi(arg), NULL, NULL));
  if (!strcmp(what, "init_module")) return report(what, syscall(SYS_init_module, "", 0UL, ""));
  if (!strcmp(what, "finit_module")) return report(what, syscall(SYS_finit_module, open("/bin/busybox", O_RDONLY), "", 0));
  if (!strcmp(what, "clock_settime")) return report(what, clock_settime(CLOCK_REALTIME, &now));
  if (!strcmp(what, "settimeofday")) {
    struct timeval tv = {.tv_sec = now.tv_sec, .tv_usec = now.tv_nsec / 1000};
    return report(what, settimeofday(&tv, NULL));
  }
  if (!strcmp(what, "reboot"))
    return report(what, syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_CAD_OFF, 0));
  if (!strcmp(what, "open_by_handle_at")) return report(what, open_by_forged_handle());
  if (!strcmp(what, "swap")) return swap_loop(argv[2], argv[3], atol(argv[4]));
  if (!strcmp(what, "euid")) return printf("euid=%d\n", (int)geteuid()), 0;
  fprintf(stderr, "attack-probe: unknown attack %s\n", what);
  return 2;
}
