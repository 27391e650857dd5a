/*
 * The attach socket: frames [type u8][length u32 BE][payload] (src/runtime/attach-protocol.ts). Clients send STDIN,
 * STDIN_EOF, RESIZE, CLAIM_CLEANUP and SIGNAL; the monitor sends STDOUT, STDERR, EXIT and SIGNAL's answer.
 *
 * Bounded buffers: a client's queued output is bounded by back-pressure, then by dropping the client. While any
 * client has more than CLIENT_OUT_LIMIT queued, the container's output is not read (it blocks on its full pipe or
 * terminal, as under `docker attach`); a client over that limit that takes no byte for CLIENT_STALL_MS is dropped,
 * so one that never reads costs the container a few seconds' pause and the monitor about CLIENT_OUT_LIMIT plus one
 * read of output, never more. Input is bounded the same way: clients are not read while STDIN_LIMIT bytes wait for
 * the container, and a frame over MAX_FRAME drops its client.
 */
#include "monitor.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct client {
  int fd;
  buf_t in, out;
  int closing;          /* end after the queued output */
  int shut;             /* write side shut down */
  int eof;              /* the client closed its side: flush what is queued, then drop it */
  long claim;           /* CLAIM_CLEANUP pid */
  int first;            /* the first client: the held output is its */
  int64_t stalled_since; /* over CLIENT_OUT_LIMIT without progress since then; 0: not */
  int stdin_open;       /* attached to the container's stdin and has not ended it (STDIN_EOF) */
};

int listen_fd = -1;
int first_seen, first_claim_settled;
static client_t **clients;
static int nclients, clients_cap;
static buf_t held;
static int holding;
static size_t held_bytes;
static buf_t exit_frame;
static int have_exit_frame;

static void frame_add(buf_t *b, int type, const void *data, size_t n) {
  unsigned char head[5] = {(unsigned char)type, (unsigned char)(n >> 24), (unsigned char)(n >> 16), (unsigned char)(n >> 8),
                           (unsigned char)n};
  buf_add(b, head, 5);
  buf_add(b, data, n);
}

int attach_listen(void) {
  if (unlink(p_socket) != 0 && errno != ENOENT) return -1;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(p_socket) >= sizeof sa.sun_path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  strcpy(sa.sun_path, p_socket);
  listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd < 0) return -1;
  if (bind(listen_fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(listen_fd, 64) != 0) {
    int e = errno;
    close_quietly(&listen_fd); /* an unconnected socket polls as hung up: no busy loop */
    errno = e;
    return -1;
  }
  holding = cfg.wait_for_attach && !cfg.tty;
  return 0;
}

/* Stop accepting: whoever waits for the final state finds no socket. */
void attach_stop_listening(void) {
  if (listen_fd < 0) return;
  close_quietly(&listen_fd);
  if (unlink(p_socket) != 0 && errno != ENOENT) warn("unlink %s: %s", p_socket, strerror(errno));
}

int attach_clients(void) { return nclients; }
int attach_holding(void) { return holding; }
long attach_claim_pid(const client_t *c) { return c->claim; }

/*
 * Docker's StdinOnce: the container's stdin closes when its attached client's stdin does, also when that client
 * goes away without saying so (killed, detached). A terminal's input does not end with its client (Docker closes a
 * terminal's stdin only on the ^D its client types), as with STDIN_EOF.
 */
static void client_drop(int i) {
  client_t *c = clients[i];
  if (c->stdin_open && cfg.open_stdin && cfg.stdin_once && !cfg.tty) stdin_end();
  if (c->first) first_claim_settled = 1;
  close_quietly(&c->fd);
  buf_free(&c->in);
  buf_free(&c->out);
  free(c);
  clients[i] = clients[--nclients];
}

void attach_release_held(void) {
  if (!holding) return;
  for (int i = 0; i < nclients; i++)
    if (clients[i]->first && !clients[i]->closing) buf_add(&clients[i]->out, held.p, held.len);
  buf_free(&held);
  holding = 0;
  held_bytes = 0;
}

void attach_output(int type, const char *data, size_t n) {
  if (holding) {
    frame_add(&held, type, data, n);
    held_bytes += n;
    return;
  }
  for (int i = 0; i < nclients; i++)
    if (!clients[i]->closing) frame_add(&clients[i]->out, type, data, n);
}

int attach_output_blocked(void) {
  if (holding && held_bytes > HOLD_LIMIT) return 1;
  for (int i = 0; i < nclients; i++)
    if (buf_pending(&clients[i]->out) > CLIENT_OUT_LIMIT) return 1;
  return 0;
}

static int pending_cols, pending_rows; /* a RESIZE before the terminal arrived */

