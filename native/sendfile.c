/*
 * sendfile(2) from a file to a TCP socket, non-blocking, on Node's own event loop (the way nginx serves files).
 *
 *   sendFile(socketFd, fileFd, offset, length, callback(err, sent)) -> handle
 *   cancel(handle)
 *
 * The socket fd is dup()ed first, so that Node closing its own fd (a client that goes away) can never make us write
 * into a reused fd number; the dup is watched for writability with a uv_poll handle (epoll accepts a second fd of an
 * already-registered socket) and, whenever it is writable, sendfile() runs until EAGAIN, the end, an error or a
 * per-callback cap (fairness among connections; the poll is level-triggered, so it fires again). The callback gets
 * the bytes sent so far in every case; it runs once, always asynchronously, after the dup has been closed.
 * The file fd stays the caller's: it must stay open until the callback.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <uv.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

/* Bytes per poll callback before yielding to the loop, and per sendfile() call. */
#define CALLBACK_CAP ((int64_t)8 << 20)
#define CALL_CAP ((int64_t)4 << 20)

typedef struct {
  napi_env env;
  uv_poll_t poll;
  int sock;               /* our dup of the socket; -1 once closed */
  int file;               /* the caller's file fd */
  int64_t offset;
  int64_t remaining;
  int64_t sent;
  int error;              /* a libuv error code (negative errno), 0 when all bytes went out */
  int finishing;          /* finish() has run: the poll is stopped and uv_close is under way */
  int closed;             /* the uv handle is closed and the callback has run */
  int finalized;          /* JS no longer holds the handle */
  napi_ref callback;
  napi_async_context async;
} job_t;

static void maybe_free(job_t* job) {
  if (job->closed && job->finalized) free(job);
}

static void on_closed(uv_handle_t* handle) {
  job_t* job = (job_t*)handle->data;
  napi_env env = job->env;
  close(job->sock);
  job->sock = -1;

  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value cb, recv, argv[2];
  napi_get_reference_value(env, job->callback, &cb);
  napi_get_global(env, &recv); /* napi_make_callback wants an object as the receiver */
  if (job->error == 0) {
    napi_get_null(env, &argv[0]);
  } else {
    napi_value code, msg;
    napi_create_string_utf8(env, uv_err_name(job->error), NAPI_AUTO_LENGTH, &code);
    napi_create_string_utf8(env, uv_strerror(job->error), NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, code, msg, &argv[0]);
    napi_value syscall;
    napi_create_string_utf8(env, "sendfile", NAPI_AUTO_LENGTH, &syscall);
    napi_set_named_property(env, argv[0], "syscall", syscall);
  }
  napi_create_double(env, (double)job->sent, &argv[1]);
  napi_value result;
  napi_status st = napi_make_callback(env, job->async, recv, cb, 2, argv, &result);
  if (st == napi_pending_exception) {
    /* A throwing callback is an uncaught exception, as for any other I/O callback. */
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
    napi_fatal_exception(env, exc);
  }
  napi_close_handle_scope(env, scope);

  napi_delete_reference(env, job->callback);
  napi_async_destroy(env, job->async);
  job->closed = 1;
  maybe_free(job);
}

static void free_job(uv_handle_t* handle) {
  free(handle->data);
}

static void finish(job_t* job, int error) {
  if (job->finishing) return;
  job->finishing = 1;
  job->error = error;
  uv_poll_stop(&job->poll);
  uv_close((uv_handle_t*)&job->poll, on_closed);
}

static void on_writable(uv_poll_t* handle, int status, int events) {
  job_t* job = (job_t*)handle->data;
  (void)events;
  if (job->finishing) return;
  if (status < 0) {
    /* libuv reports EPOLLERR as UV_EBADF and stops watching; the socket knows the real cause (ECONNRESET…). */
    int so_error = 0;
    socklen_t len = sizeof(so_error);
    if (getsockopt(job->sock, SOL_SOCKET, SO_ERROR, &so_error, &len) == 0 && so_error != 0) status = -so_error;
    finish(job, status);
    return;
  }
  int64_t budget = CALLBACK_CAP;
  while (job->remaining > 0 && budget > 0) {
    int64_t want = job->remaining < CALL_CAP ? job->remaining : CALL_CAP;
    off_t off = (off_t)job->offset;
    ssize_t n = sendfile(job->sock, job->file, &off, (size_t)want);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return; /* the poll fires again when there is room */
      finish(job, -errno);
      return;
    }
    if (n == 0) {
      finish(job, UV_EOF); /* the file is shorter than offset + length */
      return;
    }
    job->offset += n;
    job->remaining -= n;
    job->sent += n;
    budget -= n;
  }
  if (job->remaining == 0) finish(job, 0);
}

