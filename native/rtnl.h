/*
 * rtnetlink plumbing for native/netlink.c: building requests (attributes, nested ones), a NETLINK_ROUTE socket in
 * this or another network namespace (the latter opened by a short-lived pthread that setns()es: see netlink.c),
 * one request's round trip, a link's index by name, and parsing MACs and CIDRs. No N-API here.
 * Every function returns 0 / a value or -errno.
 */
#ifndef WHARF_RTNL_H
#define WHARF_RTNL_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MSG_BUF 4096

struct req {
  struct nlmsghdr *h;
  char buf[MSG_BUF];
};

static struct nlmsghdr *req_init(struct req *r, int type, int flags) {
  memset(r->buf, 0, sizeof r->buf);
  r->h = (struct nlmsghdr *)r->buf;
  r->h->nlmsg_len = NLMSG_LENGTH(0);
  r->h->nlmsg_type = type;
  r->h->nlmsg_flags = NLM_F_REQUEST | flags;
  return r->h;
}

/* Reserve `len` bytes of payload at the end of the message (aligned); NULL if it would not fit. */
static void *req_put(struct req *r, size_t len) {
  size_t at = NLMSG_ALIGN(r->h->nlmsg_len);
  if (at + NLMSG_ALIGN(len) > sizeof r->buf) return NULL;
  r->h->nlmsg_len = at + NLMSG_ALIGN(len);
  return r->buf + at;
}

static struct rtattr *attr_put(struct req *r, int type, const void *data, size_t len) {
  struct rtattr *a = req_put(r, RTA_LENGTH(len));
  if (!a) return NULL;
  a->rta_type = type;
  a->rta_len = RTA_LENGTH(len);
  if (len) memcpy(RTA_DATA(a), data, len);
  return a;
}

/* A nested attribute: open it, put its children, close it (fixes its length). */
static struct rtattr *nest_open(struct req *r, int type) { return attr_put(r, type, NULL, 0); }
static void nest_close(struct req *r, struct rtattr *a) {
  a->rta_len = (unsigned short)((char *)r->buf + r->h->nlmsg_len - (char *)a);
}

/* A socket for NETLINK_ROUTE in the caller's namespace. -errno on failure. */
static int rtnl_socket_here(void) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return -errno;
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}

struct ns_job {
  int nsfd;
  int result; /* the socket, or -errno */
  int op;     /* 0: open a netlink socket there; 1: unshare a new namespace and bind-mount it on path */
  const char *path;
};

/*
 * Runs on its own pthread: setns(2) changes only the calling thread's network namespace, and the thread ends right
 * after, so neither Node's main thread nor libuv's pool ever runs in another namespace.
 */
static void *ns_thread(void *arg) {
  struct ns_job *j = arg;
  if (j->op == 0) {
    if (setns(j->nsfd, CLONE_NEWNET) != 0) {
      j->result = -errno;
      return NULL;
    }
    j->result = rtnl_socket_here();
    return NULL;
  }
  if (unshare(CLONE_NEWNET) != 0) {
    j->result = -errno;
    return NULL;
  }
  char self[64];
  snprintf(self, sizeof self, "/proc/self/task/%ld/ns/net", (long)syscall(SYS_gettid));
  j->result = mount(self, j->path, "none", MS_BIND, NULL) == 0 ? 0 : -errno;
  /* A namespace the thread alone holds goes away with it, unless the bind mount above now holds it too. */
  return NULL;
}

static int run_ns_job(struct ns_job *j) {
  pthread_t t;
  int rc = pthread_create(&t, NULL, ns_thread, j);
  if (rc != 0) return -rc;
  rc = pthread_join(t, NULL);
  if (rc != 0) return -rc;
  return j->result;
}

/* A netlink socket in namespace `netns` ("" = ours). -errno on failure. */
static int rtnl_socket(const char *netns) {
  if (!netns || !*netns) return rtnl_socket_here();
  int nsfd = open(netns, O_RDONLY | O_CLOEXEC);
  if (nsfd < 0) return -errno;
  struct ns_job j = {.nsfd = nsfd, .result = -EINVAL, .op = 0, .path = NULL};
  int rc = run_ns_job(&j);
  close(nsfd);
  return rc;
}

