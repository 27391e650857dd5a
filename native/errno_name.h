/*
 * The symbolic name of an errno value ("ENOENT"), for error codes Node code can test. One table for the addons and
 * the monitor: strerrorname_np would do it but needs glibc 2.32, and these must build and load on older ones.
 */
#ifndef WHARF_ERRNO_NAME_H
#define WHARF_ERRNO_NAME_H
#include <errno.h>

static const char *errno_name_or(int e, const char *unknown) {
  switch (e) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EINVAL: return "EINVAL";
    case EBUSY: return "EBUSY";
    case ENOTDIR: return "ENOTDIR";
    case EACCES: return "EACCES";
    case ENODEV: return "ENODEV";
    case ENOMEM: return "ENOMEM";
    case ELOOP: return "ELOOP";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case EROFS: return "EROFS";
    case ESTALE: return "ESTALE";
    case ENOEXEC: return "ENOEXEC";
    case EAGAIN: return "EAGAIN";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case ETXTBSY: return "ETXTBSY";
    case EISDIR: return "EISDIR";
    case E2BIG: return "E2BIG";
    case EEXIST: return "EEXIST";
    case ENXIO: return "ENXIO";
    case ESRCH: return "ESRCH";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case ENETUNREACH: return "ENETUNREACH";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case EADDRINUSE: return "EADDRINUSE";
    case ENOBUFS: return "ENOBUFS";
    case EMSGSIZE: return "EMSGSIZE";
    case ERANGE: return "ERANGE";
    default: return unknown;
  }
}
#endif
