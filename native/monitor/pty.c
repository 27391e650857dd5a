/*
 * The container's terminal. With process.terminal and --console-socket, `runc run --detach` makes the pty inside the
 * container and sends its master over this unix socket (SCM_RIGHTS, the payload being the pty's name): the monitor
 * then holds the only master, reads the container's output from it, writes attach clients' input into it, and
 * resizes it (TIOCSWINSZ, which sends SIGWINCH to the container's foreground process group).
 */
#include "monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

int console_listen_fd = -1;

int console_listen(void) {
  if (unlink(p_console) != 0 && errno != ENOENT) return -1;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(p_console) >= sizeof sa.sun_path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  strcpy(sa.sun_path, p_console);
  console_listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (console_listen_fd < 0) return -1;
  if (bind(console_listen_fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(console_listen_fd, 1) != 0) {
    int e = errno;
    close_quietly(&console_listen_fd);
    errno = e;
    return -1;
  }
  return 0;
}

void console_stop(void) {
  if (console_listen_fd < 0) return;
  close_quietly(&console_listen_fd);
  if (unlink(p_console) != 0 && errno != ENOENT) warn("unlink %s: %s", p_console, strerror(errno));
}

/*
 * runc connects and sends at once: the connection is read blocking, with a time limit against a peer that does not.
 * The socket stays until a terminal has arrived: a connection that brings none (anyone who could reach the socket)
 * does not keep runc's from coming. Every descriptor received is closed but the one terminal taken.
 */
int console_receive(void) {
  int conn = accept4(console_listen_fd, NULL, NULL, SOCK_CLOEXEC);
  if (conn < 0) {
    accept_failed(p_console, errno);
    return -1;
  }
  struct timeval tv = {.tv_sec = 5};
  if (setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0) warn("SO_RCVTIMEO: %s", strerror(errno));
  char name[256];
  union {
    char buf[CMSG_SPACE(sizeof(int) * 8)]; /* room for more than runc sends, so that extra ones are received and closed */
    struct cmsghdr align;
  } ctl;
  struct iovec iov = {.iov_base = name, .iov_len = sizeof name};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
  ssize_t r;
  do r = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
  while (r < 0 && errno == EINTR);
  int e = errno;
  close_quietly(&conn);
  if (r < 0) {
    warn("receiving the terminal from runc: %s", strerror(e));
    return -1;
  }
  int master = -1, nfds = 0;
  for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
    if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS || cm->cmsg_len < CMSG_LEN(0)) continue;
    size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < n; i++) {
      int fd;
      memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof fd);
      if (nfds++ == 0) master = fd;
      else close_quietly(&fd);
    }
  }
  if (nfds != 1 || (msg.msg_flags & MSG_CTRUNC) || !isatty(master)) {
    warn("a connection on %s sent no terminal (%d descriptors%s)", p_console, nfds, (msg.msg_flags & MSG_CTRUNC) ? ", truncated" : "");
    close_quietly(&master);
    return -1;
  }
  int fl = fcntl(master, F_GETFL);
  if (fl < 0 || fcntl(master, F_SETFL, fl | O_NONBLOCK) < 0) {
    warn("fcntl on the terminal: %s", strerror(errno));
    close_quietly(&master);
    return -1;
  }
  console_stop();
  return master;
}

void pty_resize(int fd, int cols, int rows) {
  struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
  if (ioctl(fd, TIOCSWINSZ, &ws) != 0) warn("resizing the terminal: %s", strerror(errno));
}
