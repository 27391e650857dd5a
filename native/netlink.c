/*
 * rtnetlink for Wharf's own bridge network (src/network/netlink.ts): the links, addresses and routes a container's
 * interface needs, and named network namespaces, without exec'ing ip(8) or the CNI plugins. Each CNI plugin is a Go
 * binary that costs 20-40 ms to start; the same work over netlink is a few hundred microseconds.
 *
 * Every function is synchronous (a handful of netlink round trips to the kernel). `netns` is the path of a network
 * namespace (/var/run/netns/NAME) or "" for the caller's own. Work inside another namespace goes through a netlink
 * socket opened there: a short-lived pthread joins the namespace with setns(2), opens the socket and exits. A socket
 * stays bound to the namespace it was created in, so no thread of Node ever changes namespace for more than that.
 *
 *   bridgeAdd(name, mtu)                          true if created, false if a link of that name exists
 *   vethAdd(hostName, peerName, netns, mac, mtu)  a veth pair, the peer created directly inside netns (no move, no
 *                                                 rename); mac "" = the kernel's random one; mtu 0 = default
 *   linkUp(netns, name)
 *   linkSetMaster(name, master, hairpin)          enslave to a bridge (in the caller's namespace), hairpin mode on
 *   linkDel(netns, name)                          true if deleted, false if there was no such link
 *   linkDelAsync(netns, name)                     the same on the thread pool, a Promise (a veth's deletion waits
 *                                                 for RCU grace periods: tens of milliseconds)
 *   linkGet(netns, name)                          {index, mtu, mac, up, master} or null
 *   addrAdd(netns, name, cidr, mayExist)          "10.0.0.2/24" or "fd00::2/64" (IPv6 without DAD); true if added,
 *                                                 false if it was there and mayExist (else EEXIST throws)
 *   routeAdd(netns, dst, gateway, name)           dst "0.0.0.0/0" / "::/0" via gateway out of `name`
 *   linkConfigure(netns, name, cidrs, gateways)   addresses, `name` and lo up, default routes, over one socket in
 *                                                 netns; returns `name`'s MAC
 *   netnsCreate(path)                             a new namespace bind-mounted on path (the file is created)
 *   netnsDelete(path)                             unmount and remove; false if path did not exist
 *   flockAsync(path, timeoutMs), flockRelease(fd) the host-wide port lock (see there)
 * Errors are thrown as Error with .code ("EEXIST", ...) and .errno, as napi_errno.h does.
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "napi_errno.h"
#include "rtnl.h"
#include "napi_args.h"

#ifndef IFLA_BRPORT_MODE
#define IFLA_BRPORT_MODE 4
#endif

/* ---- the functions ---- */