static void handle_frame(client_t *c, int type, const char *payload, size_t n) {
  int ok;
  if (type == F_STDIN && cfg.open_stdin) {
    c->stdin_open = 1;
    stdin_queue(payload, n);
  } else if (type == F_STDIN_EOF && cfg.open_stdin && cfg.stdin_once && !cfg.tty) {
    c->stdin_open = 0;
    stdin_end(); /* a terminal has no end of input but the ^D its client types */
  } else if (type == F_CLAIM) {
    long long pid = json_field_int(payload, n, "pid", &ok);
    if (ok && pid > 0 && pid <= INT32_MAX) c->claim = (long)pid; /* a malformed claim: the monitor cleans up */
    if (c->first) first_claim_settled = 1;
  } else if (type == F_SIGNAL) {
    /* {"signal": n}: sent to the container's init; the answer {"sent":true} or {"sent":false,"errno":"ESRCH"} */
    long long sig = json_field_int(payload, n, "signal", &ok);
    int e = ok && sig > 0 && sig <= 64 ? container_signal((int)sig) : EINVAL;
    buf_t reply = {0};
    if (e == 0) buf_adds(&reply, "{\"sent\":true}");
    else buf_printf(&reply, "{\"sent\":false,\"errno\":\"%s\"}", errno_name(e));
    if (!c->closing) frame_add(&c->out, F_SIGNAL, reply.p, reply.len);
    buf_free(&reply);
  } else if (type == F_RESIZE && cfg.tty) {
    int ok2;
    long long cols = json_field_int(payload, n, "cols", &ok), rows = json_field_int(payload, n, "rows", &ok2);
    if (ok && ok2 && cols > 0 && rows > 0 && cols <= 0xFFFF && rows <= 0xFFFF) {
      if (pty_fd >= 0) pty_resize(pty_fd, (int)cols, (int)rows);
      else pending_cols = (int)cols, pending_rows = (int)rows; /* the terminal is on its way: the last size is its */
    }
  }
}

/* The terminal has arrived: the size a client asked for before is applied now. */
void attach_terminal_ready(void) {
  if (pty_fd >= 0 && pending_cols > 0) pty_resize(pty_fd, pending_cols, pending_rows);
  pending_cols = pending_rows = 0;
}

/* Reads what a client sent; -1 when the connection failed or broke the protocol, 1 at its end, else 0. */
static int client_read(client_t *c) {
  char tmp[65536];
  for (int rounds = 0; rounds < 4; rounds++) { /* at most 256 KiB a round: poll decides when to read more */
    ssize_t r = read(c->fd, tmp, sizeof tmp);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    if (r == 0) return 1;
    if (r < 0) return -1;
    if (c->shut) continue; /* only waiting for the client to close */
    buf_add(&c->in, tmp, (size_t)r);
    for (;;) {
      size_t avail = buf_pending(&c->in);
      const unsigned char *h = (const unsigned char *)c->in.p + c->in.off;
      if (avail < 5) break;
      uint32_t len = ((uint32_t)h[1] << 24) | ((uint32_t)h[2] << 16) | ((uint32_t)h[3] << 8) | h[4];
      if (len > MAX_FRAME) return -1;
      if (avail < 5 + (size_t)len) break;
      handle_frame(c, h[0], (const char *)h + 5, len);
      buf_consume(&c->in, 5 + (size_t)len);
    }
  }
  return 0;
}

static int client_flush(client_t *c) {
  size_t before = buf_pending(&c->out);
  while (buf_pending(&c->out)) {
    ssize_t w = send(c->fd, c->out.p + c->out.off, buf_pending(&c->out), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (w <= 0) return -1;
    buf_consume(&c->out, (size_t)w);
  }
  size_t after = buf_pending(&c->out);
  if (after <= CLIENT_OUT_LIMIT) c->stalled_since = 0;
  else if (!c->stalled_since || after < before) c->stalled_since = now_ms();
  if (after == 0 && c->closing && !c->shut) {
    if (shutdown(c->fd, SHUT_WR) != 0 && errno != ENOTCONN) return -1;
    c->shut = 1;
  }
  return 0;
}

int64_t accept_paused_until;

/*
 * A failed accept(2). Out of descriptors (or memory), the pending connection stays and the listener stays readable:
 * polling it again at once would spin and write this warning in a loop. The listeners rest ACCEPT_PAUSE_MS instead,
 * and the warning is written once. 1 when it was such a failure.
 */
int accept_failed(const char *what, int e) {
  static int warned_out;
  if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
    accept_paused_until = now_ms() + ACCEPT_PAUSE_MS;
    if (!warned_out) warn("accept on %s: %s (connections wait until descriptors are free)", what, strerror(e));
    warned_out = 1;
    return 1;
  }
  if (e != EAGAIN && e != EWOULDBLOCK && e != EINTR && e != ECONNABORTED) warn("accept on %s: %s", what, strerror(e));
  return 0;
}