static void on_finalize(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  job_t* job = (job_t*)data;
  job->finalized = 1;
  maybe_free(job);
}

static napi_value throw_error(napi_env env, const char* code, const char* msg) {
  napi_throw_error(env, code, msg);
  return NULL;
}

static napi_value send_file(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 5) {
    return throw_error(env, "ERR_INVALID_ARG_COUNT", "sendFile(socketFd, fileFd, offset, length, callback)");
  }
  int32_t sock_fd, file_fd;
  int64_t offset, length;
  napi_valuetype t;
  if (napi_get_value_int32(env, argv[0], &sock_fd) != napi_ok || napi_get_value_int32(env, argv[1], &file_fd) != napi_ok ||
      napi_get_value_int64(env, argv[2], &offset) != napi_ok || napi_get_value_int64(env, argv[3], &length) != napi_ok ||
      napi_typeof(env, argv[4], &t) != napi_ok || t != napi_function || sock_fd < 0 || file_fd < 0 || offset < 0 || length < 0) {
    return throw_error(env, "ERR_INVALID_ARG_TYPE", "sendFile(socketFd, fileFd, offset, length, callback): bad arguments");
  }
  uv_loop_t* loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return throw_error(env, "ERR_SENDFILE", "no event loop");

  /* CLOEXEC: a child process started meanwhile must not keep the connection open. */
  int dup_fd = fcntl(sock_fd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return throw_error(env, uv_err_name(-errno), uv_strerror(-errno));

  job_t* job = (job_t*)calloc(1, sizeof(job_t));
  if (job == NULL) {
    close(dup_fd);
    return throw_error(env, "ENOMEM", "out of memory");
  }
  job->env = env;
  job->sock = dup_fd;
  job->file = file_fd;
  job->offset = offset;
  job->remaining = length;

  int rc = uv_poll_init(loop, &job->poll, dup_fd);
  if (rc != 0) {
    close(dup_fd);
    free(job);
    return throw_error(env, uv_err_name(rc), uv_strerror(rc));
  }
  job->poll.data = job;
  rc = uv_poll_start(&job->poll, UV_WRITABLE, on_writable);
  if (rc != 0) {
    /* An initialized handle is freed only through uv_close; the JS callback is never called. */
    uv_close((uv_handle_t*)&job->poll, free_job);
    close(dup_fd);
    return throw_error(env, uv_err_name(rc), uv_strerror(rc));
  }

  napi_value resource, name, handle;
  napi_create_object(env, &resource);
  napi_create_string_utf8(env, "WharfSendfile", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, resource, name, &job->async);
  napi_create_reference(env, argv[4], 1, &job->callback);
  napi_create_external(env, job, on_finalize, NULL, &handle);
  return handle;
}

/* The job behind the handle passed as the only argument; NULL (with a JS exception pending) when it is not one. */
static job_t* job_arg(napi_env env, napi_callback_info info, const char* usage) {
  size_t argc = 1;
  napi_value argv[1];
  napi_valuetype t;
  void* data;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok ||
      t != napi_external || napi_get_value_external(env, argv[0], &data) != napi_ok) {
    throw_error(env, "ERR_INVALID_ARG_TYPE", usage);
    return NULL;
  }
  return (job_t*)data;
}

static napi_value cancel(napi_env env, napi_callback_info info) {
  job_t* job = job_arg(env, info, "cancel(handle): not a sendFile handle");
  if (job != NULL) finish(job, UV_ECANCELED);
  return NULL;
}

/* Bytes sent so far: lets the caller notice a transfer that stopped moving (a client that stopped reading). */
static napi_value progress(napi_env env, napi_callback_info info) {
  job_t* job = job_arg(env, info, "progress(handle): not a sendFile handle");
  if (job == NULL) return NULL;
  napi_value out;
  napi_create_double(env, (double)job->sent, &out);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"sendFile", NULL, send_file, NULL, NULL, NULL, napi_default, NULL},
      {"cancel", NULL, cancel, NULL, NULL, NULL, napi_default, NULL},
      {"progress", NULL, progress, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