static napi_value bridge_add(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  char name[IFNAMSIZ + 1];
  int32_t mtu = 0;
  if (!args(env, info, 2, argv, "bridgeAdd(name, mtu)") || !str_arg(env, argv[0], name, sizeof name, "bridge name") ||
      !int_arg(env, argv[1], &mtu, "mtu"))
    return NULL;
  int fd = rtnl_socket("");
  if (fd < 0) return fail(env, "netlink socket for", name, fd);
  struct req r;
  req_init(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
  struct ifinfomsg *ifi = req_put(&r, sizeof *ifi);
  ifi->ifi_family = AF_UNSPEC;
  attr_put(&r, IFLA_IFNAME, name, strlen(name) + 1);
  if (mtu > 0) attr_put(&r, IFLA_MTU, &mtu, sizeof mtu);
  struct rtattr *li = nest_open(&r, IFLA_LINKINFO);
  attr_put(&r, IFLA_INFO_KIND, "bridge", 6);
  nest_close(&r, li);
  int rc = rtnl_talk(fd, &r, NULL, 0);
  close(fd);
  if (rc == -EEXIST) return js_bool(env, false);
  if (rc < 0) return fail(env, "create bridge", name, rc);
  return js_bool(env, true);
}

static napi_value veth_add(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  char host[IFNAMSIZ + 1], peer[IFNAMSIZ + 1], netns[MAX_STR], mac_s[64];
  int32_t mtu = 0;
  if (!args(env, info, 5, argv, "vethAdd(hostName, peerName, netns, mac, mtu)") ||
      !str_arg(env, argv[0], host, sizeof host, "host interface name") ||
      !str_arg(env, argv[1], peer, sizeof peer, "peer interface name") ||
      !str_arg(env, argv[2], netns, sizeof netns, "netns path") || !str_arg(env, argv[3], mac_s, sizeof mac_s, "mac") ||
      !int_arg(env, argv[4], &mtu, "mtu"))
    return NULL;
  unsigned char mac[6];
  if (*mac_s && !parse_mac(mac_s, mac)) {
    napi_throw_type_error(env, NULL, "mac: expected aa:bb:cc:dd:ee:ff");
    return NULL;
  }
  int nsfd = -1;
  if (*netns) {
    nsfd = open(netns, O_RDONLY | O_CLOEXEC);
    if (nsfd < 0) return fail(env, "open network namespace", netns, -errno);
  }
  int fd = rtnl_socket("");
  if (fd < 0) {
    if (nsfd >= 0) close(nsfd);
    return fail(env, "netlink socket for", host, fd);
  }
  struct req r;
  req_init(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
  struct ifinfomsg *ifi = req_put(&r, sizeof *ifi);
  ifi->ifi_family = AF_UNSPEC;
  attr_put(&r, IFLA_IFNAME, host, strlen(host) + 1);
  if (mtu > 0) attr_put(&r, IFLA_MTU, &mtu, sizeof mtu);
  struct rtattr *li = nest_open(&r, IFLA_LINKINFO);
  attr_put(&r, IFLA_INFO_KIND, "veth", 4);
  struct rtattr *data = nest_open(&r, IFLA_INFO_DATA);
  struct rtattr *pi = nest_open(&r, VETH_INFO_PEER);
  struct ifinfomsg *pifi = req_put(&r, sizeof *pifi);
  pifi->ifi_family = AF_UNSPEC;
  attr_put(&r, IFLA_IFNAME, peer, strlen(peer) + 1);
  if (nsfd >= 0) attr_put(&r, IFLA_NET_NS_FD, &nsfd, sizeof nsfd);
  if (*mac_s) attr_put(&r, IFLA_ADDRESS, mac, 6);
  if (mtu > 0) attr_put(&r, IFLA_MTU, &mtu, sizeof mtu);
  nest_close(&r, pi);
  nest_close(&r, data);
  nest_close(&r, li);
  int rc = rtnl_talk(fd, &r, NULL, 0);
  close(fd);
  if (nsfd >= 0) close(nsfd);
  if (rc < 0) return fail(env, "create veth", host, rc);
  return NULL;
}

/* RTM_NEWLINK (set) on an existing link by name, over socket fd (its namespace's), with ifi flags from the caller. */
static int link_set_fd(int fd, const char *name, unsigned flags, unsigned change, int master_index) {
  struct req r;
  req_init(&r, RTM_NEWLINK, NLM_F_ACK);
  struct ifinfomsg *ifi = req_put(&r, sizeof *ifi);
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_flags = flags;
  ifi->ifi_change = change;
  attr_put(&r, IFLA_IFNAME, name, strlen(name) + 1);
  if (master_index > 0) attr_put(&r, IFLA_MASTER, &master_index, sizeof master_index);
  return rtnl_talk(fd, &r, NULL, 0);
}

/* The same in namespace netns ("" = ours). */
static int link_set(const char *netns, const char *name, unsigned flags, unsigned change, int master_index) {
  int fd = rtnl_socket(netns);
  if (fd < 0) return fd;
  int rc = link_set_fd(fd, name, flags, change, master_index);
  close(fd);
  return rc;
}

static napi_value link_up(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  char netns[MAX_STR], name[IFNAMSIZ + 1];
  if (!args(env, info, 2, argv, "linkUp(netns, name)") || !str_arg(env, argv[0], netns, sizeof netns, "netns path") ||
      !str_arg(env, argv[1], name, sizeof name, "interface name"))
    return NULL;
  int rc = link_set(netns, name, IFF_UP, IFF_UP, 0);
  if (rc < 0) return fail(env, "set up", name, rc);
  return NULL;
}

static napi_value link_set_master(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  char name[IFNAMSIZ + 1], master[IFNAMSIZ + 1];
  bool hairpin = false;
  if (!args(env, info, 3, argv, "linkSetMaster(name, master, hairpin)") ||
      !str_arg(env, argv[0], name, sizeof name, "interface name") ||
      !str_arg(env, argv[1], master, sizeof master, "bridge name"))
    return NULL;
  if (napi_get_value_bool(env, argv[2], &hairpin) != napi_ok) {
    napi_throw_type_error(env, NULL, "hairpin: expected a boolean");
    return NULL;
  }
  int fd = rtnl_socket("");
  if (fd < 0) return fail(env, "netlink socket for", name, fd);
  int mi = link_index(fd, master, NULL, 0);
  int li = mi < 0 ? mi : link_index(fd, name, NULL, 0);
  if (mi < 0 || li < 0) {
    close(fd);
    return fail(env, "find link", mi < 0 ? master : name, mi < 0 ? mi : li);
  }
  struct req r;
  req_init(&r, RTM_NEWLINK, NLM_F_ACK);
  struct ifinfomsg *ifi = req_put(&r, sizeof *ifi);
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = li;
  attr_put(&r, IFLA_MASTER, &mi, sizeof mi);
  int rc = rtnl_talk(fd, &r, NULL, 0);
  if (rc == 0 && hairpin) {
    /* The bridge port's own flags are set through the bridge family (what `bridge link set hairpin on` sends). */
    req_init(&r, RTM_SETLINK, NLM_F_ACK);
    ifi = req_put(&r, sizeof *ifi);
    ifi->ifi_family = AF_BRIDGE;
    ifi->ifi_index = li;
    struct rtattr *pi = nest_open(&r, IFLA_PROTINFO | NLA_F_NESTED);
    unsigned char on = 1;
    attr_put(&r, IFLA_BRPORT_MODE, &on, 1);
    nest_close(&r, pi);
    rc = rtnl_talk(fd, &r, NULL, 0);
    if (rc < 0) {
      close(fd);
      return fail(env, "set hairpin mode on", name, rc);
    }
  }
  close(fd);
  if (rc < 0) return fail(env, "attach to bridge", name, rc);
  return NULL;
}

/*
 * linkDelAsync: the same on libuv's thread pool, as a Promise. Deleting a veth waits for RCU grace periods in the
 * kernel (~30 ms here); synchronously that would stall the event loop of whoever tears a container down.
 */
struct del_work {
  napi_async_work work;
  napi_deferred deferred;
  char netns[MAX_STR];
  char name[IFNAMSIZ + 1];
  int rc;
};

static int do_link_del(const char *netns, const char *name) {
  int fd = rtnl_socket(netns);
  if (fd < 0) return fd;
  struct req r;
  req_init(&r, RTM_DELLINK, NLM_F_ACK);
  struct ifinfomsg *ifi = req_put(&r, sizeof *ifi);
  ifi->ifi_family = AF_UNSPEC;
  attr_put(&r, IFLA_IFNAME, name, strlen(name) + 1);
  int rc = rtnl_talk(fd, &r, NULL, 0);
  close(fd);
  return rc;
}

static void del_execute(napi_env env, void *data) {
  struct del_work *w = data;
  w->rc = do_link_del(w->netns, w->name);
}

static void del_complete(napi_env env, napi_status status, void *data) {
  struct del_work *w = data;
  if (w->rc == 0 || w->rc == -ENODEV) {
    napi_resolve_deferred(env, w->deferred, js_bool(env, w->rc == 0));
  } else {
    napi_value msg, code, err, num;
    char text[300];
    snprintf(text, sizeof text, "delete link %s: %s", w->name, strerror(-w->rc));
    napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
    napi_create_string_utf8(env, errno_name_or(-w->rc, "EIO"), NAPI_AUTO_LENGTH, &code);
    napi_create_error(env, code, msg, &err);
    napi_create_int32(env, w->rc, &num);
    napi_set_named_property(env, err, "errno", num);
    napi_reject_deferred(env, w->deferred, err);
  }
  napi_delete_async_work(env, w->work);
  free(w);
}

static napi_value link_del_async(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  struct del_work *w = calloc(1, sizeof *w);
  if (!w) {
    throw_errno(env, "linkDelAsync", ENOMEM);
    return NULL;
  }
  if (!args(env, info, 2, argv, "linkDelAsync(netns, name)") ||
      !str_arg(env, argv[0], w->netns, sizeof w->netns, "netns path") ||
      !str_arg(env, argv[1], w->name, sizeof w->name, "interface name")) {
    free(w);
    return NULL;
  }
  napi_value promise, resource_name;
  if (napi_create_promise(env, &w->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "wharf:linkDel", NAPI_AUTO_LENGTH, &resource_name) != napi_ok ||
      napi_create_async_work(env, NULL, resource_name, del_execute, del_complete, w, &w->work) != napi_ok) {
    free(w);
    napi_throw_error(env, NULL, "linkDelAsync: cannot queue the work");
    return NULL;
  }
  if (napi_queue_async_work(env, w->work) != napi_ok) {
    napi_delete_async_work(env, w->work);
    free(w);
    napi_throw_error(env, NULL, "linkDelAsync: cannot queue the work");
    return NULL;
  }
  return promise;
}

static napi_value link_del(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  char netns[MAX_STR], name[IFNAMSIZ + 1];
  if (!args(env, info, 2, argv, "linkDel(netns, name)") || !str_arg(env, argv[0], netns, sizeof netns, "netns path") ||
      !str_arg(env, argv[1], name, sizeof name, "interface name"))
    return NULL;
  int rc = do_link_del(netns, name);
  if (rc == -ENODEV) return js_bool(env, false);
  if (rc < 0) return fail(env, "delete link", name, rc);
  return js_bool(env, true);
}

/* The MAC address of an RTM_NEWLINK reply as "aa:bb:cc:dd:ee:ff", "" for a link without one. */
static void link_mac(struct nlmsghdr *h, char *mac, size_t size) {
  *mac = '\0';
  int len = (int)IFLA_PAYLOAD(h);
  for (struct rtattr *a = IFLA_RTA((struct ifinfomsg *)NLMSG_DATA(h)); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    if (a->rta_type == IFLA_ADDRESS && RTA_PAYLOAD(a) == 6) {
      unsigned char *m = RTA_DATA(a);
      snprintf(mac, size, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
    }
  }
}

static napi_value link_get(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  char netns[MAX_STR], name[IFNAMSIZ + 1];
  if (!args(env, info, 2, argv, "linkGet(netns, name)") || !str_arg(env, argv[0], netns, sizeof netns, "netns path") ||
      !str_arg(env, argv[1], name, sizeof name, "interface name"))
    return NULL;
  int fd = rtnl_socket(netns);
  if (fd < 0) return fail(env, "netlink socket for", name, fd);
  char reply[8192];
  int idx = link_index(fd, name, reply, sizeof reply);
  close(fd);
  napi_value out;
  if (idx == -ENODEV) {
    napi_get_null(env, &out);
    return out;
  }
  if (idx < 0) return fail(env, "get link", name, idx);
  struct nlmsghdr *h = (struct nlmsghdr *)reply;
  struct ifinfomsg *ifi = NLMSG_DATA(h);
  int32_t mtu = 0, master = 0;
  char mac[32];
  link_mac(h, mac, sizeof mac);
  int len = (int)IFLA_PAYLOAD(h);
  for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    if (a->rta_type == IFLA_MTU && RTA_PAYLOAD(a) >= 4) memcpy(&mtu, RTA_DATA(a), 4);
    if (a->rta_type == IFLA_MASTER && RTA_PAYLOAD(a) >= 4) memcpy(&master, RTA_DATA(a), 4);
  }
  napi_value v;
  napi_create_object(env, &out);
  napi_create_int32(env, idx, &v);
  napi_set_named_property(env, out, "index", v);
  napi_create_int32(env, mtu, &v);
  napi_set_named_property(env, out, "mtu", v);
  napi_create_int32(env, master, &v);
  napi_set_named_property(env, out, "master", v);
  napi_create_string_utf8(env, mac, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, out, "mac", v);
  napi_set_named_property(env, out, "up", js_bool(env, (ifi->ifi_flags & IFF_UP) != 0));
  return out;
}

/* RTM_NEWADDR of address c on the link with index idx, over socket fd. 0 or -errno (-EEXIST: it has it). */
static int addr_add_fd(int fd, int idx, const struct cidr *cp) {
  struct cidr c = *cp;
  struct req r;
  req_init(&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
  struct ifaddrmsg *ifa = req_put(&r, sizeof *ifa);
  ifa->ifa_family = (unsigned char)c.family;
  ifa->ifa_prefixlen = (unsigned char)c.prefix;
  ifa->ifa_index = (unsigned)idx;
  /* An IPv6 address is usable at once: duplicate address detection would hold it "tentative" for a second or more. */
  if (c.family == AF_INET6) ifa->ifa_flags = IFA_F_NODAD;
  attr_put(&r, IFA_LOCAL, c.addr, (size_t)c.len);
  attr_put(&r, IFA_ADDRESS, c.addr, (size_t)c.len);
  if (c.family == AF_INET && c.prefix < 31) {
    unsigned char brd[4];
    memcpy(brd, c.addr, 4);
    uint32_t host_mask = c.prefix == 0 ? 0xffffffffu : (0xffffffffu >> c.prefix);
    uint32_t a;
    memcpy(&a, brd, 4);
    a = htonl(ntohl(a) | host_mask);
    attr_put(&r, IFA_BROADCAST, &a, 4);
  }
  return rtnl_talk(fd, &r, NULL, 0);
}

static napi_value addr_add(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  char netns[MAX_STR], name[IFNAMSIZ + 1], cidr_s[80];
  bool may_exist = false;
  if (!args(env, info, 4, argv, "addrAdd(netns, name, cidr, mayExist)") ||
      !str_arg(env, argv[0], netns, sizeof netns, "netns path") ||
      !str_arg(env, argv[1], name, sizeof name, "interface name") ||
      !str_arg(env, argv[2], cidr_s, sizeof cidr_s, "address"))
    return NULL;
  if (napi_get_value_bool(env, argv[3], &may_exist) != napi_ok) {
    napi_throw_type_error(env, NULL, "mayExist: expected a boolean");
    return NULL;
  }
  struct cidr c;
  if (!parse_cidr(cidr_s, &c)) {
    napi_throw_type_error(env, NULL, "address: expected an IPv4 or IPv6 address with its prefix length");
    return NULL;
  }
  int fd = rtnl_socket(netns);
  if (fd < 0) return fail(env, "netlink socket for", name, fd);
  int idx = link_index(fd, name, NULL, 0);
  if (idx < 0) {
    close(fd);
    return fail(env, "find link", name, idx);
  }
  int rc = addr_add_fd(fd, idx, &c);
  close(fd);
  if (rc == -EEXIST && may_exist) return js_bool(env, false);
  if (rc < 0) return fail(env, "add address to", name, rc);
  return js_bool(env, true);
}


/* A route to dst via gw out of the link with index idx, over socket fd. 0 or -errno (-EEXIST: there is one). */
static int route_add_fd(int fd, int idx, const struct cidr *dst, const struct cidr *gw) {
  struct req r;
  req_init(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
  struct rtmsg *rt = req_put(&r, sizeof *rt);
  rt->rtm_family = (unsigned char)dst->family;
  rt->rtm_dst_len = (unsigned char)dst->prefix;
  rt->rtm_table = RT_TABLE_MAIN;
  rt->rtm_protocol = RTPROT_BOOT;
  rt->rtm_scope = RT_SCOPE_UNIVERSE;
  rt->rtm_type = RTN_UNICAST;
  if (dst->prefix > 0) attr_put(&r, RTA_DST, dst->addr, (size_t)dst->len);
  attr_put(&r, RTA_GATEWAY, gw->addr, (size_t)gw->len);
  attr_put(&r, RTA_OIF, &idx, sizeof idx);
  return rtnl_talk(fd, &r, NULL, 0);
}

static napi_value route_add(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  char netns[MAX_STR], dst_s[80], gw_s[80], name[IFNAMSIZ + 1];
  if (!args(env, info, 4, argv, "routeAdd(netns, dst, gateway, name)") ||
      !str_arg(env, argv[0], netns, sizeof netns, "netns path") ||
      !str_arg(env, argv[1], dst_s, sizeof dst_s, "destination") ||
      !str_arg(env, argv[2], gw_s, sizeof gw_s, "gateway") || !str_arg(env, argv[3], name, sizeof name, "interface name"))
    return NULL;
  struct cidr dst, gw;
  if (!parse_cidr(dst_s, &dst) || !parse_cidr(gw_s, &gw) || dst.family != gw.family) {
    napi_throw_type_error(env, NULL, "routeAdd: destination and gateway must be addresses of one family");
    return NULL;
  }
  int fd = rtnl_socket(netns);
  if (fd < 0) return fail(env, "netlink socket for", name, fd);
  int idx = link_index(fd, name, NULL, 0);
  if (idx < 0) {
    close(fd);
    return fail(env, "find link", name, idx);
  }
  int rc = route_add_fd(fd, idx, &dst, &gw);
  close(fd);
  if (rc < 0) return fail(env, "add route via", gw_s, rc);
  return NULL;
}

/* The JS array `v` of addresses ("10.0.0.2/24", "fd00::1") into out[0..max); false (a TypeError thrown) if not. */
static bool cidr_list(napi_env env, napi_value v, struct cidr *out, uint32_t max, uint32_t *n, const char *what) {
  bool is_array = false;
  if (napi_is_array(env, v, &is_array) != napi_ok || !is_array || napi_get_array_length(env, v, n) != napi_ok ||
      *n > max) {
    char text[120];
    snprintf(text, sizeof text, "%s: expected an array of at most %u addresses", what, (unsigned)max);
    napi_throw_type_error(env, NULL, text);
    return false;
  }
  for (uint32_t i = 0; i < *n; i++) {
    napi_value e;
    char text[80];
    if (napi_get_element(env, v, i, &e) != napi_ok || !str_arg(env, e, text, sizeof text, what)) return false;
    if (!parse_cidr(text, &out[i])) {
      napi_throw_type_error(env, NULL, "linkConfigure: expected IPv4 or IPv6 addresses");
      return false;
    }
  }
  return true;
}

/*
 * linkConfigure(netns, name, cidrs, gateways): what a container's interface needs inside its namespace, all over one
 * socket there (one short-lived thread into the namespace instead of one per step): the addresses on `name`, `name`
 * and `lo` up, a default route of each gateway's family via it (one there already, a first network's, stays), and
 * `name`'s MAC, which it returns.
 */
static napi_value link_configure(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  char netns[MAX_STR], name[IFNAMSIZ + 1];
  struct cidr addrs[4], gws[4];
  uint32_t na = 0, ng = 0;
  if (!args(env, info, 4, argv, "linkConfigure(netns, name, cidrs, gateways)") ||
      !str_arg(env, argv[0], netns, sizeof netns, "netns path") ||
      !str_arg(env, argv[1], name, sizeof name, "interface name") || !cidr_list(env, argv[2], addrs, 4, &na, "cidrs") ||
      !cidr_list(env, argv[3], gws, 4, &ng, "gateways"))
    return NULL;
  int fd = rtnl_socket(netns);
  if (fd < 0) return fail(env, "netlink socket for", name, fd);
  const char *what = "find link", *on = name;
  char gw_text[INET6_ADDRSTRLEN] = "";
  char reply[8192];
  int rc = link_index(fd, name, NULL, 0), idx = rc;
  for (uint32_t i = 0; i < na && rc >= 0; i++) rc = addr_add_fd(fd, idx, &addrs[i]), what = "add address to";
  if (rc >= 0) rc = link_set_fd(fd, name, IFF_UP, IFF_UP, 0), what = "set up";
  if (rc >= 0) rc = link_set_fd(fd, "lo", IFF_UP, IFF_UP, 0), on = "lo";
  for (uint32_t i = 0; i < ng && rc >= 0; i++) {
    struct cidr any = {.family = gws[i].family, .len = gws[i].len, .prefix = 0};
    rc = route_add_fd(fd, idx, &any, &gws[i]);
    if (rc == -EEXIST) rc = 0;
    inet_ntop(gws[i].family, gws[i].addr, gw_text, sizeof gw_text);
    what = "add route via", on = gw_text;
  }
  if (rc >= 0) rc = link_index(fd, name, reply, sizeof reply), what = "get link", on = name;
  close(fd);
  if (rc < 0) return fail(env, what, on, rc);
  char mac[32];
  link_mac((struct nlmsghdr *)reply, mac, sizeof mac);
  napi_value out;
  napi_create_string_utf8(env, mac, NAPI_AUTO_LENGTH, &out);
  return out;
}

static napi_value netns_create(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  char path[MAX_STR];
  if (!args(env, info, 1, argv, "netnsCreate(path)") || !str_arg(env, argv[0], path, sizeof path, "netns path"))
    return NULL;
  int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
  if (fd < 0) return fail(env, "create", path, -errno);
  close(fd);
  struct ns_job j = {.nsfd = -1, .result = -EINVAL, .op = 1, .path = path};
  int rc = run_ns_job(&j);
  if (rc < 0) {
    unlink(path);
    return fail(env, "create network namespace on", path, rc);
  }
  return NULL;
}

static napi_value netns_delete(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  char path[MAX_STR];
  if (!args(env, info, 1, argv, "netnsDelete(path)") || !str_arg(env, argv[0], path, sizeof path, "netns path"))
    return NULL;
  /* Detach: a process still inside keeps the namespace alive, not the mount; EINVAL = not mounted (half-created). */
  if (umount2(path, MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
    return fail(env, "unmount network namespace", path, -errno);
  if (unlink(path) != 0) {
    if (errno == ENOENT) return js_bool(env, false);
    return fail(env, "remove", path, -errno);
  }
  return js_bool(env, true);
}

/*
 * The host-wide port lock (src/network/port-lock.ts), here because it is the network's addon: an exclusive flock(2)
 * on a file, the lock flock(1) takes, without the fork of Node and the three execs (flock, sh, cat) that holding it
 * through flock(1) costs every `run -p`. Tried every 5 ms on libuv's pool until the deadline; released by closing the
 * descriptor, or by the process's end however it ends (the kernel drops the lock with the last descriptor). A lock
 * still held by another at the deadline rejects with EAGAIN.
 */
struct lock_work {
  napi_async_work work;
  napi_deferred deferred;
  char path[MAX_STR];
  int32_t timeout_ms;
  int fd;
  int err;
};

static void lock_execute(napi_env env, void *data) {
  struct lock_work *w = data;
  w->fd = open(w->path, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
  if (w->fd < 0) {
    w->err = errno;
    return;
  }
  struct timespec start, now, step = {.tv_sec = 0, .tv_nsec = 5 * 1000 * 1000};
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    if (flock(w->fd, LOCK_EX | LOCK_NB) == 0) return;
    if (errno != EWOULDBLOCK && errno != EINTR) break;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 >= w->timeout_ms) {
      errno = EWOULDBLOCK; /* still held by another: EAGAIN to the caller */
      break;
    }
    nanosleep(&step, NULL);
  }
  w->err = errno;
  close(w->fd);
  w->fd = -1;
}

static void lock_complete(napi_env env, napi_status status, void *data) {
  struct lock_work *w = data;
  if (w->fd >= 0) {
    napi_value fd;
    napi_create_int32(env, w->fd, &fd);
    napi_resolve_deferred(env, w->deferred, fd);
  } else {
    napi_value msg, code, err;
    char text[MAX_STR + 64];
    snprintf(text, sizeof text, "lock %s: %s", w->path, strerror(w->err));
    napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
    napi_create_string_utf8(env, errno_name_or(w->err, "EIO"), NAPI_AUTO_LENGTH, &code);
    napi_create_error(env, code, msg, &err);
    napi_reject_deferred(env, w->deferred, err);
  }
  napi_delete_async_work(env, w->work);
  free(w);
}

static napi_value flock_async(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  struct lock_work *w = calloc(1, sizeof *w);
  if (!w) {
    throw_errno(env, "flockAsync", ENOMEM);
    return NULL;
  }
  w->fd = -1;
  if (!args(env, info, 2, argv, "flockAsync(path, timeoutMs)") ||
      !str_arg(env, argv[0], w->path, sizeof w->path, "lock file") || !int_arg(env, argv[1], &w->timeout_ms, "timeout")) {
    free(w);
    return NULL;
  }
  napi_value promise, resource_name;
  if (napi_create_promise(env, &w->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "wharf:flock", NAPI_AUTO_LENGTH, &resource_name) != napi_ok ||
      napi_create_async_work(env, NULL, resource_name, lock_execute, lock_complete, w, &w->work) != napi_ok) {
    free(w);
    napi_throw_error(env, NULL, "flockAsync: cannot queue the work");
    return NULL;
  }
  if (napi_queue_async_work(env, w->work) != napi_ok) {
    napi_delete_async_work(env, w->work);
    free(w);
    napi_throw_error(env, NULL, "flockAsync: cannot queue the work");
    return NULL;
  }
  return promise;
}

static napi_value flock_release(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd = -1;
  if (!args(env, info, 1, argv, "flockRelease(fd)") || !int_arg(env, argv[0], &fd, "fd")) return NULL;
  if (fd >= 0) close(fd);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  static const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {
      {"bridgeAdd", bridge_add}, {"vethAdd", veth_add},   {"linkUp", link_up},         {"linkSetMaster", link_set_master},
      {"linkDel", link_del},     {"linkGet", link_get},   {"addrAdd", addr_add},       {"routeAdd", route_add},
      {"netnsCreate", netns_create}, {"netnsDelete", netns_delete}, {"linkDelAsync", link_del_async},
      {"linkConfigure", link_configure}, {"flockAsync", flock_async},     {"flockRelease", flock_release},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f) != napi_ok ||
        napi_set_named_property(env, exports, fns[i].name, f) != napi_ok)
      return NULL;
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