void attach_accept(void) {
  static int warned_full;
  for (;;) {
    int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      accept_failed(p_socket, errno);
      return;
    }
    if (nclients >= MAX_CLIENTS) {
      /* Each client costs a descriptor and up to CLIENT_OUT_LIMIT of memory: refused by closing its connection. */
      if (!warned_full) warn("refusing attach clients beyond %d", MAX_CLIENTS);
      warned_full = 1;
      close_quietly(&fd);
      continue;
    }
    if (nclients == clients_cap) {
      clients_cap = clients_cap ? clients_cap * 2 : 8;
      clients = xrealloc(clients, (size_t)clients_cap * sizeof *clients);
    }
    client_t *c = calloc(1, sizeof *c);
    if (!c) die("out of memory");
    c->fd = fd;
    clients[nclients++] = c;
    if (have_exit_frame) {
      buf_add(&c->out, exit_frame.p, exit_frame.len);
      c->closing = 1;
      continue;
    }
    if (!first_seen) {
      first_seen = 1;
      c->first = 1;
      /* The protocol does not say which clients attach stdin: those that send some, and the CLI that ran it (-i). */
      c->stdin_open = cfg.wait_for_attach;
      attach_release_held();
    }
  }
}

int attach_poll_fds(struct pollfd *pf, int reading) {
  for (int i = 0; i < nclients; i++) {
    client_t *c = clients[i];
    short ev = (short)((c->eof || !reading ? 0 : POLLIN) | (buf_pending(&c->out) ? POLLOUT : 0));
    pf[i] = (struct pollfd){c->fd, ev, 0};
  }
  return nclients;
}

void attach_poll_done(struct pollfd *pf, int n) {
  /* By fd, since a drop reorders the array. */
  for (int j = 0; j < n; j++) {
    if (!pf[j].revents) continue;
    int idx = -1;
    for (int i = 0; i < nclients; i++)
      if (clients[i]->fd == pf[j].fd) idx = i;
    if (idx < 0) continue;
    client_t *c = clients[idx];
    int gone = 0;
    if (!c->eof && (((pf[j].events & POLLIN) && (pf[j].revents & POLLIN)) || (pf[j].revents & (POLLHUP | POLLERR)))) {
      int r = client_read(c);
      if (r < 0) gone = 1;
      else if (r > 0) c->eof = 1, c->closing = 1;
    }
    if (!gone && (pf[j].revents & (POLLOUT | POLLERR | POLLHUP))) gone = client_flush(c) < 0;
    if (!gone && c->eof && !buf_pending(&c->out)) gone = 1;
    if (gone) client_drop(idx);
  }
}

/* Output queued by a round (broadcast, held output, exit frames) goes out at once where the socket takes it. */
void attach_flush_all(void) {
  for (int i = 0; i < nclients; i++) {
    client_t *c = clients[i];
    if ((buf_pending(&c->out) || (c->closing && !c->shut)) && client_flush(c) < 0) client_drop(i--);
    else if (c->eof && !buf_pending(&c->out)) client_drop(i--);
  }
}

void attach_drop_stalled(void) {
  int64_t now = now_ms();
  for (int i = 0; i < nclients; i++) {
    client_t *c = clients[i];
    if (c->stalled_since && now - c->stalled_since >= CLIENT_STALL_MS) {
      warn("dropping an attach client that took no output for %d ms (%zu bytes queued)", CLIENT_STALL_MS, buf_pending(&c->out));
      client_drop(i--);
    }
  }
}

void attach_reopen(void) {
  buf_clear(&exit_frame);
  have_exit_frame = 0;
}

client_t *attach_live_claimant(void) {
  for (int i = 0; i < nclients; i++)
    if (clients[i]->claim > 0 && !clients[i]->closing) return clients[i];
  return NULL;
}

/* The EXIT frame to every client (the delegated form to the claimant), each then closed after its queue. */
void attach_end_all(client_t *delegate_to) {
  buf_clear(&exit_frame);
  buf_t info = {0};
  exit_info(&info, 0);
  frame_add(&exit_frame, F_EXIT, info.p, info.len);
  buf_clear(&info);
  exit_info(&info, 1);
  for (int i = 0; i < nclients; i++) {
    client_t *c = clients[i];
    if (c->closing) continue;
    if (c == delegate_to) frame_add(&c->out, F_EXIT, info.p, info.len);
    else buf_add(&c->out, exit_frame.p, exit_frame.len);
    c->closing = 1;
  }
  buf_free(&info);
  have_exit_frame = 1;
}
