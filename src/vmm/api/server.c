/* Firecracker's API (firecracker/src/api_server/swagger/firecracker.yaml)
 * over libmicrohttpd on a listening Unix socket: the daemon, the request
 * bodies, and the hand-over of the VM between the API and the main thread. */
#include "vmm/api/api.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/log.h"
#include "vmm/api/internal.h"
#include "vmm/metrics.h"
#include "vmm/sandbox.h"

#define MAX_BODY (64 * 1024)

struct request {
  char *body;
  size_t len;
  bool too_big;
};

static enum MHD_Result respond(struct MHD_Connection *conn, struct reply r)
{
  METRIC_INC(api_requests);
  if (r.status >= 400)
    METRIC_INC(api_errors);
  struct MHD_Response *resp = MHD_create_response_from_buffer(r.body ? strlen(r.body) : 0, r.body ? r.body : "",
                                                              MHD_RESPMEM_MUST_COPY);
  if (r.body)
    MHD_add_response_header(resp, "Content-Type", "application/json");
  enum MHD_Result ret = MHD_queue_response(conn, r.status, resp);
  MHD_destroy_response(resp);
  free(r.body);
  return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
  struct api *a = cls;
  (void)version;
  struct request *rq = *con_cls;
  if (!rq) {
    rq = calloc(1, sizeof *rq);
    if (!rq)
      return MHD_NO;
    *con_cls = rq;
    return MHD_YES;
  }
  if (*upload_size) {
    if (rq->len + *upload_size > MAX_BODY) {
      rq->too_big = true;
    } else {
      char *nb = realloc(rq->body, rq->len + *upload_size + 1);
      if (!nb)
        return MHD_NO;
      rq->body = nb;
      memcpy(rq->body + rq->len, upload, *upload_size);
      rq->len += *upload_size;
      rq->body[rq->len] = 0;
    }
    *upload_size = 0;
    return MHD_YES;
  }
  if (rq->too_big)
    return respond(conn, api_fault(400, "the request body is over %d bytes", MAX_BODY));
  json_t *body = NULL;
  bool wants_body = !strcmp(method, "PUT") || !strcmp(method, "PATCH");
  if (wants_body) {
    json_error_t je;
    body = json_loadb(rq->body ? rq->body : "", rq->len, 0, &je);
    if (!json_is_object(body)) {
      json_decref(body);
      return respond(conn, api_fault(400, "the body is not a JSON object: %s (line %d, column %d)",
                                 rq->body ? je.text : "empty body", je.line, je.column));
    }
  }
  pthread_mutex_lock(&a->lock);
  struct reply r = api_route(a, method, url, body);
  bool start = r.status == 204 && !a->started && !strcmp(url, "/actions") && body &&
               !strcmp(json_string_value(json_object_get(body, "action_type")) ?: "", "InstanceStart");
  start = start || (r.status == 204 && !strcmp(url, "/snapshot/load"));
  if (start) {
    a->start = true;
    a->started = true;
    pthread_cond_broadcast(&a->cond);
    /* InstanceStart answers once the VM is made (or has failed) */
    while (!a->vm && !a->start_error)
      pthread_cond_wait(&a->cond, &a->lock);
    if (!a->vm) {
      free(r.body);
      r = api_fault(400, "%s", a->start_error);
    }
  }
  pthread_mutex_unlock(&a->lock);
  json_decref(body);
  log_debug("API %s %s -> %u", method, url, r.status);
  return respond(conn, r);
}

/* The daemon's thread takes its filter at its first connection (libmicrohttpd
 * has no thread-start hook); before that it only waits in epoll. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
  (void)cls, (void)conn, (void)socket_context, (void)code;
  static __thread bool filtered;
  if (filtered)
    return;
  filtered = true;
  err_t err = NULL;
  if (sandbox_apply(SANDBOX_API, &err) < 0) {
    log_err(err);
    err_free(&err);
    abort(); /* an API thread that cannot be confined must not serve */
  }
  sandbox_selftest(SANDBOX_API);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode t)
{
  (void)cls, (void)conn, (void)t;
  struct request *rq = *con_cls;
  if (rq) {
    free(rq->body);
    free(rq);
  }
  *con_cls = NULL;
}

void api_init(struct api *a, struct vm_config *cfg)
{
  memset(a, 0, sizeof *a);
  a->lfd = -1;
  a->cfg = cfg;
  pthread_mutex_init(&a->lock, NULL);
  pthread_cond_init(&a->cond, NULL);
}

int api_serve(struct api *a, const char *path, bool already_configured, err_t *err)
{
  a->started = already_configured;
  /* bound under a temporary name and renamed once listening: a client
   * that sees PATH can connect */
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  char tmp[sizeof sa.sun_path];
  if (snprintf(tmp, sizeof tmp, "%s.%d", path, (int)getpid()) >= (int)sizeof tmp)
    return err_make(err, ENAMETOOLONG, "--api-sock `%s` is longer than a socket path may be", path);
  strcpy(sa.sun_path, tmp);
  a->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (a->lfd < 0)
    return err_sys(err, "cannot make the API socket");
  if (access(path, F_OK) == 0)
    return err_make(err, EEXIST, "--api-sock `%s` exists: another isola-vmm may serve it (remove a stale one)",
                    path);
  unlink(tmp);
  if (bind(a->lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(a->lfd, 16) < 0 || rename(tmp, path) < 0) {
    int e = errno;
    unlink(tmp);
    errno = e;
    return err_sys(err, "cannot listen on the API socket `%s`", path);
  }
  a->path = strdup(path);
  a->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL, handle, a,
                               MHD_OPTION_LISTEN_SOCKET, a->lfd, MHD_OPTION_NOTIFY_COMPLETED, completed, a, MHD_OPTION_NOTIFY_CONNECTION, on_connection, a,
                               MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_END);
  if (!a->daemon)
    return err_make(err, EIO, "libmicrohttpd cannot serve `%s`", path);
  return 0;
}

int api_wait_start(struct api *a, int timeout_ms)
{
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  t.tv_sec += timeout_ms / 1000;
  t.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
  if (t.tv_nsec >= 1000000000) {
    t.tv_sec++;
    t.tv_nsec -= 1000000000;
  }
  pthread_mutex_lock(&a->lock);
  int r = 0;
  while (!a->start && r == 0)
    r = pthread_cond_timedwait(&a->cond, &a->lock, &t);
  bool go = a->start;
  pthread_mutex_unlock(&a->lock);
  return go ? 1 : 0;
}

void api_set_vm(struct api *a, struct vm *vm, const char *error)
{
  pthread_mutex_lock(&a->lock);
  a->vm = vm;
  if (!vm && !a->start_error)
    a->start_error = strdup(error ? error : "the microVM stopped");
  pthread_cond_broadcast(&a->cond);
  pthread_mutex_unlock(&a->lock);
}

void api_stop(struct api *a)
{
  if (a->daemon)
    MHD_stop_daemon(a->daemon);
  a->daemon = NULL;
  if (a->lfd >= 0)
    close(a->lfd);
  a->lfd = -1;
  if (a->path)
    unlink(a->path);
  free(a->path);
  a->path = NULL;
  free(a->start_error);
  a->start_error = NULL;
  json_decref(a->snap_devices);
  a->snap_devices = NULL;
  json_decref(a->device_sections);
  a->device_sections = NULL;
  for (int i = 0; i < a->nowned; i++)
    free(a->owned[i]);
  free(a->owned);
  a->owned = NULL;
  a->nowned = 0;
  pthread_mutex_destroy(&a->lock);
  pthread_cond_destroy(&a->cond);
}
