/* Compile a linux.seccomp profile with libseccomp and load it. */
#include <errno.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fdpass.h"
#include "common/json.h"
#include "config.h"
#include "runtime/container/sync.h"

#include "runtime/container/process.h"

static uint32_t with_errno(uint32_t action, int errno_ret, int dflt)
{
  if (action == SCMP_ACT_ERRNO(0))
    return SCMP_ACT_ERRNO((uint16_t)(errno_ret >= 0 ? errno_ret : dflt));
  return action;
}

static int add_rule(scmp_filter_ctx ctx, uint32_t def, const struct spec_seccomp_rule *r,
                    err_t *err)
{
  uint32_t action = with_errno(r->action, r->errno_ret, EPERM);
  if (action == def)
    return 0; /* libseccomp refuses rules that repeat the default */
  struct scmp_arg_cmp cmp[6];
  size_t n = 0;
  for (size_t i = 0; i < r->n_args && n < 6; i++)
    cmp[n++] = (struct scmp_arg_cmp){r->args[i].index, (enum scmp_compare)r->args[i].op,
                                     r->args[i].value, r->args[i].value_two};
  for (char **name = r->names; *name; name++) {
    int nr = seccomp_syscall_resolve_name(*name);
    if (nr == __NR_SCMP_ERROR)
      continue; /* not a syscall on this architecture: profiles list many */
    int rc = seccomp_rule_add_array(ctx, action, nr, (unsigned)n, n ? cmp : NULL);
    if (rc == -EINVAL && n > 1) {
      /* Several conditions on one argument: libseccomp wants one rule per
       * condition (each alone must match), as runc splits them. */
      for (size_t i = 0; i < n; i++)
        if ((rc = seccomp_rule_add_array(ctx, action, nr, 1, &cmp[i])) < 0)
          break;
    }
    if (rc < 0)
      return err_make(err, -rc, "linux.seccomp: cannot add a rule for `%s`: %s", *name,
                      strerror(-rc));
  }
  return 0;
}

/* Hand the listener fd to the runtime and wait until it reached the
 * listener: a notified syscall would otherwise block with nobody to answer. */
static int send_listener(scmp_filter_ctx ctx, int sync_fd, err_t *err)
{
  int nfd = seccomp_notify_fd(ctx);
  if (nfd < 0)
    return err_make(err, -nfd, "linux.seccomp: no listener fd: %s", strerror(-nfd));
  if (sync_fd < 0)
    return err_make(err, EINVAL, "linux.seccomp.listenerPath: nowhere to send the listener");
  int ret = sync_send_fd(sync_fd, SYNC_SECCOMP, nfd, err) < 0 ||
                    sync_recv(sync_fd, SYNC_SECCOMP_DONE, NULL, err) < 0
                ? -1
                : 0;
  close(nfd);
  return ret;
}

int seccomp_apply(const struct spec_seccomp *s, int sync_fd, err_t *err)
{
  uint32_t def = with_errno(s->default_action, s->default_errno_ret, EPERM);
  scmp_filter_ctx ctx = seccomp_init(def);
  if (!ctx)
    return err_make(err, EINVAL, "linux.seccomp: cannot initialise the filter");
  int ret = -1;
  for (size_t i = 0; i < s->n_arches; i++) {
    int rc = seccomp_arch_add(ctx, s->arches[i]);
    if (rc < 0 && rc != -EEXIST) {
      err_make(err, -rc, "linux.seccomp.architectures[%zu]: %s", i, strerror(-rc));
      goto out;
    }
  }
  /* We set no_new_privs ourselves, only when the config says so. */
  seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
  for (size_t i = 0; s->flags && s->flags[i]; i++) {
    if (!strcmp(s->flags[i], "SECCOMP_FILTER_FLAG_TSYNC"))
      seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    else if (!strcmp(s->flags[i], "SECCOMP_FILTER_FLAG_LOG"))
      seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
    else if (!strcmp(s->flags[i], "SECCOMP_FILTER_FLAG_SPEC_ALLOW"))
      seccomp_attr_set(ctx, SCMP_FLTATR_CTL_SSB, 1);
  }
  for (size_t i = 0; i < s->n_rules; i++)
    if (add_rule(ctx, def, &s->rules[i], err) < 0) {
      err_context(err, "linux.seccomp.syscalls[%zu]", i);
      goto out;
    }
  int rc = seccomp_load(ctx);
  if (rc < 0) {
    err_make(err, -rc, "linux.seccomp: cannot load the filter: %s", strerror(-rc));
    goto out;
  }
  if (s->listener_path && send_listener(ctx, sync_fd, err) < 0)
    goto out;
  ret = 0;
out:
  seccomp_release(ctx);
  return ret;
}

int seccomp_listener_send(const struct spec_seccomp *s, int notify_fd, pid_t pid,
                          const json_t *state, err_t *err)
{
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(s->listener_path) >= sizeof(sa.sun_path))
    return err_make(err, ENAMETOOLONG, "linux.seccomp.listenerPath: `%s` is too long",
                    s->listener_path);
  strcpy(sa.sun_path, s->listener_path);
  _cleanup_close_ int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0)
    return err_sys(err, "linux.seccomp.listenerPath: socket");
  if (connect(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0)
    return err_sys(err, "linux.seccomp.listenerPath: cannot connect to `%s`", s->listener_path);
  _cleanup_json_ json_t *msg = json_pack("{s:s, s:[s], s:i, s:s, s:O}", "ociVersion",
                                         ISOLA_OCI_SPEC_VERSION, "fds", "seccompFd", "pid",
                                         (json_int_t)pid, "metadata",
                                         s->listener_metadata ? s->listener_metadata : "",
                                         "state", state);
  _cleanup_free_ char *text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
  if (!text)
    return err_make(err, ENOMEM, "linux.seccomp: cannot build the process state");
  if (fd_send(sock, text, strlen(text), notify_fd) < 0)
    return err_sys(err, "linux.seccomp.listenerPath: cannot send to `%s`", s->listener_path);
  return 0;
}

int seccomp_listener_relay(int sync, const struct spec_seccomp *s, pid_t pid, const json_t *state,
                           err_t *err)
{
  int nfd = -1;
  if (sync_recv_fd(sync, SYNC_SECCOMP, NULL, &nfd, err) < 0)
    return -1;
  if (nfd < 0)
    return err_make(err, EPROTO, "the container process sent no seccomp listener fd");
  _cleanup_err_ err_t local = NULL;
  err_t *e = err_or(err, &local); /* the init must hear why, whatever our caller wants */
  int ret = seccomp_listener_send(s, nfd, pid, state, e);
  close(nfd);
  if (ret < 0) {
    sync_send_error(sync, *e);
    return -1;
  }
  return sync_send(sync, SYNC_SECCOMP_DONE, 0, err);
}
