#include "runtime/container/state.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/file.h"
#include "common/json.h"
#include "config.h"

int container_check_id(const char *id, err_t *err)
{
  size_t n = strlen(id);
  if (n == 0 || n > 1024)
    return err_make(err, EINVAL, "container id must be 1 to 1024 characters long");
  if (!isalnum((unsigned char)id[0]))
    return err_make(err, EINVAL, "container id `%s` must start with a letter or a digit", id);
  for (const char *p = id; *p; p++)
    if (!isalnum((unsigned char)*p) && !strchr("_.+-", *p))
      return err_make(err, EINVAL,
                      "container id `%s` has `%c`: use letters, digits and _ . + - only", id, *p);
  return 0;
}

char *container_fifo_path(const struct container *c)
{
  return path_join(c->dir, "exec.fifo");
}

static char *dup_str(const json_t *o, const char *k)
{
  const char *s = json_string_value(json_object_get(o, k));
  return s ? strdup(s) : NULL;
}

int container_load(const char *root, const char *id, struct container *c, err_t *err)
{
  memset(c, 0, sizeof(*c));
  if (container_check_id(id, err) < 0)
    return -1;
  c->id = strdup(id);
  c->dir = path_join(root, id);
  _cleanup_free_ char *sp = path_join(c->dir, "state.json");
  _cleanup_json_ json_t *st = NULL;
  if (access(c->dir, F_OK) < 0)
    return err_make(err, ENOENT, "container `%s` does not exist", id);
  if (json_load_path(sp, &st, err) < 0) {
    if (err_errnum(err_get(err)) == ENOENT) {
      /* a create that has not written its state yet (or was killed first):
       * not a container yet, as runc says */
      err_free(err);
      return err_make(err, ENOENT, "container `%s` does not exist (its create has not finished)", id);
    }
    return err_context(err, "cannot read the state of container `%s`", id);
  }
  c->bundle = dup_str(st, "bundle");
  c->rootfs = dup_str(st, "rootfs");
  c->created = dup_str(st, "created");
  c->cgroup_path = dup_str(st, "cgroupPath");
  c->pid = (pid_t)json_integer_value(json_object_get(st, "pid"));
  c->start_time = (unsigned long long)json_integer_value(json_object_get(st, "pidStartTime"));
  c->creator = (pid_t)json_integer_value(json_object_get(st, "creator"));
  c->creator_start_time =
      (unsigned long long)json_integer_value(json_object_get(st, "creatorStartTime"));
  c->owner = (uid_t)json_integer_value(json_object_get(st, "ownerUid"));
  json_t *a = json_object_get(st, "annotations");
  c->annotations = json_is_object(a) ? json_incref(a) : NULL;
  c->config = json_incref(json_object_get(st, "config"));
  if (!c->bundle || !c->rootfs || !c->cgroup_path)
    return err_make(err, EINVAL, "state of container `%s` in `%s` is incomplete", id, sp);
  return 0;
}

int container_save(const struct container *c, err_t *err)
{
  _cleanup_json_ json_t *st = json_pack(
      "{s:s,s:s,s:s,s:s,s:s,s:i,s:I,s:i,s:I,s:i,s:O?,s:O?}", "id", c->id, "bundle", c->bundle,
      "rootfs", c->rootfs, "created", c->created, "cgroupPath", c->cgroup_path, "pid", (int)c->pid,
      "pidStartTime", (json_int_t)c->start_time, "creator", (int)c->creator, "creatorStartTime",
      (json_int_t)c->creator_start_time, "ownerUid", (int)c->owner, "annotations", c->annotations,
      "config", c->config);
  if (!st)
    return err_make(err, ENOMEM, "cannot build the state of container `%s`", c->id);
  _cleanup_free_ char *sp = path_join(c->dir, "state.json");
  return json_write_path(sp, st, JSON_COMPACT, false, err); /* volatile, like /run */
}

void container_release(struct container *c)
{
  free(c->id);
  free(c->dir);
  free(c->bundle);
  free(c->rootfs);
  free(c->created);
  free(c->cgroup_path);
  json_decref(c->annotations);
  json_decref(c->config);
  memset(c, 0, sizeof(*c));
}

enum container_status container_status(const struct container *c, const struct cgroup *cg)
{
  if (c->pid <= 0) {
    /* Still being made, unless the `create` making it was killed. */
    unsigned long long cst = c->creator > 0 ? proc_start_time(c->creator) : 0;
    return cst != 0 && cst == c->creator_start_time ? STATUS_CREATING : STATUS_STOPPED;
  }
  unsigned long long st = proc_start_time(c->pid);
  if (st == 0 || st != c->start_time)
    return STATUS_STOPPED;
  _cleanup_free_ char *fifo = container_fifo_path(c);
  if (access(fifo, F_OK) == 0)
    return STATUS_CREATED;
  if (cg)
    return cgroup_frozen(cg) ? STATUS_PAUSED : STATUS_RUNNING;
  struct cgroup own;
  bool frozen = cgroup_open(CGROUP_ROOT, c->cgroup_path, &own, NULL) == 0 && cgroup_frozen(&own);
  cgroup_close(&own);
  return frozen ? STATUS_PAUSED : STATUS_RUNNING;
}

const char *container_status_name(enum container_status s)
{
  static const char *const names[] = {"creating", "created", "running", "paused", "stopped"};
  return names[s];
}

json_t *oci_state_json(const char *id, const char *status, pid_t pid, const char *bundle,
                       const json_t *annotations)
{
  json_t *o = json_pack("{s:s,s:s,s:s,s:i,s:s}", "ociVersion", ISOLA_OCI_SPEC_VERSION, "id", id,
                        "status", status, "pid", (int)pid, "bundle", bundle);
  if (o && annotations)
    json_object_set(o, "annotations", (json_t *)annotations);
  return o;
}

json_t *container_state_json(const struct container *c)
{
  enum container_status s = container_status(c, NULL);
  json_t *o = oci_state_json(c->id, container_status_name(s), s == STATUS_STOPPED ? 0 : c->pid,
                             c->bundle, c->annotations);
  if (o && json_object_update_new(o, json_pack("{s:s,s:s,s:i}", "rootfs", c->rootfs, "created",
                                           c->created, "owner", (int)c->owner)) < 0) {
    json_decref(o);
    return NULL;
  }
  return o;
}

int pid_file_write(const char *path, pid_t pid, err_t *err)
{
  char buf[32];
  int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
  if (file_write_atomic(path, buf, (size_t)n, 0644, false, err) < 0)
    return err_context(err, "--pid-file");
  return 0;
}