/*
 * Send one request and read until its ack (or, for a GET, its reply, copied into `reply` when given).
 * 0 or -errno (the kernel's error for the request).
 */
static int rtnl_talk(int fd, struct req *r, char *reply, size_t reply_len) {
  static unsigned seq_counter = 0; /* linkDelAsync runs on the thread pool: atomic */
  r->h->nlmsg_seq = __atomic_add_fetch(&seq_counter, 1, __ATOMIC_RELAXED);
  struct sockaddr_nl to = {.nl_family = AF_NETLINK};
  ssize_t n;
  do n = sendto(fd, r->buf, r->h->nlmsg_len, 0, (struct sockaddr *)&to, sizeof to);
  while (n < 0 && errno == EINTR);
  if (n < 0) return -errno;
  char buf[16384];
  for (;;) {
    do n = recv(fd, buf, sizeof buf, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) return -errno;
    if (n == 0) return -EIO;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_seq != r->h->nlmsg_seq) continue;
      if (h->nlmsg_type == NLMSG_ERROR) {
        struct nlmsgerr *e = NLMSG_DATA(h);
        return e->error; /* 0 for an ack */
      }
      if (reply && h->nlmsg_len <= reply_len) {
        memcpy(reply, h, h->nlmsg_len);
        return 0;
      }
      if (reply) return -EMSGSIZE;
    }
  }
}

/* A link's index by name over socket fd (its namespace's); -ENODEV if there is none. */
static int link_index(int fd, const char *name, char *reply, size_t reply_len) {
  struct req r;
  req_init(&r, RTM_GETLINK, 0);
  struct ifinfomsg *ifi = req_put(&r, sizeof *ifi);
  ifi->ifi_family = AF_UNSPEC;
  if (!attr_put(&r, IFLA_IFNAME, name, strlen(name) + 1)) return -ENAMETOOLONG;
  char local[8192];
  if (!reply) {
    reply = local;
    reply_len = sizeof local;
  }
  int rc = rtnl_talk(fd, &r, reply, reply_len);
  if (rc < 0) return rc;
  struct nlmsghdr *h = (struct nlmsghdr *)reply;
  if (h->nlmsg_type != RTM_NEWLINK) return -EIO;
  return ((struct ifinfomsg *)NLMSG_DATA(h))->ifi_index;
}

/* "aa:bb:cc:dd:ee:ff" into 6 bytes; false if malformed. */
static bool parse_mac(const char *s, unsigned char out[6]) {
  unsigned v[6];
  char end;
  if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &end) != 6) return false;
  for (int i = 0; i < 6; i++) out[i] = (unsigned char)v[i];
  return true;
}

/* "10.1.2.3/24" or "fd00::1/64" (prefix optional: full length). */
struct cidr {
  int family;
  unsigned char addr[16];
  int len;    /* bytes of addr */
  int prefix; /* bits */
};

static bool parse_cidr(const char *s, struct cidr *c) {
  char ip[INET6_ADDRSTRLEN + 1];
  const char *slash = strchr(s, '/');
  size_t n = slash ? (size_t)(slash - s) : strlen(s);
  if (n == 0 || n >= sizeof ip) return false;
  memcpy(ip, s, n);
  ip[n] = 0;
  if (inet_pton(AF_INET, ip, c->addr) == 1) {
    c->family = AF_INET;
    c->len = 4;
  } else if (inet_pton(AF_INET6, ip, c->addr) == 1) {
    c->family = AF_INET6;
    c->len = 16;
  } else {
    return false;
  }
  c->prefix = c->len * 8;
  if (slash) {
    char *end;
    long p = strtol(slash + 1, &end, 10);
    if (*end || end == slash + 1 || p < 0 || p > c->len * 8) return false;
    c->prefix = (int)p;
  }
  return true;
}

#endif
