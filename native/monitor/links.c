/*
 * The container's host-side network links (the host ends of its veth pairs, by interface index: config key
 * release_link), deleted as soon as the container is gone for good. Deleting a veth is quick to see (the pair leaves
 * the bridge and every listing within a millisecond or so) but the request returns only after an RCU barrier in the
 * kernel, 15-40 ms here; whichever process sends it waits that long, and cannot exit before. A child forked here
 * sends the requests and exits, so neither the monitor nor the client it hands the teardown to waits for the barrier:
 * the client's own deletion (src/network/native-endpoint.ts) then finds the links gone, or, when this child was
 * slower, deletes them itself as before. Nothing depends on this child: it only saves the client the wait.
 * By index, not by name: the kernel hands out interface indexes cyclically (not again before 2^31 more), whereas the
 * name, made from the container's ID, comes back with its next start, which a slow child must not delete.
 */
#include "monitor.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static void delete_links(void) {
  /* Nothing of the monitor's (its socket, the notification pipe, clients' connections) stays open in this child:
     a client waits for their end of file. */
#ifdef SYS_close_range
  if (syscall(SYS_close_range, 3U, ~0U, 0U) != 0)
#endif
    for (int fd = 3; fd < 1024; fd++) close(fd);
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) _exit(1);
  for (int i = 0; i < cfg.nrelease_links; i++) {
    struct {
      struct nlmsghdr h;
      struct ifinfomsg ifi;
    } req;
    memset(&req, 0, sizeof req);
    req.h.nlmsg_len = sizeof req;
    req.h.nlmsg_type = RTM_DELLINK;
    req.h.nlmsg_flags = NLM_F_REQUEST; /* no ACK: the kernel handles the request within send(), and a link already
                                          gone (ENODEV) is what was wanted */
    req.ifi.ifi_family = AF_UNSPEC;
    req.ifi.ifi_index = cfg.release_links[i];
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    while (sendto(fd, &req, sizeof req, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0 && errno == EINTR) {
    }
  }
  _exit(0);
}

void release_links(void) {
  if (cfg.nrelease_links <= 0) return;
  pid_t pid = fork(); /* reaped with the monitor's other children (process.c), or by init once the monitor is gone */
  if (pid == 0) delete_links();
  if (pid < 0) warn("cannot fork to release the network links: %s", strerror(errno));
}
